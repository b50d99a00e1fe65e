"""Tests reading databases written by legacy DataJoint 0.14 (spec §11, §14)."""

"""Primary keys in URLs and form values: see :mod:`pipeline_core.keys` (shared with the
services, which page rows by the same tokens)."""

from pipeline_core.keys import decode_key, encode_key, key_encoder, key_label

__all__ = ["decode_key", "encode_key", "key_encoder", "key_label"]

"""A URLconf without LabBook's pages (tests/unit/test_url_for.py)."""

urlpatterns: list = []

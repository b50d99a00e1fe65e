"""The Content-Security-Policy (issue #15 part 3): every page carries it; scripts and styles
from LabBook only. The browser tests fail on any violation (tests/conftest.py ``page``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "frontend_templates"


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part
    }


@pytest.mark.parametrize("path", ["/accounts/login/", "/healthz"])
def test_pages_carry_the_policy(client, db, path):
    policy = directives(client.get(path))
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]


def test_logged_in_pages_carry_it(lab_client, demo):
    response = lab_client.get(f"/schemas/{demo.Subject.database}/")
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert directives(response)["script-src"] == ["'self'"]


def test_no_template_has_inline_script_style_or_handlers():
    """Checked on the sources too, for pages no browser test opens."""
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert "<style" not in text, template
        assert not re.search(r"\sstyle=\"", text), template
        assert not re.search(r"\son[a-z]+=\"", text), template

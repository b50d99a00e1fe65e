"""Deployment settings from the environment (issue #15 part 2): with the production-like
environment of the README's "Deploying" section, ``manage.py check --deploy`` prints no
warning; without it, it warns (so the test can fail); and each variable is parsed strictly."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from labbook import settings as labbook_settings

ROOT = Path(__file__).resolve().parents[2]

#: The environment the README's "Deploying" section documents (its names, example values).
PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "labbook.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://labbook.example.org",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto,https",
}
SECURITY_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests' process; never in deployment
}


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SECURITY_VARIABLES}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_readme_documents_the_production_environment():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying", 1)[1].split("\n## ", 1)[0]
    for name, value in PRODUCTION.items():
        assert f"{name}={value}" in section, name
    assert "SECRET_KEY=" in section


def test_check_deploy_is_clean_with_the_production_environment():
    result = check_deploy(SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_warns_without_it():
    result = check_deploy(SECRET_KEY="short")
    found = set(re.findall(r"security\.W0\d\d", result.stdout + result.stderr))
    assert {"security.W004", "security.W008", "security.W009", "security.W012"} <= found
    assert "security.W016" in found


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("X-Forwarded-Proto,https", ("HTTP_X_FORWARDED_PROTO", "https")),
        (" x-forwarded-ssl , on ", ("HTTP_X_FORWARDED_SSL", "on")),
    ],
)
def test_proxy_ssl_header(value, expected):
    assert labbook_settings._proxy_ssl_header(value) == expected


@pytest.mark.parametrize("value", ["X-Forwarded-Proto", "X Forwarded,https", ",https"])
def test_bad_proxy_ssl_header_names_the_variable(value):
    with pytest.raises(ImproperlyConfigured, match="SECURE_PROXY_SSL_HEADER"):
        labbook_settings._proxy_ssl_header(value)


def test_lockout_choices():
    assert labbook_settings._lockout_parameters("ip") == ["ip_address"]
    with pytest.raises(ImproperlyConfigured, match="LABBOOK_LOGIN_LOCKOUT"):
        labbook_settings._lockout_parameters("everyone")


def test_whole_numbers_are_strict(monkeypatch):
    monkeypatch.setenv("SECURE_HSTS_SECONDS", "1e6")
    with pytest.raises(ImproperlyConfigured, match="SECURE_HSTS_SECONDS"):
        labbook_settings._env_int("SECURE_HSTS_SECONDS", 0)
    monkeypatch.setenv("SECURE_HSTS_SECONDS", " 60 ")
    assert labbook_settings._env_int("SECURE_HSTS_SECONDS", 0) == 60

"""Vendored JavaScript and CSS (``pipeline_core/static/vendor/<name>/``) are exactly the files
their VERSION records: each directory has a VERSION naming the npm package, its version and
tarball URL, and one ``<sha256>  <file>`` line per committed file; every file is listed,
every listed file is there with that SHA-256, and a licence is among them."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[2] / "pipeline_core" / "static" / "vendor"
#: The vendored packages and the version each is pinned to.
PINNED = {
    "tabulator": ("tabulator-tables", "6.5.3"),
    "papaparse": ("papaparse", "5.7.1"),
    "panzoom": ("@panzoom/panzoom", "4.6.2"),
}
_SUM = re.compile(r"^([0-9a-f]{64})  (\S+)")


def read_version(directory: Path) -> tuple[dict[str, str], dict[str, str]]:
    """``(fields, {file: sha256})`` of a VERSION file (``key: value`` lines and sha256sum
    lines; ``#`` starts a comment)."""
    fields: dict[str, str] = {}
    sums: dict[str, str] = {}
    for line in (directory / "VERSION").read_text().splitlines():
        found = _SUM.match(line)
        if found:
            sums[found.group(2)] = found.group(1)
        elif line.strip() and not line.startswith("#"):
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    return fields, sums


def test_every_vendor_directory_is_pinned():
    assert {p.name for p in VENDOR.iterdir() if p.is_dir()} == set(PINNED)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_vendored_files_match_their_version_file(name):
    directory = VENDOR / name
    fields, sums = read_version(directory)
    package, version = PINNED[name]
    assert fields["name"] == package
    assert fields["version"] == version
    tarball = f"{package.rsplit('/', 1)[-1]}-{version}.tgz"  # a scoped package's drops @scope/
    assert fields["tarball"] == f"https://registry.npmjs.org/{package}/-/{tarball}"
    assert "LICENSE" in sums
    committed = {p.name for p in directory.iterdir() if p.name != "VERSION"}
    assert committed == set(sums), "files not recorded in VERSION, or recorded but missing"
    for file, expected in sums.items():
        actual = hashlib.sha256((directory / file).read_bytes()).hexdigest()
        assert actual == expected, f"{name}/{file}: SHA-256 {actual}, VERSION says {expected}"


def test_licences_are_mit():
    for name in PINNED:
        text = " ".join((VENDOR / name / "LICENSE").read_text().split())
        assert "Permission is hereby granted, free of charge, to any person obtaining" in text
        assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text

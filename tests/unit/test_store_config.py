"""Store configuration as DataJoint 2.3.5 validates it, and the object paths of spec §5.2,
§5.3 and §11 — checked against datajoint's own functions where it has them."""

from __future__ import annotations

import datetime
import uuid

import pytest

from pipeline_core.datamodel.stores import StoreConfig, StoreError
from pipeline_core.datamodel.stores.addressing import (
    content_hash,
    encode_key_value,
    hash_path,
    legacy_hash,
    legacy_path,
    object_path,
)
from pipeline_core.datamodel.stores.config import parse_store


def test_defaults_and_resolution(tmp_path):
    stores = StoreConfig(
        {
            "default": "main",
            "filepath_default": "raw",
            "main": {"protocol": "file", "location": str(tmp_path)},
            "raw": {"protocol": "file", "location": str(tmp_path), "filepath_prefix": "r"},
        }
    )
    spec = stores.spec("")
    assert (
        spec.name,
        spec.hash_prefix,
        spec.schema_prefix,
        spec.token_length,
        spec.subfolding,
    ) == ("main", "_hash", "_schema", 8, None)
    assert stores.resolve(None, filepath=True) == "raw"
    assert stores.resolve("raw") == "raw"
    assert len(stores) == 2 and "main" in stores


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"protocol": "file"}, 'stores\\["s"\\] is missing: location'),
        ({"protocol": "s3", "location": "x", "bucket": "b"}, "missing: endpoint"),
        ({"protocol": "file", "location": "x", "colour": "red"}, r"Invalid key\(s\) .*colour"),
        ({"protocol": "ftp", "location": "x"}, 'Unknown protocol "ftp"'),
        ({"protocol": "gcs", "location": "x", "bucket": "b"}, "gcs is not supported"),
        (
            {"protocol": "file", "location": "x", "hash_prefix": "a", "schema_prefix": "a/b"},
            "overlap",
        ),
        ({"protocol": "file", "location": "x", "subfolding": [2, "x"]}, "subfolding"),
        (
            {"protocol": "s3", "location": "x", "bucket": "b", "endpoint": "e", "access_key": "k"},
            "both access_key and secret_key",
        ),
        ("not a dict", "must be an object"),
        (
            {"protocol": "s3", "location": "x", "bucket": "b", "endpoint": "e", "secure": "false"},
            "secure must be true or false",
        ),
    ],
)
def test_invalid_specs_are_refused_with_the_reason(raw, message):
    with pytest.raises(StoreError, match=message):
        parse_store("s", raw)


def test_unconfigured_and_default_errors():
    stores = StoreConfig({})
    with pytest.raises(StoreError, match=r"stores\.default is not configured"):
        stores.resolve("")
    with pytest.raises(StoreError, match="Storage 'x' is requested but not configured"):
        stores.spec("x")
    with pytest.raises(StoreError, match="must be a string"):
        StoreConfig({"default": {"protocol": "file"}})
    with pytest.raises(
        StoreError,
        match='stores.default is "mian", which is not a configured store '
        r"\(configured: main\)",
    ):
        StoreConfig({"default": "mian", "main": {"protocol": "file", "location": "/x"}})
    with pytest.raises(StoreError, match=r'stores\.filepath_default is "raw"'):
        StoreConfig({"filepath_default": "raw"})


def test_datajoint_accepts_and_refuses_the_same_specs(dj_module):
    """The same specs through datajoint's get_store_spec: accepted/refused alike."""
    good = {
        "protocol": "s3",
        "endpoint": "h:9000",
        "bucket": "b",
        "location": "p",
        "access_key": "a",
        "secret_key": "s",
        "subfolding": [2, 2],
        "token_length": 12,
    }
    bad = {"protocol": "file", "location": "x", "hash_prefix": "_h", "schema_prefix": "_h/s"}
    saved = dict(dj_module.config.stores)
    try:
        dj_module.config["stores"] = {"good": good, "bad": bad}
        theirs = dj_module.config.get_store_spec("good")
        ours = parse_store("good", good)
        assert (
            ours.subfolding,
            ours.token_length,
            ours.hash_prefix,
            ours.schema_prefix,
            ours.secure,
        ) == (
            tuple(theirs["subfolding"]),
            theirs["token_length"],
            theirs["hash_prefix"],
            theirs["schema_prefix"],
            theirs["secure"],
        )
        with pytest.raises(dj_module.DataJointError):
            dj_module.config.get_store_spec("bad")
        with pytest.raises(StoreError):
            parse_store("bad", bad)
    finally:
        dj_module.config["stores"] = saved


def test_hash_paths_match_datajoint(dj_module):
    from datajoint.hash_registry import build_hash_path, compute_hash

    for data in (b"", b"raw bytes", bytes(range(256)) * 7):
        digest = content_hash(data)
        assert digest == compute_hash(data)
        for folds in (None, (2,), (2, 2), (1, 3, 5)):
            spec = parse_store(
                "s", {"protocol": "file", "location": "x", "subfolding": list(folds or [])}
            )
            assert hash_path(digest, "lab_db", spec) == build_hash_path(
                digest, "lab_db", folds, hash_prefix="_hash"
            )
    assert content_hash(b"raw bytes") == "unwli6dqh5hkrs4def2rgayp5m"  # spec §5.2
    with pytest.raises(StoreError, match="invalid content hash"):
        hash_path("../../etc", "db", parse_store("s", {"protocol": "file", "location": "x"}))


KEY_VALUES = [
    7,
    -3,
    2.5,
    "mouse",
    "a/b:c",
    "x" * 150,
    "y" * 100,
    datetime.date(2026, 1, 2),
    datetime.datetime(2026, 1, 2, 3, 4, 5),
    True,
    "naïve name",
    'q"<>|?*',
]


@pytest.mark.parametrize("value", KEY_VALUES, ids=range(len(KEY_VALUES)))
def test_key_values_encode_as_datajoint(dj_module, value):
    from datajoint.storage import encode_pk_value

    assert encode_key_value(value) == encode_pk_value(value)


def test_object_paths_match_datajoint(dj_module):
    from datajoint.storage import build_object_path

    key = {"subject_id": 3, "session": "a/b", "day": datetime.date(2026, 1, 2)}
    for pattern in (None, "{session}", "{day}/{subject_id}"):
        spec = parse_store(
            "s",
            {
                "protocol": "file",
                "location": "x",
                **({"partition_pattern": pattern} if pattern else {}),
            },
        )
        for ext in (None, ".npy", "csv"):
            theirs, token = build_object_path(
                "db", "__rec", "arr", key, ext, pattern, 8, schema_prefix="_schema"
            )
            assert object_path(spec, "db", "__rec", "arr", key, ext, token=token) == theirs


def test_legacy_paths():
    """0.14 layout (spec §11): {db}/{hex[0:2]}/{hex[2:4]}/{hex}[.{attachment name}]."""
    digest = uuid.UUID("5e8b1a2ca27a34e127175a36a09243c5")
    spec = parse_store("s", {"protocol": "file", "location": "x"})
    assert (
        legacy_path("r1_legacy", digest, spec, "common.py")
        == "r1_legacy/5e/8b/5e8b1a2ca27a34e127175a36a09243c5.common.py"
    )
    flat = parse_store("s", {"protocol": "file", "location": "x", "subfolding": [3]})
    assert legacy_path("d", digest, flat) == "d/5e8/5e8b1a2ca27a34e127175a36a09243c5"
    assert legacy_hash(b"x.dat").hex.startswith("ad44e9ad")  # spec §11 (md5 of a filepath)


@pytest.fixture(scope="module")
def dj_module():
    import warnings

    warnings.filterwarnings("ignore", message=".*datajoint.json.*")
    import datajoint

    return datajoint

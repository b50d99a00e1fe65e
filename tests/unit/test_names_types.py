"""Table names and tiers (spec §1), declared types (spec §2): pure functions, no database."""

from __future__ import annotations

import pytest

from pipeline_core.datamodel import names, types
from pipeline_core.datamodel.errors import DataJointError


@pytest.mark.parametrize(
    "cls, table",
    [
        ("Session", "session"),
        ("SessionTrial", "session_trial"),
        ("KS", "k_s"),
        ("HTTPRequest", "h_t_t_p_request"),
        ("Session2Trial", "session2_trial"),
        ("Trial3D", "trial3_d"),
        ("Session_Trial", "session_trial"),
    ],
)
def test_class_to_table_base(cls, table):
    assert names.class_to_table_base(cls) == table


@pytest.mark.parametrize(
    "table, cls",
    [
        ("h_t_t_p_request", "HTTPRequest"),
        ("trial3_d", "Trial3D"),
        ("#stimulus_type", "StimulusType"),
        ("__processed", "Processed"),
        ("session__trial", "Trial"),
    ],
)
def test_table_to_class_name(table, cls):
    assert names.table_to_class_name(table) == cls


@pytest.mark.parametrize(
    "table, tier, master",
    [
        ("subject", "Manual", None),
        ("#stimulus_type", "Lookup", None),
        ("_raw", "Imported", None),
        ("__processed", "Computed", None),
        ("session__trial", "Part", "session"),
        ("__processed__detail", "Part", "__processed"),
        ("#kind__item", "Part", "#kind"),
        ("_raw__chunk", "Part", "_raw"),
        ("~lineage", None, None),
        ("~~processed", None, None),
        ("Bad", None, None),
    ],
)
def test_tier_and_master(table, tier, master):
    assert names.tier_of(table) == tier
    assert names.master_of(table) == master


def test_jobs_table_name_strips_leading_underscores():
    assert names.jobs_table_name("__processed") == "~~processed"
    assert names.jobs_table_name("_raw") == "~~raw"


def test_class_name_must_be_camel_case():
    with pytest.raises(DataJointError):
        names.class_to_table_base("lowercase")


@pytest.mark.parametrize(
    "declared, kind, sql, store",
    [
        ("int8", "core", "tinyint", None),
        ("int16", "core", "smallint", None),
        ("int32", "core", "int", None),
        ("int64", "core", "bigint", None),
        ("float32", "core", "float", None),
        ("float64", "core", "double", None),
        ("bool", "core", "tinyint", None),
        ("uuid", "core", "binary(16)", None),
        ("json", "core", "json", None),
        ("jsonb", "core", "json", None),
        ("bytes", "core", "longblob", None),
        ("date", "core", "date", None),
        ("datetime(3)", "core", "datetime(3)", None),
        ("varchar(20)", "core", "varchar(20)", None),
        ("enum('a', 'b')", "core", "enum('a', 'b')", None),
        ("decimal(8,3)", "core", "decimal(8,3)", None),
        ("<blob>", "codec", "longblob", None),
        ("<blob@raw>", "codec", "json", "raw"),
        ("<attach>", "codec", "longblob", None),
        ("<hash@s>", "codec", "json", "s"),
        ("<blob@>", "codec", "json", ""),
        ("int unsigned", "native", "int unsigned", None),
        ("timestamp", "native", "timestamp", None),
        ("longblob", "native", "longblob", None),
    ],
)
def test_classify(declared, kind, sql, store):
    result = types.classify(declared)
    assert (result.kind, result.sql_type, result.store) == (kind, sql, store)
    assert result.marker == (declared if kind != "native" else None)


@pytest.mark.parametrize("declared", ["uint8", "int24", "set('a')", "<npy>", "<unknown>", "text("])
def test_classify_rejects(declared):
    with pytest.raises(DataJointError):
        types.classify(declared)


def test_parse_comment_and_display_width():
    assert types.parse_comment(":int32:unique id") == ("int32", "unique id")
    assert types.parse_comment(":enum('a','b'):") == ("enum('a','b')", "")
    assert types.parse_comment("plain comment") == (None, "plain comment")
    assert types.strip_display_width("smallint(5) unsigned") == "smallint unsigned"
    assert types.strip_display_width("int(11)") == "int"

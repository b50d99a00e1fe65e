"""The definition grammar (spec §3.1) and the DDL it produces (spec §3.5), without a database."""

from __future__ import annotations

import pytest

from pipeline_core.datamodel.declare import plan_table
from pipeline_core.datamodel.definition import AttributeLine, ForeignKeyLine, parse_definition
from pipeline_core.datamodel.errors import DefinitionError
from pipeline_core.datamodel.heading import Attribute, Heading, TableInfo
from pipeline_core.datamodel.sql.ddl import create_table


def test_lines_are_classified():
    definition = parse_definition("""
        # Sessions of a subject
        -> Subject
        session_id: int16          # number
        ---
        notes='it''s': varchar(20) # with # in ' quotes'
        kind="x#y": varchar(8)
        -> [nullable, unique] Kind.proj(alt="kind")
        unique index(notes, kind)   # trailing comment
        """)
    assert definition.comment == "Sessions of a subject"
    fk, session, notes, kind, alt = definition.lines
    assert isinstance(fk, ForeignKeyLine) and fk.reference == "Subject" and fk.in_key
    assert session == AttributeLine(
        "session_id", "int16", None, "number", True, "session_id: int16          # number"
    )
    assert (notes.default, notes.comment) == ("'it''s'", "with # in ' quotes'")
    assert kind.default == '"x#y"'
    assert (alt.renames, alt.nullable, alt.unique, alt.in_key) == (
        (("alt", "kind"),),
        True,
        True,
        False,
    )
    assert [(i.columns, i.unique) for i in definition.indexes] == [(("notes", "kind"), True)]


@pytest.mark.parametrize(
    "text, reason",
    [
        ("# :bad comment\nid: int32", "table comment must not start with a colon"),
        ("id int32", "invalid attribute syntax"),
        ("-> Parent.restrict(x=1)", "invalid foreign key syntax"),
        ("ID: int32", "attribute names must be lower case"),
    ],
)
def test_syntax_errors_name_the_line(text, reason):
    with pytest.raises(DefinitionError) as info:
        parse_definition(text, table="`db`.`t`")
    assert reason in str(info.value) and "`db`.`t`" in str(info.value)


def _parent() -> TableInfo:
    attrs = [
        Attribute(
            "subject_id",
            "int32",
            "int(11)",
            True,
            False,
            None,
            False,
            "unique subject id",
            lineage="lab.subject.subject_id",
        )
    ]
    return TableInfo("lab", "subject", "", Heading(attrs), (), ())


def test_ddl_golden_with_foreign_key_defaults_and_index():
    definition = parse_definition("""
        -> Subject
        session_id: int16
        ---
        session_date: date
        notes='': varchar(500)
        created=CURRENT_TIMESTAMP: datetime
        weight=20.5: float32
        quoted="it's": varchar(10)  # a "comment"
        index(session_date)
        """)
    plan = plan_table("lab", "session", definition, lambda ref: _parent())
    assert create_table(plan) == (
        "CREATE TABLE IF NOT EXISTS `lab`.`session` (\n"
        "  `subject_id` int(11) NOT NULL COMMENT 'unique subject id',\n"
        "  `session_id` smallint NOT NULL COMMENT ':int16:',\n"
        "  `session_date` date NOT NULL COMMENT ':date:',\n"
        "  `notes` varchar(500) NOT NULL DEFAULT '' COMMENT ':varchar(500):',\n"
        "  `created` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP COMMENT ':datetime:',\n"
        "  `weight` float NOT NULL DEFAULT '20.5' COMMENT ':float32:',\n"
        "  `quoted` varchar(10) NOT NULL DEFAULT 'it''s' COMMENT ':varchar(10):a \"comment\"',\n"
        "  PRIMARY KEY (`subject_id`, `session_id`),\n"
        "  FOREIGN KEY (`subject_id`) REFERENCES `lab`.`subject` (`subject_id`) "
        "ON UPDATE CASCADE ON DELETE RESTRICT,\n"
        "  INDEX (`session_date`)\n"
        ") ENGINE=InnoDB"
    )
    assert plan.lineage == (
        ("subject_id", "lab.subject.subject_id"),
        ("session_id", "lab.session.session_id"),
    )


def test_singleton_and_hostile_defaults():
    plan = plan_table("lab", "config", parse_definition("---\nvalue=0: int32"), lambda ref: None)
    assert plan.primary_key == ("_singleton",)
    assert (
        "`_singleton` tinyint NOT NULL DEFAULT '1' COMMENT ':bool:singleton primary key'"
        in create_table(plan)
    )
    with pytest.raises(DefinitionError, match="invalid default value"):
        plan_table(
            "lab",
            "t",
            parse_definition("id: int32\n---\nx=1);DROP TABLE t;--: int32"),
            lambda ref: None,
        )
    with pytest.raises(DefinitionError, match="invalid default value"):  # not one quoted string
        plan_table(
            "lab",
            "t",
            parse_definition("id: int32\n---\nx='a\\\\'' : varchar(9)"),
            lambda ref: None,
        )

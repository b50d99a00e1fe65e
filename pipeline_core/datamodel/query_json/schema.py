"""The structure of a JSON query description as a JSON Schema (draft 2020-12), and its limits.

:data:`SCHEMA` says everything about a description that does not depend on the tables it
names: the shape of every object (its keys, which are required, that no other key is
allowed), the types of values, the operators and aggregate functions, the form of schema,
table and new attribute names, the value each operator takes, list and string sizes, and
the recursion of queries and conditions through ``$defs``. What depends on the headings
(an attribute exists and can be compared, a value fits its type, a new name is free, a join
or a semijoin matches on attributes of one origin, the cursor names the ordering
attributes) and the counts over the whole description (:data:`MAX_DEPTH`,
:data:`MAX_TABLES`, :data:`MAX_CONDITIONS`) are checked by :mod:`.parse`.

Two annotations beyond the standard drive the error messages of :mod:`.structure`:
``title`` names what a subschema describes ("a comparison {attribute, operator, value}"),
and ``x-reason`` gives the reason for a failing keyword (a text, or ``{keyword: text}``)
where the generic one would be vague; ``$value``, ``$kind`` and the object's own string
fields (``$operator``) are filled in. Validators ignore both.

Integers are Python ints: :data:`VALIDATOR` does not take ``5.0`` for an integer as plain
JSON Schema does (the parsed JSON keeps the difference; ``limit`` and cursors rely on it).
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, validators

from ..condition import AGGREGATE_FUNCTIONS, COMPUTE_FUNCTIONS, OPERATORS
from ..sql.quoting import SERVER_IDENTIFIER

MAX_DEPTH = 10  #: nesting of queries and condition groups
MAX_TABLES = 16  #: table references in one description
MAX_CONDITIONS = 200  #: comparisons and matching terms in one description
MAX_LIST = 500  #: items of any list or object (values of ``in``, keep, join, ...)
MAX_STRING = 4096  #: characters of a string value
MAX_LIMIT = 1000  #: rows per page
MAX_INTEGER = 2**64  #: integers lie strictly between -MAX_INTEGER and MAX_INTEGER

#: Operators by the value they take (together: :data:`~..condition.OPERATORS`).
SCALAR_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
LIST_OPERATORS = ("in", "not in")
NULL_OPERATORS = ("is null", "is not null")
#: Keys a query has only at the top level.
TOP_ONLY = ("order", "limit", "after")
#: New names that would collide with keyword parameters of proj/aggr.
RESERVED_NAMES = ("self", "group", "exclude_nonmatching")

# Patterns are anchored for ECMA-262 and Python alike; ``(?!\n)`` stops Python's ``$`` from
# accepting a trailing newline (jsonschema uses re.search).
#: Database and table names as sql.quoting.check_identifier takes them: any name the
#: server accepts (1 to 64 characters, no NUL, not ending in a space).
IDENTIFIER = SERVER_IDENTIFIER
#: A table's class name: ``Session`` or ``Session.Trial``.
CLASS_NAME = r"[A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9]*)?"
#: Rename targets and computed attributes.
NEW_NAME = r"[a-z][a-z0-9_]{0,63}"


def _anchored(pattern: str) -> str:
    return f"^(?:{pattern})$(?!\\n)"


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def _object(title: str, properties: dict, required: tuple = (), **more: Any) -> dict:
    """An object with exactly these keys (keyword order is the order errors are reported)."""
    schema: dict = {"title": title, "type": "object", "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return {**schema, "properties": properties, **more}


def _dispatch(cases: list[tuple[dict, dict]], otherwise: dict) -> dict:
    """``if``/``then``/``else`` chain: the first case whose condition holds applies (so that
    errors come from the intended alternative only, unlike ``oneOf``)."""
    schema = otherwise
    for condition, then in reversed(cases):
        schema = {"if": condition, "then": then, "else": schema}
    return schema


def _scalar(*extra_types: str) -> dict:
    return {
        "type": ["string", "number", "boolean", *extra_types],
        "maxLength": MAX_STRING,
        "if": {"type": "integer"},
        "then": {
            "exclusiveMinimum": -MAX_INTEGER,
            "exclusiveMaximum": MAX_INTEGER,
            "x-reason": "integer out of range",
        },
    }


def _query(*, top: bool = False, cross: bool = False) -> dict:
    properties = {
        "from": _ref("source"),
        "join": _ref("join"),
        "where": _ref("condition"),
        "proj": _ref("proj"),
        "aggr": _ref("aggr"),
        "group": _ref("group"),
        "union": _ref("union"),
    }
    if cross:
        properties["cross"] = {"type": "boolean"}
    for key in TOP_ONLY:
        properties[key] = (
            _ref(key) if top else {"not": {}, "x-reason": f"{key} is allowed only at the top level"}
        )
    either = {"not": {}, "x-reason": "use either aggr or group (nest queries for both)"}
    return _object(
        "a query",
        properties,
        ("from",),
        dependentSchemas={"aggr": {"properties": {"group": either}}},
    )


def _source(table: str, query: str) -> dict:
    return {
        "title": "a table {schema, table} or a query {from, ...}",
        "type": "object",
        **_dispatch([({"required": ["from"]}, _ref(query))], _ref(table)),
    }


def _value_rules() -> dict:
    """The value each operator takes: one ``if``/``else`` chain (cheaper than one ``if``
    per operator: every failing ``if`` costs an error object inside jsonschema)."""

    def needs(value: str) -> dict:
        return {
            "required": ["value"],
            "properties": {"value": _ref(value)},
            "x-reason": {"required": "'$operator' needs a value"},
        }

    def takes_none(op: str) -> dict:
        return {"properties": {"value": {"not": {}, "x-reason": f"'{op}' takes no value"}}}

    groups = [
        (SCALAR_OPERATORS, needs("value")),
        (LIST_OPERATORS, needs("values")),
        (("like",), needs("pattern")),
        (("between",), needs("range")),
        *(((op,), takes_none(op)) for op in NULL_OPERATORS),
    ]
    return _dispatch(
        [
            ({"required": ["operator"], "properties": {"operator": {"enum": list(ops)}}}, then)
            for ops, then in groups
        ],
        {},  # an unknown operator: reported by the enum
    )


_TABLE = {"schema": _ref("schema_name"), "table": _ref("table_name")}
_AT_LEAST_ONE = "expected at least one aggregate (or attributes to group by)"
_CONDITION_FORMS = (
    "{attribute, operator, value}, {and: [...]}, {or: [...]}, {not: ...} or {matching: ...}"
)

_DEFS = {
    # --- queries and tables
    "query": _query(),
    "join_query": _query(cross=True),
    "source": _source("table", "query"),
    "join_source": _source("join_table", "join_query"),
    "table": _object("a table {schema, table}", _TABLE, ("schema", "table")),
    "join_table": _object(
        "a table {schema, table, cross}",
        {**_TABLE, "cross": {"type": "boolean"}},
        ("schema", "table"),
    ),
    "schema_name": {
        "type": "string",
        "maxLength": 64,
        "pattern": _anchored(IDENTIFIER),
        "x-reason": "invalid schema name $value",
    },
    "table_name": {
        "type": "string",
        "maxLength": 64,
        "pattern": _anchored(IDENTIFIER),  # class names (CLASS_NAME) are identifiers too
        "x-reason": "invalid table name $value: a raw table name or a class name",
    },
    "union": {
        "title": "a list of sources",
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_LIST,
        "items": _ref("source"),
    },
    "join": {
        "title": "a list of sources",
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_LIST,
        "items": _ref("join_source"),
    },
    # --- conditions
    "condition": {
        "title": "a condition",
        "type": "object",
        **_dispatch(
            [
                (
                    {"anyOf": [{"required": ["attribute"]}, {"required": ["operator"]}]},
                    _ref("comparison"),
                ),
                ({"required": ["and"]}, _ref("and")),
                ({"required": ["or"]}, _ref("or")),
                ({"required": ["not"]}, _ref("not")),
                ({"required": ["matching"]}, _ref("matching")),
            ],
            {"not": {}, "x-reason": f"expected a condition: {_CONDITION_FORMS}; not $kind$keys"},
        ),
    },
    "conditions": {
        "title": "a list of conditions",
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_LIST,
        "items": _ref("condition"),
    },
    "and": _object("a condition {and: [...]}", {"and": _ref("conditions")}, ("and",)),
    "or": _object("a condition {or: [...]}", {"or": _ref("conditions")}, ("or",)),
    "not": _object("a condition {not: ...}", {"not": _ref("condition")}, ("not",)),
    "matching": _object("a condition {matching: ...}", {"matching": _ref("source")}, ("matching",)),
    "comparison": _object(
        "a comparison {attribute, operator, value}",
        {
            "attribute": _ref("attribute"),
            "operator": {"title": "an operator", "enum": list(OPERATORS)},
            "value": True,  # by operator, below
        },
        ("attribute", "operator"),
        **_value_rules(),
    ),
    "attribute": {"title": "an attribute name", "type": "string"},
    "value": _scalar(),
    "pattern": {
        "type": "string",
        "maxLength": MAX_STRING,
        "x-reason": {"type": "like takes a string pattern, not $kind"},
    },
    "values": {
        "title": "a list of values",
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_LIST,
        "items": _ref("value"),
    },
    "range": {
        "title": "[low, high]",
        "type": "array",
        "minItems": 2,
        "maxItems": 2,
        "items": _ref("value"),
        "x-reason": {
            "minItems": "between takes [low, high]",
            "maxItems": "between takes [low, high]",
        },
    },
    # --- projection and aggregation
    "new_name": {
        "type": "string",
        "pattern": _anchored(NEW_NAME),
        "not": {"enum": list(RESERVED_NAMES)},
        "x-reason": "invalid new attribute name $value: use lower-case letters, digits and _ "
        "(starting with a letter, at most 64 characters; not " + ", ".join(RESERVED_NAMES) + ")",
    },
    "names": {
        "title": "a list of attributes",
        "type": "array",
        "maxItems": MAX_LIST,
        "uniqueItems": True,
        "items": _ref("attribute"),
        "x-reason": {"uniqueItems": "`$item` is named twice"},
    },
    "proj": _object(
        "a projection {keep, rename}",
        {
            "keep": _ref("names"),
            "rename": {
                "title": "renames {new name: attribute}",
                "type": "object",
                "maxProperties": MAX_LIST,
                "propertyNames": _ref("new_name"),
                "additionalProperties": _ref("attribute"),
            },
            "compute": {
                "title": "computed attributes {new name: computation}",
                "type": "object",
                "maxProperties": MAX_LIST,
                "propertyNames": _ref("new_name"),
                "additionalProperties": _ref("computation"),
            },
        },
    ),
    "computation": {
        "title": "a computation",
        "type": "object",
        **_dispatch(
            [
                ({"required": ["function"]}, _ref("computation_call")),
                ({"required": ["value"]}, _ref("computation_number")),
                ({"required": ["attribute"]}, _ref("computation_attribute")),
            ],
            {
                "not": {},
                "x-reason": "expected a computation: {attribute}, {value} or "
                "{function, args}; not $kind$keys",
            },
        ),
    },
    "computation_call": _object(
        "a computation {function, args}",
        {
            "function": {"title": "a function", "enum": list(COMPUTE_FUNCTIONS)},
            "args": {
                "title": "a list of computations",
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_LIST,
                "items": _ref("computation"),
            },
        },
        ("function", "args"),
    ),
    "computation_number": _object(
        "a number {value}",
        {
            "value": {
                "type": "number",
                "if": {"type": "integer"},
                "then": {
                    "exclusiveMinimum": -MAX_INTEGER,
                    "exclusiveMaximum": MAX_INTEGER,
                    "x-reason": "integer out of range",
                },
            }
        },
        ("value",),
    ),
    "computation_attribute": _object(
        "an attribute {attribute}", {"attribute": _ref("attribute")}, ("attribute",)
    ),
    "aggregates": {
        "title": "aggregates {new name: aggregate}",
        "type": "object",
        "maxProperties": MAX_LIST,
        "propertyNames": _ref("new_name"),
        "additionalProperties": _ref("aggregate"),
    },
    "aggregate": _object(
        "an aggregate {function, attribute, distinct}",
        {
            "function": {"title": "an aggregate function", "enum": list(AGGREGATE_FUNCTIONS)},
            "attribute": _ref("attribute"),
            "distinct": {"type": "boolean"},
        },
        ("function",),
        allOf=[
            {  # only count(*) has no attribute
                "if": {
                    "required": ["function"],
                    "properties": {
                        "function": {"enum": [f for f in AGGREGATE_FUNCTIONS if f != "count"]}
                    },
                },
                "then": {"required": ["attribute"], "x-reason": "$function needs an attribute"},
            },
            {
                "if": {
                    "required": ["function", "distinct"],
                    "properties": {
                        "function": {"enum": list(AGGREGATE_FUNCTIONS)},
                        "distinct": {"const": True},
                    },
                },
                "then": {
                    "required": ["attribute"],
                    "x-reason": "$function distinct needs an attribute",
                },
            },
        ],
    ),
    "aggr": _object(
        "an aggregation {over, compute, keep, exclude_nonmatching}",
        {
            "over": _ref("source"),
            "compute": {
                **_ref("aggregates"),
                "minProperties": 1,
                "x-reason": {"minProperties": "expected at least one aggregate"},
            },
            "keep": _ref("names"),
            "exclude_nonmatching": {"type": "boolean"},
        },
        ("over", "compute"),
    ),
    "group": _object(
        "a grouping {by, compute}",
        {"by": _ref("names"), "compute": _ref("aggregates")},
        # without attributes to group by, at least one aggregate
        **_dispatch(
            [({"required": ["by"], "properties": {"by": {"minItems": 1}}}, {})],
            {
                "required": ["compute"],
                "properties": {"compute": {"minProperties": 1, "x-reason": _AT_LEAST_ONE}},
                "x-reason": _AT_LEAST_ONE,
            },
        ),
    ),
    # --- top level only
    "order": {
        "title": "an order",
        "type": "array",
        "maxItems": MAX_LIST,
        "items": _object(
            "an order item {attribute, descending}",
            {"attribute": _ref("attribute"), "descending": {"type": "boolean"}},
            ("attribute",),
        ),
    },
    "limit": {  # null: no limit (as a client may pass back what it was given)
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": MAX_LIMIT,
        "x-reason": f"limit must be an integer from 1 to {MAX_LIMIT}",
    },
    "after": {  # null: the first page (the cursor of a last page is null)
        "title": "a cursor {attribute: value}",
        "type": ["object", "null"],
        "maxProperties": MAX_LIST,
        "additionalProperties": _ref("cursor_value"),
    },
    "cursor_value": _scalar("null"),
}

#: The JSON Schema of a description (draft 2020-12); see the package docstring for the format.
SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "description": "A LabBook JSON query description (pipeline_core.datamodel.query_json).",
    **_query(top=True),
    "$defs": _DEFS,
}


def _is_int(checker, instance) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_int),
)

#: :data:`SCHEMA` compiled once (validators are immutable; safe to share between threads).
VALIDATOR = _Validator(SCHEMA)

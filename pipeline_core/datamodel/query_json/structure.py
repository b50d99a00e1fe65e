"""Checking a description against :data:`.schema.SCHEMA`, and the one error a user sees.

A description is first walked for its nesting and size (iteratively: a hostile one may be
nested deeper than Python's recursion limit, which a recursive validator would hit), then
validated by :data:`.schema.VALIDATOR`. Of the errors jsonschema reports, the one highest
up in the description wins (a missing or unknown key before what is wrong inside a value;
siblings in the schema's order), and it becomes a :class:`~..errors.QueryDescriptionError`
whose ``path`` names the element as the rest of :mod:`.query_json` does
(``where.and[2].attribute``; a missing or unknown key is named by its own path,
``aggr.compute.n.attribute``) and whose reason is written for people.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from string import Template
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from ..errors import QueryDescriptionError
from .schema import MAX_DEPTH, VALIDATOR

#: JSON nesting (objects and arrays) that no description within MAX_DEPTH reaches: each
#: level of queries or conditions takes at most two (``{"and": [...]}``), the innermost a few
#: more (``{"aggr": {"compute": {"n": {...}}}}``). Deeper is refused before validation.
MAX_NESTING = 2 * MAX_DEPTH + 8

#: JSON values (objects, arrays and scalars) in one description: far more than the other
#: limits let a useful description have (MAX_CONDITIONS comparisons, lists of MAX_LIST), and
#: a bound on the work of validating one (about 10-90 µs a value), which happens before the
#: parser counts conditions and tables.
MAX_VALUES = 10_000

_TYPES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "null": "null",
}


#: How many descriptions found valid are remembered (their JSON text, keys sorted): a table
#: page walked page by page, or a query paged, sends the same description again, and
#: validating one costs about 1 ms. Only plain JSON of at most :data:`VALID_TEXT` characters
#: is remembered; the schema is fixed, so a text valid once stays valid.
VALID_CACHE = 256
VALID_TEXT = 4096
_valid: dict[str, None] = {}


def check_structure(description: Any) -> None:
    """Check everything about a description that does not depend on the tables.

    Args:
        description: the parsed JSON.
    Raises:
        QueryDescriptionError: nested deeper than :data:`MAX_NESTING`, larger than
            :data:`MAX_VALUES`, or not valid under :data:`.schema.SCHEMA`; ``path`` and
            ``reason`` as described in the module docstring.
    """
    text = _text(description) if _check_size(description) else None
    if text is not None and text in _valid:
        return
    error = best_match(VALIDATOR.iter_errors(description), key=_relevance)
    if error is not None:
        raise _description_error(error)
    if text is not None:
        if len(_valid) >= VALID_CACHE:
            _valid.clear()
        _valid[text] = None


def _text(description: Any) -> str | None:
    """The JSON text of plain JSON (keys sorted), or None when too long to remember."""
    try:
        text = json.dumps(description, sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):  # not JSON after all (NaN, odd keys): not remembered
        return None
    return text if len(text) <= VALID_TEXT else None


# --- paths ---------------------------------------------------------------------------------------
def at(path: str, key: Any) -> str:
    """``path`` extended by an object key (shortened when long): ``at("where", "not")``."""
    return f"{path}.{shown(key)}" if path else shown(key)


def path_of(parts: Iterable) -> str:
    """The path text of a sequence of keys and indices: ``["where", "and", 2]`` ->
    ``where.and[2]``."""
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else at(path, part)
    return path


def shown(text: Any, length: int = 64) -> str:
    """``text`` as a string of at most ``length`` characters (cut with an ellipsis)."""
    text = str(text)
    return text if len(text) <= length else text[: length - 1] + "…"


def kind(value: Any) -> str:
    """What a JSON value is, for messages: ``"an array"``, ``"null"``, ..."""
    if value is None:
        return "null"
    if value == {}:
        return "an empty object"
    for types, name in (
        (bool, "a boolean"),
        ((int, float), "a number"),
        (str, "a string"),
        ((list, tuple), "an array"),
        (dict, "an object"),
    ):
        if isinstance(value, types):
            return name
    return type(value).__name__


# --- checks --------------------------------------------------------------------------------------
def _check_size(description: Any) -> bool:
    """Nesting and size before the (recursive, all-at-once) schema validation; returns
    whether the description is plain JSON (dicts with string keys, lists, strings, numbers,
    booleans, None: what ``json.loads`` makes)."""
    stack: list[tuple[Any, tuple, int]] = [(description, (), 1)]
    values = 0
    plain = True
    while stack:
        value, path, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            raise QueryDescriptionError(f"too large: more than {MAX_VALUES} JSON values", "")
        if isinstance(value, dict):
            items = value.items()
            plain = plain and all(type(k) is str for k in value)
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            plain = plain and (value is None or type(value) in _PLAIN)
            continue
        if depth > MAX_NESTING:
            raise QueryDescriptionError(
                f"nested too deeply (at most {MAX_DEPTH} levels)", path_of(path)
            )
        stack.extend((item, (*path, key), depth + 1) for key, item in reversed(list(items)))
    return plain


#: Scalar types of plain JSON (exactly these: a subclass may validate differently).
_PLAIN = (str, int, float, bool)


def _relevance(error: ValidationError) -> tuple:
    """best_match takes the maximum: the shallowest error (ties: the first reported)."""
    return (-len(error.absolute_path),)


def _description_error(error: ValidationError) -> QueryDescriptionError:
    schema = error.schema if isinstance(error.schema, dict) else {}
    keyword, instance = error.validator, error.instance
    parts = list(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        parts.append(instance)  # jsonschema reports a bad key at its object
    fields = {"value": _value(instance), "kind": kind(instance), "keys": _keys(instance)}
    attribute = None
    if keyword == "required":
        key = next((k for k in error.validator_value if k not in instance), "")
        parts.append(key)
        default = f"missing required key {key!r}{_in(schema)}"
    elif keyword == "additionalProperties":
        allowed = [k for k, s in schema.get("properties", {}).items() if not _forbidden(s)]
        key = next((k for k in instance if k not in schema.get("properties", {})), "")
        parts.append(key)
        close = _suggestion(str(key), allowed)
        default = (
            f"unknown key {shown(key)!r}{_in(schema)}"
            + (f" (did you mean {close!r}?)" if close else "")
            + "; expected "
            + ", ".join(allowed)
        )
    elif keyword == "uniqueItems":
        index = next((i for i, item in enumerate(instance) if item in instance[:i]), 0)
        parts.append(index)
        fields["item"] = attribute = shown(instance[index])
        default = f"{_value(instance[index])} appears twice"
    else:
        default = _default_reason(keyword, error.validator_value, instance, schema)
    reason = schema.get("x-reason")
    if isinstance(reason, dict):
        reason = reason.get(keyword)
    if reason:
        if isinstance(instance, dict):  # the object's own string fields, e.g. $operator
            fields = {
                **{k: shown(v) for k, v in instance.items() if isinstance(v, str)},
                **fields,
            }
        reason = Template(reason).safe_substitute(fields)
    return QueryDescriptionError(reason or default, path_of(parts), attribute=attribute)


def _default_reason(keyword: str, expected: Any, instance: Any, schema: dict) -> str:
    title = schema.get("title")
    if keyword == "type":
        types = [expected] if isinstance(expected, str) else expected
        if len(types) == 1:
            words = _TYPES[types[0]]
        else:  # "a string, number or boolean"
            words = ", ".join([_TYPES[types[0]], *types[1:-1]]) + " or " + types[-1]
        reason = f"expected {title} ({words})" if title else f"expected {words}"
        reason += f", not {kind(instance)}"
        if instance is None and {"string", "number", "boolean"} <= set(types):  # a value
            reason += "; use the operator 'is null'"
        return reason
    if keyword == "enum":
        what = f"unknown {_noun(title)} " if title else ""
        return f"{what}{_value(instance)}; must be one of " + ", ".join(map(str, expected))
    if keyword == "minItems":
        return f"expected at least {expected} item(s){_in(schema)}"
    if keyword == "maxItems":
        return f"too many items (at most {expected})"
    if keyword == "minProperties":
        return f"expected at least {expected} key(s){_in(schema)}"
    if keyword == "maxProperties":
        return f"too many keys (at most {expected})"
    if keyword == "maxLength":
        return f"string longer than {expected} characters"
    if keyword == "pattern":
        return f"invalid {_noun(title) if title else 'name'} {_value(instance)}"
    return f"{_value(instance)} is not allowed here"


def _forbidden(schema: Any) -> bool:
    """A property that is never allowed (``{"not": {}}``: top-level keys in a nested query)."""
    return isinstance(schema, dict) and schema.get("not") == {}


def _suggestion(key: str, allowed: list[str]) -> str | None:
    """The allowed key a typo or an abbreviation most likely meant ("wher", "desc")."""
    close = difflib.get_close_matches(key, allowed, 1)
    if close:
        return close[0]
    return next((a for a in allowed if len(key) >= 3 and a.startswith(key)), None)


def _in(schema: dict) -> str:
    return f" in {schema['title']}" if schema.get("title") else ""


def _noun(title: str) -> str:
    """ "an operator" -> "operator"."""
    return title.removeprefix("a ").removeprefix("an ")


def _value(value: Any) -> str:
    return repr(shown(value)) if isinstance(value, str) else shown(repr(value))


def _keys(value: Any) -> str:
    if not isinstance(value, dict) or not value:
        return ""
    return " with keys " + ", ".join(shown(k) for k in list(value)[:5])

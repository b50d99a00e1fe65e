"""The foreign-key picker of entry forms: ONE searchable field per foreign key that fills
all its child attributes (compound keys too, renamed ones mapped), however large the parent.

The browser part (``static/labbook/entry.js``) searches the parent through the JSON API
(``api:fk_choices``) as people type and keeps the choice, an encoded key (:mod:`.keys`), in
a hidden input beside the labelled text input (an ARIA combobox: up/down to move, Enter to
choose, Escape to close). Without a choice, the text typed is resolved on the server like
pasted text (:func:`pipeline_core.datamodel.fk_search.resolve_parents`): it must name
exactly one parent row (its label, its key, or a varchar attribute's value).
"""

from __future__ import annotations

import json
import typing

from django import forms
from django.urls import reverse
from django.utils.html import format_html

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import fk_search
from pipeline_core.services import connection
from pipeline_core.services import fk as fk_service

from .keys import decode_key


class Picked(typing.NamedTuple):
    """What a picker submitted: the encoded key chosen (may be empty) and the text shown."""

    token: str
    text: str


class FKPicker(forms.Widget):
    """A hidden input (the key chosen) and a text input with its listbox of results."""

    def __init__(self, fk, search_url: str, attrs=None):
        super().__init__(attrs)
        self.fk = fk
        self.search_url = search_url

    def value_from_datadict(self, data, files, name):
        token, text = data.get(name, ""), data.get(name + "__text", "")
        return Picked(token or "", text or "") if token or text else None

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        token, text = (value.token, value.text) if isinstance(value, Picked) else (value or "", "")
        if token and not text:
            text = _label_of_token(self.fk, token) or ""
        required = " required" if attrs.get("required") else ""
        described = f"{attrs['id']}_helptext" if attrs.get("id") else ""
        return format_html(
            '<div class="fk-picker" data-fk-url="{}" data-fk-columns="{}">'
            '<input type="hidden" name="{}" value="{}" data-fk-value>'
            '<input type="text" id="{}" name="{}__text" value="{}" role="combobox" '
            'aria-autocomplete="list" aria-expanded="false" aria-describedby="{}" '
            'autocomplete="off" spellcheck="false" placeholder="type to search…" '
            "data-fk-input{}>"
            '<ul class="fk-options" role="listbox" hidden></ul></div>',
            self.search_url,
            json.dumps(list(self.fk.columns)),
            name,
            token,
            attrs.get("id", ""),
            name,
            text,
            described,
            required,
        )

    def id_for_label(self, id_):
        return id_


class FKPickerField(forms.Field):
    """A foreign key's choice: ``None`` (nothing), or a :class:`Picked`; expanded into
    the child's values by the form (:meth:`resolve`)."""

    def __init__(self, fk, search_url: str, **kwargs):
        self.fk = fk
        super().__init__(widget=FKPicker(fk, search_url), **kwargs)

    def to_python(self, value):
        return value if isinstance(value, Picked) else None

    def resolve(self, picked: Picked) -> dict:
        """The child values of the parent row chosen (the key token) or named by the text.

        Raises:
            ValidationError: a key that does not fit the foreign key; a text naming no
                parent row, or several.
        """
        if picked.token:
            try:
                key = decode_key(picked.token)
            except dm.DataJointError:
                key = {}
            if set(key) != set(self.fk.columns):
                raise forms.ValidationError("This choice does not fit the foreign key.")
            return key
        text = picked.text.strip()
        found = fk_search.resolve_parents(connection(), self.fk, [text])[text]
        parent = self.label
        if not found:
            raise forms.ValidationError(f"No {parent} matches “{text}”: choose from the list.")
        if len(found) > 1:
            raise forms.ValidationError(
                f"“{text}” matches {len(found)} {parent} rows: choose one from the list."
            )
        return found[0]


def _label_of_token(fk, token: str) -> str | None:
    """The label of the parent an encoded key points to (None: not a key of it)."""
    try:
        return fk_service.fk_label(fk, decode_key(token))
    except dm.DataJointError:
        return None


def picker_field(fk, info, parent_info) -> FKPickerField:
    """ONE searchable field for a foreign key of ``info``, filling all its columns."""
    label = parent_info.class_name
    if fk.aliased:
        label += " (" + ", ".join(f"{c} ← {p}" for c, p in fk.attr_map if c != p) + ")"
    url = reverse("api:fk_choices", args=[info.database, info.table_name, fk.columns[0]])
    field = FKPickerField(
        fk,
        url,
        required=not fk.nullable,
        label=label,
        help_text="fills " + ", ".join(fk.columns) + ": type a key or a name, then choose",
    )
    field.parent = parent_info
    field.declared_type = "key of " + parent_info.class_name
    return field

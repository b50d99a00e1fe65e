"""Entry forms built dynamically from a table's heading.

One widget per declared type; a foreign key is ONE searchable picker of the parent's rows
(:mod:`.fk_picker`: the key chosen fills all its columns, renamed columns mapped through
``attr_map``); a master's part tables are formsets in the same form whose rows inherit
the master's key. Values are passed on as entered: the data model converts and validates
them, and its errors are put back beside the fields (:meth:`EntryForms.add_problems`).

``<attach>`` and ``<attach@store>`` attributes are file inputs (the form is then
multipart); the uploaded file reaches the data model as an ``Attachment``. Other blobs and
stored values cannot be entered in the browser: when nullable (or with a default) they are
listed as such and left NULL, when required the table has no entry form (``blockers``).
"""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from pipeline_core import roles
from pipeline_core.datamodel.stores.refs import Attachment
from pipeline_core.datamodel.types import enum_values, type_family
from pipeline_core.services import fk as fk_service

from .fk_picker import picker_field

_TEXTAREA = {"json", "jsonb", "text", "tinytext", "mediumtext", "longtext"}


def is_file_upload(attr) -> bool:
    """``<attach>`` and ``<attach@store>`` attributes: entered by uploading a file (not 0.14
    external references, which LabBook reads but does not write)."""
    return attr.codec == "attach" and not attr.is_legacy_reference


def not_enterable(attr) -> bool:
    """Blobs, raw bytes and stored values other than attachments cannot be entered in a
    form (attachments are file uploads, see :func:`is_file_upload`)."""
    return (attr.is_blob or attr.codec is not None or attr.is_bytes) and not is_file_upload(attr)


def field_for(attr) -> forms.Field:
    """A form field for one attribute: its widget follows the declared type; required
    when the attribute is not nullable and has no default; defaults pre-filled. The field
    carries ``declared_type`` for display."""
    field = _field_for(attr)
    field.declared_type = "enum" if attr.base_type == "enum" else attr.type
    return field


def _upload_limit(value: UploadedFile) -> None:
    """Refuse an uploaded file larger than ``settings.LABBOOK_MAX_UPLOAD_MB`` (it is held in
    memory while the row is written)."""
    from .previews import format_size

    limit = int(settings.LABBOOK_MAX_UPLOAD_MB * 1_000_000)
    if value.size > limit:
        raise ValidationError(
            f"{value.name} is {format_size(value.size)}; files of at most "
            f"{format_size(limit)} can be uploaded here (LABBOOK_MAX_UPLOAD_MB)."
        )


def _field_for(attr) -> forms.Field:
    base = attr.base_type
    required = not attr.nullable and attr.default is None and not attr.autoincrement
    initial = None if attr.nullable or attr.default_is_expression else attr.default
    kwargs = dict(label=attr.name, help_text=attr.comment, initial=initial)
    placeholder = f"default: {attr.default}" if attr.default_is_expression else None
    if is_file_upload(attr):  # empty files are valid attachments
        return forms.FileField(
            required=required,
            allow_empty_file=True,
            label=attr.name,
            help_text=attr.comment,
            widget=forms.FileInput,
            validators=[_upload_limit],
        )
    if base == "bool":
        return forms.BooleanField(
            required=False,
            label=attr.name,
            help_text=attr.comment,
            initial=str(attr.default).lower() in ("1", "true"),
        )
    if base == "enum":
        choices = [(v, v) for v in enum_values(attr.type)]
        if attr.nullable or (attr.default is None and not required):
            choices.insert(0, ("", "— null —" if attr.nullable else "— default —"))
        return forms.ChoiceField(choices=choices, required=required, **kwargs)
    attrs: dict = {}
    if placeholder:
        attrs["placeholder"] = placeholder
    family = type_family(attr.type)
    if family == "integer":
        widget = forms.NumberInput(attrs={**attrs, "step": "1"})
    elif family == "float":
        widget = forms.NumberInput(attrs={**attrs, "step": "any"})
    elif family == "decimal":
        match = re.search(r",\s*(\d+)\)", attr.type)
        scale = int(match.group(1)) if match else 0
        step = f"{10**-scale:.{scale}f}" if scale else "1"
        widget = forms.NumberInput(attrs={**attrs, "step": step})
    elif base == "date":
        widget = forms.DateInput(attrs={**attrs, "type": "date"})
    elif base in ("datetime", "timestamp"):
        widget = forms.DateTimeInput(attrs={**attrs, "type": "datetime-local", "step": "1"})
        kwargs["initial"] = initial.replace(" ", "T") if initial else initial
    elif base == "time":
        widget = forms.TimeInput(attrs={**attrs, "type": "time", "step": "1"})
    elif base in ("char", "varchar"):
        size = re.search(r"\((\d+)\)", attr.type)
        return forms.CharField(
            required=required,
            max_length=int(size.group(1)) if size else None,
            strip=False,
            widget=forms.TextInput(attrs=attrs),
            **kwargs,
        )
    elif attr.is_uuid:
        widget = forms.TextInput(
            attrs={
                **attrs,
                "placeholder": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                "spellcheck": "false",
            }
        )
    elif base in _TEXTAREA or attr.is_json:
        widget = forms.Textarea(attrs={**attrs, "rows": 3})
    else:
        widget = forms.TextInput(attrs=attrs)
    return forms.CharField(required=required, strip=False, widget=widget, **kwargs)


class TableForm(forms.Form):
    """A form for one row of a table. Built by :func:`form_class_for`; class attributes
    ``table`` (TableInfo), ``fk_fields`` (field name -> ForeignKey) and ``attribute_field``
    (attribute name -> field name) say where each attribute is entered."""

    table = None
    fk_fields: dict = {}
    attribute_field: dict = {}
    key_fields: set = set()
    #: ``[(attribute, declared type)]`` that cannot be entered here and are left NULL
    #: (or to their default).
    not_entered: list = []

    def row(self) -> dict:
        """The cleaned values by attribute name (foreign keys expanded to their columns;
        an uploaded file as an ``Attachment`` named as uploaded)."""
        row = {}
        for name, value in self.cleaned_data.items():
            if name in self.fk_fields:
                row.update(value or dict.fromkeys(self.fk_fields[name].columns))
            elif isinstance(value, UploadedFile):
                value.seek(0)
                row[name] = Attachment(name=value.name, contents=value.read())
            else:
                row[name] = value
        return row

    def clean(self):
        """Expand each foreign-key choice (or text naming one parent) and check that keys
        sharing columns agree."""
        data = super().clean()
        seen: dict = {}
        for name in self.fk_fields:
            picked = data.get(name)
            if not picked:
                data[name] = None
                continue
            try:
                key = self.fields[name].resolve(picked)
            except ValidationError as exc:
                self.add_error(name, exc)
                continue
            for column, value in key.items():
                if column in seen and seen[column] != value:
                    self.add_error(
                        name, f"`{column}`={value} disagrees with another choice ({seen[column]})."
                    )
                seen[column] = value
            data[name] = key
        return data


def blockers_of(info, inherited: frozenset = frozenset(), user=None) -> list[str]:
    """Why rows of a table cannot be entered in a form: required attributes that cannot be
    typed in (e.g. a required ``<blob>``), and, for ``user``, foreign keys to schemas they
    may not view (the picker would search that schema's rows). Empty when a form can be
    offered."""
    fk_columns = {c for fk in info.foreign_keys for c in fk.columns}
    blockers = [
        f"`{a.name}` ({a.type}) is required and cannot be entered in a form; insert these "
        "rows from code."
        for a in info.heading
        if a.name not in inherited
        and a.name not in fk_columns
        and not_enterable(a)
        and not a.nullable
        and a.default is None
    ]
    return blockers + [
        f"choosing `{', '.join(fk.columns)}` needs at least the role viewer on schema "
        f"`{fk.parent.database}`."
        for fk in _hidden_parents(info, inherited, user)
    ]


def _hidden_parents(info, inherited: frozenset, user) -> list:
    """Foreign keys (not inherited) to parents in schemas ``user`` may not view."""
    if user is None:
        return []
    return [
        fk
        for fk in info.foreign_keys
        if not set(fk.columns) <= inherited and not roles.may(user, "view", fk.parent.database)
    ]


def form_class_for(
    info, inherited: frozenset = frozenset(), user=None
) -> tuple[type[TableForm], list[str]]:
    """Build the form class of a table's row, skipping ``inherited`` columns (a part's
    master key).

    Returns:
        ``(form class, blockers)``: blockers name required attributes that cannot be
        entered (e.g. a required ``<blob>``); with any, no form should be offered.
    """
    fields: dict = {}
    fk_fields: dict = {}
    attribute_field: dict = {}
    not_entered: list = []
    blockers = blockers_of(info, inherited, user)
    hidden = {fk.columns for fk in _hidden_parents(info, inherited, user)}
    fk_of = {
        c: fk
        for fk in info.foreign_keys
        for c in fk.columns
        if c not in inherited and fk.columns not in hidden  # their keys are never read
    }
    for attr in info.heading:
        if attr.name in inherited:
            continue
        fk = fk_of.get(attr.name)
        if fk is not None:
            name = "fk_" + "__".join(fk.columns)
            if name not in fields:
                fields[name] = _fk_field(fk, info)
                fk_fields[name] = fk
            attribute_field[attr.name] = name
        elif not not_enterable(attr):
            fields[attr.name] = field_for(attr)
            attribute_field[attr.name] = attr.name
        else:
            not_entered.append((attr.name, attr.type))
    key_fields = {attribute_field[n] for n in info.heading.primary_key if n in attribute_field}
    attrs = dict(
        fields,
        table=info,
        fk_fields=fk_fields,
        attribute_field=attribute_field,
        key_fields=key_fields,
        not_entered=not_entered,
    )
    return type(f"{info.class_name.replace('.', '')}Form", (TableForm,), attrs), blockers


def _fk_field(fk, info):
    """ONE searchable picker for a foreign key, filling all its columns."""
    return picker_field(fk, info, fk_service.parent_of(fk))


class EntryForms:
    """The master form plus one formset per part table, bound to ``data`` (and uploaded
    ``files``, e.g. ``request.FILES``) when given."""

    def __init__(self, info, parts, data=None, files=None, user=None):
        self.info = info
        form_class, self.blockers = form_class_for(info, user=user)
        self.form = form_class(data, files)
        self.parts = []  # [(part info, formset, blockers)]
        for index, part in enumerate(parts):
            inherited = frozenset(
                c for fk in part.foreign_keys if fk.parent == info.ref for c in fk.columns
            )
            part_class, part_blockers = form_class_for(part, inherited, user)
            formset_class = forms.formset_factory(part_class, extra=0 if data is not None else 1)
            formset = (
                formset_class(data, files, prefix=f"part{index}") if not part_blockers else None
            )
            self.parts.append((part, formset, part_blockers))

    def is_multipart(self) -> bool:
        """True when a file is uploaded (``enctype="multipart/form-data"`` needed)."""
        return self.form.is_multipart() or any(
            fs.empty_form.is_multipart() for _, fs, _ in self.parts if fs is not None
        )

    def is_valid(self) -> bool:
        """Django-level validation of every form (required fields, choices)."""
        results = [self.form.is_valid()] + [
            fs.is_valid() for _, fs, _ in self.parts if fs is not None
        ]
        return all(results)

    def _entered(self, formset) -> list:
        """The formset's forms that were filled in (blank rows are ignored)."""
        return [f for f in formset.forms if f.has_changed()]

    def part_rows(self) -> dict[str, list[dict]]:
        """Part table name -> rows entered (values by attribute)."""
        return {
            part.table_name: [f.row() for f in self._entered(fs)]
            for part, fs, _ in self.parts
            if fs is not None
        }

    def add_problems(self, problems) -> None:
        """Put each :class:`~pipeline_core.services.Problem` beside its field (or row)."""
        part_forms = {
            part.full_name: self._entered(fs) for part, fs, _ in self.parts if fs is not None
        }
        for problem in problems:
            form = self.form
            if problem.table is not None and problem.table in part_forms:
                rows = part_forms[problem.table]
                if problem.row is None or problem.row >= len(rows):
                    self.form.add_error(None, problem.message)
                    continue
                form = rows[problem.row]
            field = form.attribute_field.get(problem.attribute)
            if field is not None and field in form.fields:
                form.add_error(field, problem.message)
            else:
                form.add_error(None, problem.message)

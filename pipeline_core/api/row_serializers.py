"""Serializers of the rows API (``.../rows/``, ``.../rows/delete/``, ``batches/<id>/undo/``):
request bodies (validated, then handed to :mod:`pipeline_core.services.rows`) and responses
(built through them, and documented by them in the OpenAPI schema). The shapes are the
contract of issue #12; ``tests/web/test_api_rows.py`` checks them."""

from __future__ import annotations

from rest_framework import serializers

from pipeline_core.services.rows import MAX_PAGE

_VALUES = "attribute -> value: JSON values, or text as typed or pasted (converted by type)"


class RowsPageQuerySerializer(serializers.Serializer):
    """Query parameters of ``GET .../rows/``."""

    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=100)
    after = serializers.CharField(required=False, help_text="`next` of the previous page")


class HeadingItemSerializer(serializers.Serializer):
    """One attribute of the table's heading."""

    name = serializers.CharField()
    type = serializers.CharField()
    in_key = serializers.BooleanField()
    nullable = serializers.BooleanField()
    comment = serializers.CharField(allow_blank=True)


class RowsPageSerializer(serializers.Serializer):
    """One keyset page: rows in primary-key order (values as the query API encodes them)
    and the cursor of the next page (null on the last)."""

    rows = serializers.ListField(child=serializers.DictField())
    next = serializers.CharField(allow_null=True)
    heading = HeadingItemSerializer(many=True)


class UpdateSerializer(serializers.Serializer):
    """One ``update1``: the whole primary key of an existing row, and the secondary
    attributes to set."""

    key = serializers.DictField(help_text="the row's primary key")
    set = serializers.DictField(help_text="secondary attributes -> new values")


class SaveRowsSerializer(serializers.Serializer):
    """``POST .../rows/``: new rows, part rows (by part class name, e.g. `Trial`, each
    holding its master's key) and updates, saved in one transaction, or only checked."""

    rows = serializers.ListField(child=serializers.DictField(), default=list, help_text=_VALUES)
    parts = serializers.DictField(
        child=serializers.ListField(child=serializers.DictField()), default=dict
    )
    updates = UpdateSerializer(many=True, default=list)
    dry_run = serializers.BooleanField(default=False)


class ProblemSerializer(serializers.Serializer):
    """One problem of a batch: which list (`rows`, `parts.<Part>`, `updates`), which row
    (0-based index in that list), the table's full name, the attribute (or null) and why."""

    list = serializers.CharField()
    row = serializers.IntegerField()
    table = serializers.CharField()
    attribute = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class BatchErrorSerializer(serializers.Serializer):
    """A refused batch (400): every problem; nothing was written."""

    errors = ProblemSerializer(many=True)


class ResolvedSerializer(serializers.Serializer):
    """A foreign-key cell whose text was resolved: the parent's values it stands for."""

    list = serializers.CharField()
    row = serializers.IntegerField()
    values = serializers.DictField()


class CheckedSerializer(serializers.Serializer):
    """A dry run (200): the problems (empty: the batch would be accepted) and the
    foreign-key cells resolved."""

    errors = ProblemSerializer(many=True)
    resolved = ResolvedSerializer(many=True)


class SavedSerializer(serializers.Serializer):
    """A saved batch (201): rows inserted (part rows included), rows updated, the batch id
    (for undo) and the primary key of each new row of the table."""

    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    batch = serializers.CharField()
    keys = serializers.ListField(child=serializers.DictField())


class UpdatedSerializer(serializers.Serializer):
    """``PATCH .../rows/`` done: one row updated, in batch ``batch``."""

    updated = serializers.IntegerField()
    batch = serializers.CharField()


class DeleteRowsSerializer(serializers.Serializer):
    """``POST .../rows/delete/``: the rows, by a condition (the JSON query description's
    `where` form) or a list of primary keys; `dry_run` (default true) previews the cascade."""

    restriction = serializers.JSONField(required=False)
    keys = serializers.ListField(child=serializers.DictField(), required=False)
    dry_run = serializers.BooleanField(default=True)


class DeletedSerializer(serializers.Serializer):
    """The cascade: rows per table (full names; tables with rows to delete, and the table
    itself); after the delete also the rows deleted from the table and the batch id."""

    counts = serializers.DictField(child=serializers.IntegerField())
    deleted = serializers.IntegerField(required=False)
    batch = serializers.CharField(required=False)


class UndoneSerializer(serializers.Serializer):
    """An undone batch: its id, the id of the undo's own batch, rows deleted (those the
    batch inserted) and rows restored (those it updated)."""

    undone = serializers.CharField()
    batch = serializers.CharField()
    deleted = serializers.IntegerField()
    restored = serializers.IntegerField()

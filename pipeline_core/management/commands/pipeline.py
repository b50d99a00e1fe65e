"""``manage.py pipeline ...``: run pipelines from the command line, through the services.

* ``demo [--populate]`` declares the demo pipeline (schemas ``<prefix>demo_lab`` and
  ``<prefix>demo_imaging``, prefix = ``LABBOOK_SCHEMA_PREFIX``) and loads its input; with
  ``--populate`` it also computes ``Detection`` in this process. Idempotent.
* ``populate SCHEMA TABLE`` populates one table in this process (job reservation, so it
  can run beside workers).
* ``jobs SCHEMA TABLE`` prints the progress and the job counts of a table.
* ``inspect SCHEMA [SCHEMA ...] [--format json|text]`` prints the introspection of any
  DataJoint (2.x or 0.14) schemas on the server: one JSON document, or each table's
  ``describe()``.
* ``gc STORE [--dry-run] [--schema SCHEMA ...] [--min-age SECONDS]`` lists the objects of
  a store (from ``LABBOOK_STORES``) that no row references and, without ``--dry-run``,
  deletes them. Only the visible schemas (or those named) are examined; other databases'
  objects stay, and so do objects younger than ``--min-age`` (default a day), which may
  belong to a transaction still running.

SCHEMA may be given with or without the prefix; TABLE as a class name (``Detection``,
``Session.Trial``) or a table name (``__detection``).
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from pipeline_core import datamodel as dm
from pipeline_core import services


class Command(BaseCommand):
    """Declare the demo, populate a table, or show its jobs."""

    help = (
        "Pipelines: `demo [--populate]`, `populate SCHEMA TABLE`, `jobs SCHEMA TABLE`, "
        "`inspect SCHEMA [SCHEMA ...] [--format json|text]`, `gc STORE [--dry-run]`."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        demo = sub.add_parser("demo", help="declare the demo pipeline and load its input")
        demo.add_argument("--populate", action="store_true", help="also compute Detection")
        for name, text in (
            ("populate", "populate one table in this process"),
            ("jobs", "print the progress and job counts of a table"),
        ):
            action = sub.add_parser(name, help=text)
            action.add_argument("schema")
            action.add_argument("table")
        inspect = sub.add_parser("inspect", help="print the introspection of schemas")
        inspect.add_argument("schemas", nargs="+")
        inspect.add_argument("--format", choices=("json", "text"), default="json")
        inspect.add_argument("--no-counts", action="store_true", help="skip exact row counts")
        gc = sub.add_parser("gc", help="list (and delete) objects of a store no row references")
        gc.add_argument("store")
        gc.add_argument("--dry-run", action="store_true", help="only list, delete nothing")
        gc.add_argument(
            "--schema",
            action="append",
            dest="gc_schemas",
            metavar="SCHEMA",
            help="examine only this schema (repeatable)",
        )
        gc.add_argument(
            "--min-age",
            type=float,
            default=86400.0,
            metavar="SECONDS",
            help="keep unreferenced objects younger than this (default 86400: a day)",
        )

    def handle(self, *args, **options):
        try:
            services.begin_request()
            services.act_as(services.cli_actor(), "cli")  # a shell on the server
            if options["action"] == "demo":
                self.demo(options["populate"])
            elif options["action"] == "inspect":
                if options["format"] == "json":
                    report = services.inspect_schemas(
                        options["schemas"], row_counts=not options["no_counts"]
                    )
                    self.stdout.write(json.dumps(report, indent=2, default=str))
                else:
                    self.stdout.write(services.describe_schemas(options["schemas"]))
            elif options["action"] == "gc":
                self.gc(
                    options["store"], options["dry_run"], options["gc_schemas"], options["min_age"]
                )
            elif options["action"] == "populate":
                self.populate(services.resolve_table(options["schema"], options["table"]).full_name)
            else:
                self.jobs(services.resolve_table(options["schema"], options["table"]))
        except dm.DataJointError as exc:
            raise CommandError(str(exc)) from exc

    def demo(self, populate: bool) -> None:
        """Declare and load the demo; optionally populate Detection."""
        from pipelines import demo

        prefix = services.schema_prefix()
        namespace = demo.declare(services.connection(), prefix)
        demo.load(namespace)
        self.stdout.write(
            f"Demo declared in {prefix}demo_lab and {prefix}demo_imaging; input loaded "
            f"({len(namespace.Subject())} subjects, {len(namespace.Image())} images)."
        )
        if populate:
            self.populate(namespace.Detection.full_table_name)

    def populate(self, full_table_name: str) -> None:
        """Populate one table, printing each key as it is done."""
        info = services.table_named(full_table_name)
        status = services.populate_status(info.database, info.table_name)
        self.stdout.write(
            f"{full_table_name}: {status['remaining']} of {status['total']} keys to compute"
        )
        counter = {"n": 0, "start": time.monotonic()}

        def on_key(key: dict, outcome: str) -> None:
            counter["n"] += 1
            shown = " · ".join(f"{k}={v}" for k, v in key.items())
            self.stdout.write(f"  [{counter['n']}/{status['remaining']}] {outcome}: {shown}")

        result = services.populate(full_table_name, on_key=on_key)
        seconds = time.monotonic() - counter["start"]
        self.stdout.write(
            f"{result['success_count']} computed, {result['error_count']} errors in {seconds:.1f} s"
        )
        for message in result["errors"]:
            self.stderr.write(f"  error: {message}")

    def gc(self, store: str, dry_run: bool, schemas: list[str] | None, min_age: float) -> None:
        """Print the unreferenced objects of a store; delete them unless ``dry_run``."""
        if min_age < 0:
            raise CommandError("--min-age must be 0 or more seconds")
        report = services.collect_garbage(store, dry_run=dry_run, schemas=schemas, min_age=min_age)
        for path, size in report.orphans:
            self.stdout.write(f"{size:>12}  {path}")
        verb = "would delete" if dry_run else "deleted"
        count = len(report.orphans) if dry_run else report.deleted
        self.stdout.write(
            f"store {report.store}: {report.stored} objects in {len(report.databases)} schemas, "
            f"{report.referenced} referenced, {len(report.orphans)} unreferenced "
            f"({report.orphan_bytes} bytes); {verb} {count}; {report.recent} unreferenced but "
            f"younger than {min_age:g} s and {report.outside} objects of other databases left alone"
        )

    def jobs(self, info) -> None:
        """Print progress and job status counts."""
        status = services.populate_status(info.database, info.table_name, error_limit=5)
        self.stdout.write(
            f"{info.full_name}: {status['done']} of {status['total']} done, "
            f"{status['remaining']} remaining"
        )
        for name in ("pending", "reserved", "error", "ignore"):
            self.stdout.write(f"  {name:9} {status[name]}")
        for error in status["errors"]:
            shown = " · ".join(f"{k}={v}" for k, v in error["key"].items())
            self.stdout.write(f"  error {shown}: {error['message']}")

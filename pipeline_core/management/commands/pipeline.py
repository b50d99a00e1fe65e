"""``manage.py pipeline ...``: run pipelines from the command line, through the services.

* ``demo [--populate]`` declares the demo pipeline (schemas ``<prefix>demo_lab`` and
  ``<prefix>demo_imaging``, prefix = ``LABBOOK_SCHEMA_PREFIX``) and loads its input; with
  ``--populate`` it also computes ``Detection`` in this process. Idempotent.
* ``populate SCHEMA TABLE`` populates one table in this process (job reservation, so it
  can run beside workers).
* ``jobs SCHEMA TABLE [--list] [--status S,...]`` prints the progress and the job counts of
  a table (with ``--list``, its first jobs: key, status, host, pid, error message).
* ``retry SCHEMA TABLE (--all-errors | --error-contains TEXT | --key JSON ...)``,
  ``ignore SCHEMA TABLE --key JSON ... [--unignore]`` and
  ``priority SCHEMA TABLE N [--key JSON ...]``, each with ``--dry-run``: the jobs console's
  actions (:mod:`pipeline_core.services.jobs`), each changed job an audit event.
* ``runs [--schema SCHEMA] [--cancel RUN]`` lists the populate runs (newest first) or
  cancels one; ``workers`` prints the Celery nodes and worker processes (the workers view).
* ``inspect SCHEMA [SCHEMA ...] [--format json|text]`` prints the introspection of any
  DataJoint (2.x or 0.14) schemas on the server: one JSON document, or each table's
  ``describe()``.
* ``gc STORE [--dry-run] [--schema SCHEMA ...] [--min-age SECONDS]`` lists the objects of
  a store (from ``LABBOOK_STORES``) that no row references and, without ``--dry-run``,
  deletes them. Only the visible schemas (or those named) are examined; other databases'
  objects stay, and so do objects younger than ``--min-age`` (default a day), which may
  belong to a transaction still running.
* ``recover [SCHEMA [TABLE]]`` returns the stale reservations of dead workers to
  ``pending`` now (or marks them ``error`` "worker lost" after ``LABBOOK_MAX_ATTEMPTS``
  recoveries), over every visible schema's jobs tables or those named; celery beat runs the
  same every 30 s (task ``recover_stale``).

SCHEMA may be given with or without the prefix; TABLE as a class name (``Detection``,
``Session.Trial``) or a table name (``__detection``).

Who acts: every action takes ``--user NAME``, a LabBook user whose role
(:mod:`pipeline_core.roles`) must allow the action on every schema it touches: ``populate``
needs ``operator`` (so do ``retry``, ``ignore``, ``priority`` and cancelling a run), ``jobs``
and ``inspect`` need ``viewer``, ``demo`` needs ``admin`` on
both demo schemas (it declares tables), ``recover`` needs ``operator`` on every schema it
examines, and ``gc`` needs ``admin`` on every schema examined.
Without ``--user`` the OS user running the command is trusted as an administrator: a shell
on the server (with its database credentials) is already beyond the role system. Either
way the work runs as that :class:`~pipeline_core.principal.Actor` (source ``cli``), which
services read with :func:`pipeline_core.principal.current_actor`.
"""

from __future__ import annotations

import argparse
import json
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from pipeline_core import datamodel as dm
from pipeline_core import roles, services
from pipeline_core.principal import Actor
from pipeline_core.services.access import prefixed_databases


class Command(BaseCommand):
    """Declare the demo, populate a table, or show its jobs."""

    help = (
        "Pipelines: `demo [--populate]`, `populate SCHEMA TABLE`, `jobs SCHEMA TABLE`, "
        "`inspect SCHEMA [SCHEMA ...] [--format json|text]`, `gc STORE [--dry-run]`, "
        "`recover [SCHEMA [TABLE]]`; each "
        "with `--user NAME` to act as a LabBook user (role checked)."
    )

    def add_arguments(self, parser):
        # every action takes --user (after the action's name); its default is set once, here
        parser.set_defaults(user=None)
        acting = argparse.ArgumentParser(add_help=False)
        acting.add_argument(
            "--user",
            default=argparse.SUPPRESS,
            metavar="NAME",
            help="act as this LabBook user, whose role must allow the action "
            "(default: the OS user, trusted as an administrator)",
        )
        sub = parser.add_subparsers(dest="action", required=True)
        demo = sub.add_parser(
            "demo", parents=[acting], help="declare the demo pipeline and load its input"
        )
        demo.add_argument("--populate", action="store_true", help="also compute Detection")
        for name, text in (
            ("populate", "populate one table in this process"),
            ("jobs", "print the progress and job counts of a table"),
        ):
            action = sub.add_parser(name, parents=[acting], help=text)
            action.add_argument("schema")
            action.add_argument("table")
            if name == "populate":
                action.add_argument(
                    "--queue",
                    action="store_true",
                    help="start a run on the Celery workers instead (prints the run id)",
                )
                action.add_argument(
                    "--restriction",
                    type=json.loads,
                    metavar="JSON",
                    help='with --queue: a condition on key_source, e.g. \'{"attribute": '
                    '"subject_id", "operator": "=", "value": 1}\'',
                )
                action.add_argument("--priority", type=int, default=5, help="with --queue")
                action.add_argument("--limit", type=int, help="with --queue: at most N keys")
            if name == "jobs":
                action.add_argument(
                    "--list", action="store_true", help="also list the jobs (first 50)"
                )
                action.add_argument("--status", help="with --list: only these statuses (a,b)")
        keyed = argparse.ArgumentParser(add_help=False)
        keyed.add_argument("schema")
        keyed.add_argument("table")
        keyed.add_argument(
            "--key",
            action="append",
            dest="keys",
            type=json.loads,
            metavar="JSON",
            help="a job's key, e.g. '{\"subject_id\": 1}' (repeatable)",
        )
        keyed.add_argument("--dry-run", action="store_true", help="only count, change nothing")
        retry = sub.add_parser(
            "retry", parents=[acting, keyed], help="retry error jobs (they become pending)"
        )
        retry.add_argument("--all-errors", action="store_true", help="every error job")
        retry.add_argument("--error-contains", metavar="TEXT", help="errors with this text")
        ignore = sub.add_parser(
            "ignore", parents=[acting, keyed], help="ignore the jobs of --key (or unignore)"
        )
        ignore.add_argument("--unignore", action="store_true", help="remove their ignore rows")
        priority = sub.add_parser(
            "priority",
            parents=[acting, keyed],
            help="set the priority of pending and error jobs (all, or those of --key)",
        )
        priority.add_argument("priority", type=int, help="lower runs sooner (-128..127)")
        runs = sub.add_parser("runs", parents=[acting], help="list populate runs, or cancel one")
        runs.add_argument("--schema", help="only runs of this schema")
        runs.add_argument("--cancel", metavar="RUN", help="cancel this run")
        sub.add_parser("workers", parents=[acting], help="list Celery nodes and worker processes")
        inspect = sub.add_parser(
            "inspect", parents=[acting], help="print the introspection of schemas"
        )
        inspect.add_argument("schemas", nargs="+")
        inspect.add_argument("--format", choices=("json", "text"), default="json")
        inspect.add_argument("--no-counts", action="store_true", help="skip exact row counts")
        recover = sub.add_parser(
            "recover",
            parents=[acting],
            help="return stale reservations of dead workers to pending",
        )
        recover.add_argument("schema", nargs="?", help="only this schema's jobs tables")
        recover.add_argument("table", nargs="?", help="only this table's jobs")
        gc = sub.add_parser(
            "gc", parents=[acting], help="list (and delete) objects of a store no row references"
        )
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

    def acting(self, username: str | None) -> Actor:
        """The actor of this command: ``--user NAME`` (an active LabBook user, checked by
        role), else the trusted OS user (:meth:`Actor.shell`).

        Raises:
            CommandError: no active user of that name.
        """
        if username is None:
            return Actor.shell()
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None or not user.is_active:
            raise CommandError(f"--user {username}: no active LabBook user of that name")
        return Actor.of_user(user, "cli")

    def handle(self, *args, **options):
        actor = self.acting(options["user"])
        try:
            with services.serving(actor):
                self.run(actor, options)
        except roles.RoleRequired as exc:
            raise CommandError(f"--user {actor.name}: {exc}") from exc
        except dm.DataJointError as exc:
            raise CommandError(str(exc)) from exc

    def run(self, actor: Actor, options: dict) -> None:
        """Check ``actor``'s role for the action on every schema it touches, then do it."""
        services.begin_request()
        action = options["action"]
        if action == "demo":
            prefix = services.schema_prefix()
            for name in ("demo_lab", "demo_imaging"):
                actor.check("declare", prefix + name)
            self.demo(options["populate"])
        elif action == "inspect":
            for schema in options["schemas"]:
                actor.check("view", schema)
            if options["format"] == "json":
                report = services.inspect_schemas(
                    options["schemas"], row_counts=not options["no_counts"]
                )
                self.stdout.write(json.dumps(report, indent=2, default=str))
            else:
                self.stdout.write(services.describe_schemas(options["schemas"]))
        elif action == "gc":
            for schema in options["gc_schemas"] or prefixed_databases():
                actor.check("gc", schema)
            self.gc(options["store"], options["dry_run"], options["gc_schemas"], options["min_age"])
        elif action == "recover":
            schema = options["schema"]
            prefix = services.schema_prefix()
            if schema is not None and prefix and not schema.startswith(prefix):
                schema = prefix + schema
            for name in services.visible_schemas() if schema is None else [schema]:
                actor.check("populate", name)
            self.recover(schema, options["table"])
        elif action == "populate":
            info = services.resolve_table(options["schema"], options["table"])
            actor.check("populate", info.database)
            if options["queue"]:
                run = services.start_run(
                    info.database,
                    info.table_name,
                    actor.user,
                    restriction=options["restriction"],
                    priority=options["priority"],
                    limit=options["limit"],
                    source="cli",
                    trusted=actor.trusted,
                )
                self.stdout.write(f"run {run.id}: {run.keys_todo} keys, {run.tasks} tasks")
            elif options["restriction"] is not None or options["limit"] is not None:
                raise CommandError("--restriction and --limit start a run: add --queue")
            else:
                self.populate(info.full_name)
        elif action in ("retry", "ignore", "priority"):
            info = services.resolve_table(options["schema"], options["table"])
            actor.check("populate" if action == "priority" else action, info.database)
            self.job_action(action, info, actor, options)
        elif action == "runs":
            self.runs(actor, options["schema"], options["cancel"])
        elif action == "workers":
            self.workers(actor)
        else:
            info = services.resolve_table(options["schema"], options["table"])
            actor.check("view", info.database)
            self.jobs(info, options["list"], options["status"])

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

    def recover(self, schema: str | None, table: str | None) -> None:
        """Recover stale reservations now; print each job changed and a summary."""
        result = services.recover_stale(schema, table)
        for job in result["jobs"]:
            shown = " · ".join(f"{k}={v}" for k, v in job["key"].items())
            self.stdout.write(
                f"  {job['table']} {shown}: {job['outcome']} ({job['reason']}; "
                f"{job['host']} pid {job['pid']}, connection {job['connection_id']}, "
                f"attempt {job['attempts']})"
            )
        self.stdout.write(
            f"{result['recovered']} stale jobs recovered: {result['pending']} pending again, "
            f"{result['error']} marked error (worker lost)"
        )

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

    def job_action(self, action: str, info, actor: Actor, options: dict) -> None:
        """Retry, ignore or reprioritise jobs through the same services as the console (each
        changed job an audit event); print the count."""
        common = {"keys": options["keys"], "dry_run": options["dry_run"]}
        unignore = options.get("unignore", False)
        schema, table = info.database, info.table_name
        if action == "retry":
            count = services.retry_jobs(
                schema,
                table,
                actor.user,
                all_errors=options["all_errors"],
                error_contains=options["error_contains"],
                **common,
            )
        elif action == "ignore":
            if not options["keys"]:
                raise CommandError("ignore: name the jobs with --key JSON (repeatable)")
            count = services.ignore_jobs(schema, table, actor.user, unignore=unignore, **common)
        else:
            count = services.reprioritize_jobs(
                schema, table, actor.user, priority=options["priority"], **common
            )
        verb = {"retry": "retried", "ignore": "unignored" if unignore else "ignored"}
        done = verb.get(action, "reprioritised")
        self.stdout.write(
            f"{info.full_name}: {count} jobs {'would be ' if options['dry_run'] else ''}{done}"
        )

    def runs(self, actor: Actor, schema: str | None, cancel: str | None) -> None:
        """List the runs the actor may view (newest first), or cancel one."""
        if cancel is not None:
            run = services.cancel_run(cancel, actor.user)
            self.stdout.write(f"run {run.id}: {run.status}")
            return
        for run in services.list_runs(actor.user, schema=schema)[0]:
            self.stdout.write(
                f"{run.id}  {run.status:9} {run.schema}.{run.table}  by {run.username or '-'}"
                f"  {run.created:%Y-%m-%d %H:%M:%S}  {run.success} done, {run.errors} errors,"
                f" {run.skipped} skipped of {run.keys_todo}"
            )

    def workers(self, actor: Actor) -> None:
        """Print the Celery nodes and the worker processes (the workers view)."""
        body = services.list_workers(actor.user, fresh=True)
        self.stdout.write(body["broker"]["message"])
        for node in body["nodes"]:
            state = "online" if node["online"] else "offline"
            self.stdout.write(
                f"node {node['name']}: {state}, queues {','.join(node['queues'] or [])}, "
                f"concurrency {node['concurrency']}"
            )
        for proc in body["processes"]:
            state = "online" if proc["online"] else f"offline ({proc['reason']})"
            key = json.dumps(proc["key"]) if proc["key"] else "-"
            self.stdout.write(
                f"process {proc['host']} pid {proc['pid']}: {state}, run {proc['run'] or '-'}, "
                f"computing {proc['table'] or '-'} {key}, last seen {proc['last_seen']}"
            )

    def jobs(self, info, listing: bool = False, statuses: str | None = None) -> None:
        """Print progress and job status counts (and with ``listing`` the first jobs)."""
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
        if listing:
            page = services.list_jobs(info.database, info.table_name, status=statuses)
            for job in page["jobs"]:
                shown = " · ".join(f"{k}={v}" for k, v in job["key"].items())
                where = f"{job.get('host') or '-'} pid {job.get('pid') or '-'}"
                message = (job.get("error_message") or "")[:120]
                self.stdout.write(f"  job {shown}  {job['status']}  {where}  {message}".rstrip())

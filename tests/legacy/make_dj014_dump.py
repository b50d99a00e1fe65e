"""Build the legacy DataJoint 0.14 fixture that ``tests/legacy/test_dj014.py`` reads.

Run with the REAL DataJoint 0.14 in its own virtual environment — never in LabBook's
``.venv``, whose ``datajoint`` is 2.3.5 (the test oracle). The committed fixture was made
with **datajoint 0.14.6** (PyMySQL 1.2.4, numpy 2.4.6, pandas 3.1.1, Python 3.11.7) on
MariaDB 10.11.19::

    python3 -m venv /tmp/dj014
    /tmp/dj014/bin/pip install 'datajoint==0.14.6'
    /tmp/dj014/bin/python tests/legacy/make_dj014_dump.py        # from the repository root

Options: ``--host`` (127.0.0.1), ``--port`` (3306), ``--user`` (root), ``--password`` ('').

What it does:

1. Declares into a scratch database ``lbk_dj014_<pid>`` a small 0.14 pipeline: a Lookup
   with contents, Manuals with native types (unsigned integers, ``varchar``, ``date``,
   ``enum``, ``decimal``, ``float`` with a NULL default, ``uuid``), plain ``longblob`` /
   ``mediumblob`` attributes holding DataJoint blobs (numpy arrays, a dict, a compressed
   array, a string, a list), an in-table ``attach``, external ``blob@extstore``,
   ``attach@extstore`` and ``filepath@fpstore`` (file stores under a temporary
   directory), a Part table, a renamed foreign key (``-> Subject.proj(partner_id=
   'subject_id')``), a nullable foreign key, a uuid primary key used as a foreign key, an
   Imported table, and a Computed table with a Part populated with ``reserve_jobs=True``
   where one key fails, so that ``~jobs`` (with an ``error`` row), ``~log`` and
   ``~external_extstore`` / ``~external_fpstore`` exist.
2. Dumps that database with ``mariadb-dump`` to ``tests/legacy/dj014.sql``. The dump has
   no ``CREATE DATABASE``/``USE``, and foreign keys inside the database are unqualified
   (checked), so it loads into any database. The scratch name, which 0.14 also wrote into
   table comments and ``~log`` events, is replaced by the placeholder
   :data:`DB_PLACEHOLDER` (``__LEGACY_DB__``): a loader substitutes the target database
   name. Blobs are dumped as hex (``--hex-blob``), so the substitution never touches blob
   bytes, and the script checks that the scratch name appears nowhere, not even in hex.
3. Copies the external store files 0.14 wrote to ``tests/legacy/stores/``:
   ``stores/extstore/`` holds what 0.14 put under ``{location}/{database}/`` (hash
   subfolders ``xx/yy/<hash>[.<attachment name>]``) — the database level is dropped, since
   it is the database's name; ``stores/fpstore/`` holds what 0.14 put under the filepath
   store's ``location`` (relative paths as inserted).
4. Writes ``tests/legacy/dj014_expected.json``: for each table (hidden ones included)
   what 0.14 itself reports — tier and class name (from the declared classes, checked
   against ``dj.VirtualModule``), master, primary key, per-attribute ``type``,
   ``sql_type``, the server's column type, ``in_key``, ``nullable``, ``default``,
   ``autoincrement``,
   ``comment``, ``is_blob``/``is_attachment``/``is_filepath``/``is_external``/``uuid``/
   ``store``, foreign keys (parent and ``attr_map``, from ``Table.parents``), and the rows
   0.14 fetched for every non-external column, serialised by :func:`to_jsonable`
   (arrays as ``{"__ndarray__": nested list, "dtype", "shape"}``, bytes as hex, ...).
   In-table attachments are recorded as ``{"__attach__": name, "hex": contents}`` (0.14
   fetch downloads them and returns the path). External values (external blob, external
   attach, filepath) are recorded apart under ``external_values`` with the column's raw
   16-byte hash, for a later reader of the stores.
5. Drops the scratch database and the temporary stores.

This module imports ``datajoint`` only inside :func:`main`, so tests can import
:func:`to_jsonable` from LabBook's environment.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DUMP = HERE / "dj014.sql"
EXPECTED = HERE / "dj014_expected.json"
STORES = HERE / "stores"

#: Stands for the database name in the dump and in the expectations.
DB_PLACEHOLDER = "__LEGACY_DB__"

#: Fixed values so that re-running the script gives the same fixture (up to timestamps,
#: hosts, process ids and connection ids in ``~jobs``/``~log``/``~external_*``).
RIG_UUIDS = [
    uuid.UUID("6c3f1a52-9d1e-4b7a-8a51-0f2d4c6e8b01"),
    uuid.UUID("a1b2c3d4-e5f6-4711-8899-aabbccddeeff"),
]
SESSION_UUIDS = [
    uuid.UUID("00000000-0000-4000-8000-000000000001"),
    uuid.UUID("0f0e0d0c-0b0a-4908-8706-050403020100"),
    uuid.UUID("ffffffff-ffff-4fff-bfff-ffffffffffff"),
]


# ------------------------------------------------------------------------------------------
# JSON form of fetched values (shared with the tests)
# ------------------------------------------------------------------------------------------


def to_jsonable(value):
    """JSON-able form of a fetched value, keeping numpy dtypes and shapes.

    ndarray -> ``{"__ndarray__": nested list, "dtype": str, "shape": list}`` (object
    arrays: elements converted recursively); numpy scalar -> ``{"__npscalar__": item,
    "dtype"}``; bytes -> ``{"__bytes__": hex}``; dict -> ``{"__dict__": [[key, value],
    ...]}`` (keys converted too, order kept); tuple -> ``{"__tuple__": [...]}``; list ->
    list; ``Decimal``/``UUID``/``date``/``datetime``/``timedelta`` -> tagged strings;
    float NaN/inf -> ``{"__float__": "nan"}``; str/int/bool/None/finite float as is.
    """
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            data = _nested(value, lambda x: to_jsonable(x))
        elif value.dtype.kind in "SU":
            data = _nested(value, lambda x: x.decode("latin-1") if isinstance(x, bytes) else str(x))
        elif value.dtype.kind == "c":
            data = _nested(
                value, lambda x: [to_jsonable(float(x.real)), to_jsonable(float(x.imag))]
            )
        elif value.dtype.kind == "M":
            data = _nested(value, str)
        else:
            data = _nested(value, lambda x: to_jsonable(x.item()))
        return {"__ndarray__": data, "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return {"__npscalar__": to_jsonable(value.item()), "dtype": value.dtype.str}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, dict):
        return {"__dict__": [[to_jsonable(k), to_jsonable(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [to_jsonable(v) for v in value]}
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, decimal.Decimal):
        return {"__decimal__": str(value)}
    if isinstance(value, uuid.UUID):
        return {"__uuid__": str(value)}
    if isinstance(value, datetime.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"__date__": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"__timedelta__": value.total_seconds()}
    raise TypeError(f"cannot serialise {type(value).__name__}: {value!r}")


def _nested(array: np.ndarray, convert):
    if array.ndim == 0:
        return convert(array[()])
    return [
        _nested(sub, convert) if sub.ndim else convert(sub[()])
        for sub in (array[i] for i in range(array.shape[0]))
    ]


def column_value(value, is_blob: bool):
    """JSON form of one column value as 0.14 fetched it: numpy scalars produced by 0.14's
    record-array fetch are plain Python values for non-blob columns (the dtype is an
    artefact of 0.14's fetch, not of the stored data); blob contents keep their types."""
    if not is_blob and isinstance(value, np.generic):
        value = value.item()
    return to_jsonable(value)


# ------------------------------------------------------------------------------------------
# the 0.14 pipeline
# ------------------------------------------------------------------------------------------


def declare_pipeline(dj, database: str, work: Path):
    """Declare and fill the pipeline; return ``(schema, classes)``."""
    schema = dj.schema(database)

    @schema
    class Kind(dj.Lookup):
        definition = """
        # kinds of session
        kind: varchar(10)          # short code
        ---
        description: varchar(60)
        """
        contents = [("rest", "resting state"), ("task", "behavioural task")]

    @schema
    class Rig(dj.Manual):
        definition = """
        rig_uuid: uuid             # rig identifier
        ---
        rig_name: varchar(20)
        """

    @schema
    class Subject(dj.Manual):
        definition = """
        # experimental subjects
        subject_id: int unsigned   # subject number
        ---
        subject_name: varchar(30)
        dob: date                  # date of birth
        sex: enum('F', 'M', 'U')
        weight=null: float         # grams
        species="mouse": varchar(20)
        litter_size=0: tinyint unsigned
        """

    @schema
    class Pairing(dj.Manual):
        definition = """
        # pairs of subjects (renamed foreign key)
        -> Subject
        -> Subject.proj(partner_id='subject_id')
        ---
        affinity: decimal(5,2)
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session_id: smallint unsigned
        ---
        session_uuid: uuid
        -> [nullable] Kind
        -> Rig
        session_date: date
        data: longblob             # numpy array
        params: longblob           # dict
        note: attach               # in-table attachment
        ext: blob@extstore         # external blob
        att_ext: attach@extstore   # external attachment
        fp: filepath@fpstore       # file in the filepath store
        """

        class Trial(dj.Part):
            definition = """
            -> master
            trial_id: tinyint unsigned
            ---
            outcome: enum('hit', 'miss', 'none')
            signal=null: mediumblob    # may be NULL
            """

    @schema
    class Recording(dj.Imported):
        definition = """
        -> Session
        ---
        n_samples: bigint unsigned
        trace: longblob
        """

        def make(self, key):
            data = (Session & key).fetch1("data")
            trace = np.asarray(data, dtype=np.float64).ravel() * 2.0
            self.insert1(dict(key, n_samples=trace.size, trace=trace))

    @schema
    class Summary(dj.Computed):
        definition = """
        -> Recording
        ---
        n_trials: int unsigned
        mean_value: double
        stats: longblob
        """

        class Detail(dj.Part):
            definition = """
            -> master
            -> Session.Trial
            ---
            score: float
            """

        def make(self, key):
            if key["session_id"] == 2:
                raise ValueError(f"deliberate failure for session {key['session_id']}")
            trace = (Recording & key).fetch1("trace")
            trials = (Session.Trial & key).fetch("KEY", order_by="trial_id")
            self.insert1(
                dict(
                    key,
                    n_trials=len(trials),
                    mean_value=float(np.mean(trace)),
                    stats=dict(
                        min=float(trace.min()),
                        max=float(trace.max()),
                        n=int(trace.size),
                        label="summary",
                    ),
                )
            )
            self.Detail.insert(dict(t, score=0.5 * t["trial_id"]) for t in trials)

    # ---- contents ----
    Rig.insert([(RIG_UUIDS[0], "rig-A"), (RIG_UUIDS[1], "rig-B")])
    Subject.insert1(
        dict(
            subject_id=1,
            subject_name="Alpha",
            dob=datetime.date(2023, 1, 15),
            sex="F",
            weight=21.5,
            litter_size=6,
        )
    )  # default species
    Subject.insert1(
        dict(
            subject_id=2,
            subject_name="Bravo",
            dob=datetime.date(2023, 3, 2),
            sex="M",
            species="rat",
        )
    )  # NULL weight
    Subject.insert1(
        dict(
            subject_id=4000000000,
            subject_name="Unsigned",
            sex="U",
            dob=datetime.date(2022, 12, 31),
            weight=30.25,
            litter_size=255,
            species="mouse",
        )
    )
    Pairing.insert(
        [
            dict(subject_id=1, partner_id=2, affinity=decimal.Decimal("0.75")),
            dict(subject_id=2, partner_id=4000000000, affinity=decimal.Decimal("-12.50")),
        ]
    )

    attach_dir = work / "attach"
    attach_dir.mkdir()
    stage = Path(dj.config["stores"]["fpstore"]["stage"])
    (stage / "raw" / "s1").mkdir(parents=True)
    files = {}
    for i, (name, text) in enumerate(
        [
            ("notes1.txt", "first session notes\n"),
            ("notes2.txt", "second\nsession\n"),
            ("readme.md", "# third\n"),
        ],
        start=1,
    ):
        files[f"note{i}"] = attach_dir / name
        files[f"note{i}"].write_text(text)
        files[f"ext{i}"] = attach_dir / f"ext{i}.csv"
        files[f"ext{i}"].write_text(f"t,v\n0,{i}\n1,{i * 2}\n")
        files[f"fp{i}"] = stage / "raw" / "s1" / f"rec{i}.dat"
        files[f"fp{i}"].write_bytes(bytes(range(i, i + 16)))

    sessions = [
        dict(
            subject_id=1,
            session_id=1,
            session_uuid=SESSION_UUIDS[0],
            kind="rest",
            rig_uuid=RIG_UUIDS[0],
            session_date=datetime.date(2024, 5, 1),
            data=np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32),
            params={"gain": 2.5, "channels": [1, 2, 3], "name": "fast", "on": True},
            ext=np.arange(6, dtype=np.float32).reshape(2, 3),
        ),
        dict(
            subject_id=1,
            session_id=2,
            session_uuid=SESSION_UUIDS[1],
            kind=None,
            rig_uuid=RIG_UUIDS[1],
            session_date=datetime.date(2024, 5, 2),
            data=np.linspace(0.0, 1.0, 200),  # compressed (ZL123)
            params={"gain": 0.5, "nested": {"a": np.array([1.5, 2.5]), "b": "x"}},
            ext={"what": "external dict", "n": 3},
        ),
        dict(
            subject_id=4000000000,
            session_id=65535,
            session_uuid=SESSION_UUIDS[2],
            kind="task",
            rig_uuid=RIG_UUIDS[0],
            session_date=datetime.date(2024, 6, 30),
            data=np.array([True, False, True]),
            params={"empty": [], "text": "héllo", "int": 7},
            ext=np.array([1.0, np.nan]),
        ),
    ]
    for i, row in enumerate(sessions, start=1):
        row.update(
            note=str(files[f"note{i}"]), att_ext=str(files[f"ext{i}"]), fp=str(files[f"fp{i}"])
        )
    Session.insert(sessions)
    Session.Trial.insert(
        [
            dict(
                subject_id=1,
                session_id=1,
                trial_id=1,
                outcome="hit",
                signal=np.array([0.1, 0.2, 0.3]),
            ),
            dict(subject_id=1, session_id=1, trial_id=2, outcome="miss", signal=None),
            dict(
                subject_id=1, session_id=2, trial_id=1, outcome="none", signal="a plain string blob"
            ),
            dict(
                subject_id=4000000000,
                session_id=65535,
                trial_id=255,
                outcome="hit",
                signal=[1, "two", 3.0],
            ),
        ]
    )
    Recording.populate()
    Summary.populate(reserve_jobs=True, suppress_errors=True)
    classes = [
        Kind,
        Rig,
        Subject,
        Pairing,
        Session,
        Session.Trial,
        Recording,
        Summary,
        Summary.Detail,
    ]
    return schema, classes


# ------------------------------------------------------------------------------------------
# expectations
# ------------------------------------------------------------------------------------------


_TIERS = ("Lookup", "Manual", "Imported", "Computed", "Part")


def tier_of_class(cls) -> str:
    return next(
        base.__name__
        for base in cls.__mro__
        if base.__name__ in _TIERS and base.__module__.startswith("datajoint")
    )


def describe_heading(dj, table, database: str) -> dict:
    """The 0.14 heading of one table, plus the server's column types."""
    server = {
        row["Field"]: row["Type"]
        for row in table.connection.query(
            f"SHOW FULL COLUMNS FROM `{table.table_name}` IN `{database}`", as_dict=True
        )
    }
    attributes = {}
    for name, attr in table.heading.attributes.items():
        attributes[name] = dict(
            type=attr.type,
            sql_type=attr.sql_type,
            server_type=server[name],
            in_key=attr.in_key,
            nullable=attr.nullable,
            default=attr.default,
            autoincrement=attr.autoincrement,
            comment=attr.comment,
            is_blob=attr.is_blob,
            is_attachment=attr.is_attachment,
            is_filepath=attr.is_filepath,
            is_external=attr.is_external,
            uuid=attr.uuid,
            store=attr.store,
        )
    return dict(
        primary_key=list(table.primary_key), attribute_names=list(attributes), attributes=attributes
    )


def fetch_rows(table, heading: dict, download: Path) -> tuple[list, list]:
    """Rows 0.14 fetches, ordered by primary key: (in-table values, external values)."""
    rows, external = [], []
    for row in table.fetch(as_dict=True, order_by=table.primary_key, download_path=str(download)):
        key = {k: column_value(row[k], False) for k in heading["primary_key"]}
        values, ext = {}, {}
        for name, value in row.items():
            attr = heading["attributes"][name]
            if attr["is_external"] or attr["is_filepath"]:
                ext[name] = _stored_value(table, row, name, attr, value)
            elif attr["is_attachment"]:
                path = Path(value)
                values[name] = {"__attach__": path.name, "hex": path.read_bytes().hex()}
            else:
                values[name] = column_value(value, attr["is_blob"])
        rows.append(values)
        if ext:
            external.append(dict(key=key, values=ext))
    return rows, external


def _stored_value(table, row, name, attr, value) -> dict:
    raw = (table & {k: row[k] for k in table.primary_key}).proj(raw_hash_hex=f"hex(`{name}`)")
    entry = {"hash_hex": raw.fetch1("raw_hash_hex").lower()}
    if attr["is_attachment"] or attr["is_filepath"]:
        path = Path(value)
        entry.update(file_name=path.name, hex=path.read_bytes().hex())
    else:
        entry["value"] = to_jsonable(value)
    return entry


def foreign_keys(table) -> list:
    return sorted(
        (
            dict(
                parent=name.split(".")[1].strip("`"),
                attr_map=dict(props["attr_map"]),
                primary=props["primary"],
            )
            for name, props in table.parents(foreign_key_info=True)
        ),
        key=lambda fk: (fk["parent"], sorted(fk["attr_map"].items())),
    )


def build_expectations(dj, schema, classes, database: str, download: Path) -> dict:
    virtual = dj.VirtualModule("legacy_virtual", database)
    tables = {}
    for cls in classes:
        table = cls()
        heading = describe_heading(dj, table, database)
        rows, external = fetch_rows(table, heading, download)
        tier = tier_of_class(cls)
        master = cls.master.table_name if tier == "Part" else None
        class_name = cls.__qualname__.split("<locals>.")[-1]
        # what 0.14 derives from the database alone must agree with the declared classes
        owner = getattr(virtual, class_name.split(".")[0])
        virtual_cls = getattr(owner, class_name.split(".")[1]) if "." in class_name else owner
        assert virtual_cls.table_name == cls.table_name, (virtual_cls, cls)
        assert tier_of_class(virtual_cls) == tier, (virtual_cls, tier)
        tables[cls.table_name] = dict(
            class_name=class_name,
            tier=tier,
            master=master,
            comment=table.heading.table_status["comment"],
            foreign_keys=foreign_keys(table),
            rows=rows,
            external_values=external,
            **heading,
        )
    hidden = {}
    for name, table in [
        ("~jobs", schema.jobs),
        ("~log", schema.log),
        ("~external_extstore", schema.external["extstore"]),
        ("~external_fpstore", schema.external["fpstore"]),
    ]:
        heading = describe_heading(dj, table, database)
        rows = [
            {k: column_value(v, heading["attributes"][k]["is_blob"]) for k, v in row.items()}
            for row in table.fetch(as_dict=True, order_by=table.primary_key)
        ]
        hidden[name] = dict(comment=table.heading.table_status["comment"], rows=rows, **heading)
    all_tables = [r[0] for r in schema.connection.query(f"SHOW TABLES IN `{database}`").fetchall()]
    return dict(
        datajoint_version=dj.__version__,
        database_placeholder=DB_PLACEHOLDER,
        server_version=schema.connection.query("SELECT VERSION()").fetchone()[0],
        all_tables=sorted(all_tables),
        stores={
            "extstore": {
                "protocol": "file",
                "location": "stores/extstore",
                "note": "0.14 object path = {location}/{database}/xx/yy/<hash>; "
                "the {database} level is dropped in this copy",
            },
            "fpstore": {"protocol": "file", "location": "stores/fpstore"},
        },
        tables=tables,
        hidden_tables=hidden,
    )


# ------------------------------------------------------------------------------------------
# dump
# ------------------------------------------------------------------------------------------


def dump_database(args, database: str) -> str:
    cmd = [
        "mariadb-dump",
        f"--host={args.host}",
        f"--port={args.port}",
        f"--user={args.user}",
        "--no-create-db",
        "--skip-comments",
        "--skip-dump-date",
        "--hex-blob",
        "--skip-add-locks",
        "--skip-disable-keys",
        "--order-by-primary",
        "--skip-triggers",
        "--skip-routines",
        "--skip-events",
        "--single-transaction",
        database,
    ]
    env = dict(os.environ, MYSQL_PWD=args.password)
    text = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    # MariaDB >= 10.11.8 prepends a client-only sandbox directive; a server rejects it
    text = "\n".join(line for line in text.splitlines() if not line.startswith("/*M!999999")) + "\n"
    if re.search(r"^\s*USE\b|CREATE DATABASE", text, re.M | re.I):
        raise RuntimeError("the dump selects or creates a database")
    for match in re.finditer(r"REFERENCES (`[^`]*`(?:\.`[^`]*`)?)", text):
        if "." in match.group(1):
            raise RuntimeError(f"qualified foreign key reference {match.group(1)}")
    text = text.replace(database, DB_PLACEHOLDER)
    for needle in (database, database.encode().hex(), database.encode().hex().upper()):
        if needle in text:
            raise RuntimeError(f"the database name still appears in the dump as {needle!r}")
    return text


def copy_stores(store_root: Path, database: str) -> None:
    if STORES.exists():
        shutil.rmtree(STORES)
    shutil.copytree(store_root / "extstore" / database, STORES / "extstore")
    shutil.copytree(store_root / "fpstore", STORES / "fpstore")
    leftovers = [p for p in (store_root / "extstore").iterdir() if p.name != database]
    if leftovers:
        raise RuntimeError(f"unexpected files in the external store: {leftovers}")


def replace_name(obj, database: str):
    """Replace the scratch database name by the placeholder in every string of ``obj``."""
    if isinstance(obj, str):
        return obj.replace(database, DB_PLACEHOLDER)
    if isinstance(obj, list):
        return [replace_name(v, database) for v in obj]
    if isinstance(obj, dict):
        return {replace_name(k, database): replace_name(v, database) for k, v in obj.items()}
    return obj


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default="")
    args = parser.parse_args(argv)

    os.environ["DJ_SUPPORT_FILEPATH_MANAGEMENT"] = "TRUE"  # 0.14 keeps filepath behind a switch
    import datajoint as dj

    if not dj.__version__.startswith("0.14."):
        sys.exit(f"needs datajoint 0.14.x, found {dj.__version__} (see the module docstring)")

    database = f"lbk_dj014_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="dj014-"))
    store_root = work / "stores"
    for folder in (store_root / "extstore", store_root / "fpstore", work / "stage"):
        folder.mkdir(parents=True)
    dj.config.update(
        {
            "database.host": args.host,
            "database.port": args.port,
            "database.user": args.user,
            "database.password": args.password,
            "database.use_tls": False,
            "safemode": False,
            "display.limit": 1000,
            "loglevel": "WARNING",
            "stores": {
                "extstore": {"protocol": "file", "location": str(store_root / "extstore")},
                "fpstore": {
                    "protocol": "file",
                    "location": str(store_root / "fpstore"),
                    "stage": str(work / "stage"),
                },
            },
        }
    )
    conn = dj.conn()
    conn.query(f"DROP DATABASE IF EXISTS `{database}`")
    try:
        schema, classes = declare_pipeline(dj, database, work)
        download = work / "download"
        download.mkdir()
        expected = build_expectations(dj, schema, classes, database, download)
        expected = replace_name(expected, database)
        dump = dump_database(args, database)
        DUMP.write_text(dump)
        copy_stores(store_root, database)
        EXPECTED.write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    finally:
        conn.query(f"DROP DATABASE IF EXISTS `{database}`")
        shutil.rmtree(work, ignore_errors=True)
    size = (
        DUMP.stat().st_size
        + EXPECTED.stat().st_size
        + sum(p.stat().st_size for p in STORES.rglob("*") if p.is_file())
    )
    print(
        f"datajoint {dj.__version__}: wrote {DUMP.name}, {EXPECTED.name}, stores/ "
        f"({size} bytes in all)"
    )


if __name__ == "__main__":
    main()

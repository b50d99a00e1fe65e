r"""Definitions declared by LabBook and by ``datajoint`` 2.3.5 to compare the DDL, ``~lineage``
rows, headings and foreign keys they produce (spec §1–3, §7). Used by
``test_definition_matrix.py``.

``PARENTS`` are declared first in the main database of each side, ``OTHER`` in a second
database (cross-schema references are written ``other.Animal``). Every entry of ``ENTRIES``
declares one class (with its nested parts); each resulting table is one case of the matrix.
Definitions are raw strings: a backslash in them is a backslash in the definition text.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Entry:
    """A class to declare: ``name`` (class name), ``tier`` (Manual, Lookup, Computed,
    Imported), its ``definition``, nested ``parts`` as ``(name, definition)`` and Lookup
    ``contents`` as dicts."""

    name: str
    tier: str
    definition: str
    parts: tuple[tuple[str, str], ...] = ()
    contents: tuple[dict, ...] = ()


OTHER = [
    Entry(
        "Animal",
        "Manual",
        r"""
        # animals kept in another schema
        animal_id: varchar(8)         # tag
        ---
        species='mouse': varchar(32)
        """,
    ),
]

PARENTS = [
    Entry(
        "Subject",
        "Manual",
        r"""
        # subjects
        subject_id: int32             # unique subject id
        ---
        subject_name: varchar(64)
        """,
    ),
    Entry(
        "Session",
        "Manual",
        r"""
        -> Subject
        session_id: int16             # session number
        ---
        session_date: date
        """,
        parts=(
            (
                "Trial",
                r"""
        -> master
        trial_id: int16
        ---
        start=0: float64
        """,
            ),
        ),
    ),
    Entry(
        "Implant",
        "Manual",
        r"""
        -> Subject
        implant_id: int8
        """,
    ),
    Entry(
        "Kind",
        "Lookup",
        r"""
        kind: varchar(16)             # kind name
        ---
        label='': varchar(32)
        """,
        contents=({"kind": "a", "label": "A"}, {"kind": "b", "label": "B"}),
    ),
    Entry(
        "Probe",
        "Manual",
        r"""
        probe: uuid                   # probe serial
        """,
    ),
    Entry(
        "Shank",
        "Manual",
        r"""
        -> Probe
        shank: int8
        """,
    ),
    Entry("Day", "Manual", "day: date"),
    Entry(
        "Grade",
        "Lookup",
        r"""
        grade: enum('low', 'mid high', 'it''s')
        """,
        contents=({"grade": "low"}, {"grade": "it's"}),
    ),
    Entry("Money", "Manual", "amount: decimal(8,3)   # in euros"),
    Entry("Code", "Manual", "code: char(4)   # with 'quote', # hash and ünïcødé"),
    Entry("Unsigned", "Manual", "uid: int unsigned"),
    Entry("Stamp", "Manual", "ts: datetime(3)"),
    Entry("Counter", "Manual", "counter_id: int auto_increment"),
]


def _core(name: str, declared: str, key: bool = True) -> Entry:
    """One table per core type: the type in the primary key (when a key can hold it) and
    as a secondary attribute."""
    key_line = f"k: {declared}  # key of type {declared}" if key else "k: int32"
    return Entry(name, "Manual", f"{key_line}\n---\nv: {declared}\nn=null: {declared}")


def _native(name: str, declared: str, key: bool = False) -> Entry:
    key_line = f"k: {declared}" if key else "id: int32"
    return Entry(name, "Manual", f"{key_line}\n---\nv: {declared}   # native {declared}")


def _codec(name: str, declared: str) -> Entry:
    return Entry(name, "Manual", f"id: int32\n---\nv: {declared}   # codec\nw=null: {declared}")


#: Names at the limits: 64 characters for a table name; 56 for a table with foreign keys,
#: whose server-generated constraint name ``<table>_ibfk_1`` MariaDB 10.11 refuses from 64
#: characters on ("Identifier name ... is too long", errno 1059, for both libraries).
LONG_MANUAL = "Long" + "x" * 60  # 64 characters
LONG_LOOKUP = "Longlookup" + "w" * 53  # "#" + 63 characters
LONG_COMPUTED = "Longcomputed" + "y" * 42  # "__" + 54 characters, with a foreign key
LONG_PART = "Part" + "z" * 48  # "lm__" + 52 characters, with a foreign key

ENTRIES = [
    # --- table comment, sections, comment lines -------------------------------------
    Entry(
        "CommentPlain",
        "Manual",
        r"""
        # a plain table comment
        id: int32
        ---
        v: int32
        """,
    ),
    Entry(
        "CommentQuotes",
        "Manual",
        r"""
        # it's a 'comment' with # hash, colon: and ünïcødé ☃
        id: int32
        """,
    ),
    Entry("NoSecondary", "Manual", "id: int32   # no dashes at all"),
    Entry(
        "LongDashes",
        "Manual",
        r"""
        id: int32
        ----------------
        v: int32
        """,
    ),
    Entry(
        "CommentLines",
        "Manual",
        r"""
        # the table comment

        # an ignored comment line
        id: int32
            # another ignored line, indented
        ---

        v: int32
        # trailing comment line
        """,
    ),
    Entry(
        "Spacing",
        "Manual",
        r"""
        id:int32#tight
        ---
        a = 5   :   int16    #   loose
        b="x y":varchar(8)
        """,
    ),
    # --- defaults ---------------------------------------------------------------------
    Entry(
        "DefSingle",
        "Manual",
        r"""
        id: int32
        ---
        a='it''s': varchar(16)
        b='say "hi"': varchar(16)
        c='a#b:c': varchar(16)        # has # and : inside
        d='': varchar(16)
        """,
    ),
    Entry(
        "DefDouble",
        "Manual",
        r"""
        id: int32
        ---
        a="say \"hi\"": varchar(16)
        b="it's": varchar(16)
        c="x:y # z": varchar(16)      # quoted default with : and #
        d="": char(2)
        """,
    ),
    Entry(
        "DefBackslash",
        "Manual",
        r"""
        id: int32
        ---
        a='back\\slash': varchar(16)
        b="two\\\\": varchar(16)
        c='under\_score_': varchar(16)
        """,
    ),
    Entry(
        "DefEscapes",
        "Manual",
        r"""
        id: int32
        ---
        a='tab\tin': varchar(16)
        b="a\"b\\c": varchar(16)
        c='\x': varchar(16)
        """,
    ),
    Entry(
        "DefNumbers",
        "Manual",
        r"""
        id: int32
        ---
        a=0: int32
        b=20.5: float32
        c=-1: int16
        d=-2.5: float64
        e=1.25: decimal(6,2)
        f=1: bool
        g=-128: int8
        h=9007199254740993: int64
        i=1e3: float64
        j='7': int32
        """,
    ),
    Entry(
        "DefTimestamps",
        "Manual",
        r"""
        id: int32
        ---
        a=CURRENT_TIMESTAMP: datetime
        b=CURRENT_TIMESTAMP(3): datetime(3)
        c=current_timestamp: datetime
        d=CURRENT_TIMESTAMP(6): datetime(6)
        """,
    ),
    Entry(
        "DefNull",
        "Manual",
        r"""
        id: int32
        ---
        a=null: int32
        b=NULL: varchar(8)
        c=null: <blob>
        d=null: json
        e=null: uuid
        f=Null: date
        g=null: bytes
        """,
    ),
    Entry(
        "DefEnum",
        "Manual",
        r"""
        id: int32
        ---
        e='b': enum('a', 'b')
        f="it's": enum('it''s', 'x y')
        """,
    ),
    Entry(
        "DefDates",
        "Manual",
        r"""
        id: int32
        ---
        d='2024-02-29': date
        t="2024-02-29 12:30:00": datetime
        """,
    ),
    Entry(
        "DefNative",
        "Manual",
        r"""
        id: int32
        ---
        t='12:30:00': time
        y=2024: year
        ts=CURRENT_TIMESTAMP: timestamp
        u=7: int unsigned
        s='txt': text
        """,
    ),
    # --- attribute comments -----------------------------------------------------------
    Entry(
        "AttrComments",
        "Manual",
        r"""
        id: int32       # a "double" and 'single' quote
        ---
        a: int32        # hash # inside
        b: int32        # ünïcødé ☃ — dash
        c: int32        #no space
        d: int32        #
        e: varchar(8)   # ends with a colon:
        f: int32        # points -> somewhere, not a foreign key
        g='a->b': varchar(8)
        """,
    ),
    Entry(
        "ReservedWords",
        "Manual",
        r"""
        index: int32                  # an attribute named like the index keyword
        ---
        unique: int16
        key='k': varchar(8)
        unique index(unique, key)
        """,
    ),
    Entry(
        "EnumHash",
        "Manual",
        r"""
        e: enum('a#b', 'c:d', 'x y')#tight comment
        ---
        f='a#b': enum('a#b', 'c')
        """,
    ),
    # --- core types -------------------------------------------------------------------
    _core("CoreInt8", "int8"),
    _core("CoreInt16", "int16"),
    _core("CoreInt32", "int32"),
    _core("CoreInt64", "int64"),
    _core("CoreFloat32", "float32"),
    _core("CoreFloat64", "float64"),
    _core("CoreBool", "bool"),
    _core("CoreDecimal", "decimal(8,3)"),
    _core("CoreDecimalSpaced", "decimal(10, 0)"),
    _core("CoreChar", "char(4)"),
    _core("CoreVarchar", "varchar(255)"),
    _core("CoreDate", "date"),
    _core("CoreDatetime", "datetime"),
    _core("CoreDatetime6", "datetime(6)"),
    _core("CoreEnum", "enum('a b', 'it''s', 'x')"),
    _core("CoreUuid", "uuid"),
    _core("CoreJson", "json", key=False),
    _core("CoreBytes", "bytes", key=False),
    # --- native types -----------------------------------------------------------------
    _native("NativeIntUnsigned", "int unsigned", key=True),
    _native("NativeSmallintUnsigned", "smallint unsigned", key=True),
    _native("NativeTinyintUnsigned", "tinyint unsigned"),
    _native("NativeBigintUnsigned", "bigint unsigned"),
    _native("NativeDouble", "double"),
    _native("NativeFloat", "float"),
    _native("NativeFloatMD", "float(7,3)"),
    _native("NativeTimestamp", "timestamp"),
    _native("NativeTime", "time", key=True),
    _native("NativeYear", "year"),
    _native("NativeText", "text"),
    _native("NativeMediumblob", "mediumblob"),
    _native("NativeLongblob", "longblob"),
    _native("NativeDecimalUnsigned", "decimal(5,2) unsigned"),
    _native("NativeMediumint", "mediumint"),
    _native("NativeVarchar", "varchar( 20 )"),
    Entry(
        "NativeAutoIncrement",
        "Manual",
        r"""
        row_id: int auto_increment    # surrogate key
        ---
        v: int32
        """,
    ),
    # --- codecs -----------------------------------------------------------------------
    _codec("CodecBlob", "<blob>"),
    _codec("CodecBlobStore", "<blob@store>"),
    _codec("CodecAttach", "<attach>"),
    _codec("CodecAttachStore", "<attach@store>"),
    _codec("CodecHashStore", "<hash@store>"),
    _codec("CodecObjectStore", "<object@store>"),
    _codec("CodecNpyStore", "<npy@store>"),
    _codec("CodecFilepathStore", "<filepath@store>"),
    # --- foreign keys -----------------------------------------------------------------
    Entry(
        "FkPlain",
        "Manual",
        r"""
        -> Subject
        rec: int16
        """,
    ),
    Entry(
        "FkNullable",
        "Manual",
        r"""
        id: int32
        ---
        -> [nullable] Subject
        """,
    ),
    Entry(
        "FkUnique",
        "Manual",
        r"""
        id: int32
        ---
        -> [unique] Subject
        """,
    ),
    Entry(
        "FkNullableUnique",
        "Manual",
        r"""
        id: int32
        ---
        -> [nullable, unique] Session
        """,
    ),
    Entry(
        "FkOptionCase",
        "Manual",
        r"""
        id: int32
        ---
        -> [ Unique ,NULLABLE ] Kind
        """,
    ),
    Entry(
        "FkRenamed",
        "Manual",
        r"""
        -> Subject.proj(owner='subject_id')
        ---
        note='': varchar(8)
        """,
    ),
    Entry(
        "FkRenamedCompound",
        "Manual",
        r"""
        -> Session.proj(subj="subject_id", sess="session_id")
        """,
    ),
    Entry(
        "FkTwoRenamed",
        "Manual",
        r"""
        -> Session.proj(first_subject='subject_id', first_session='session_id')
        -> Session.proj(second_subject='subject_id', second_session='session_id')
        ---
        -> [unique] Subject.proj(reviewer='subject_id')
        """,
    ),
    Entry(
        "FkEmptyProj",
        "Manual",
        r"""
        -> Session.proj()
        ---
        v: int8
        """,
    ),
    Entry(
        "FkUniqueInKey",
        "Manual",
        r"""
        -> [unique] Kind
        id: int8
        """,
    ),
    Entry(
        "FkUuidRenamed",
        "Manual",
        r"""
        id: int32
        ---
        -> [nullable] Probe.proj(alt_probe='probe')
        """,
    ),
    Entry(
        "NoKeyWithFk",
        "Manual",
        r"""
        # a singleton pointing at a subject
        ---
        -> Subject
        """,
    ),
    Entry(
        "FkPartialRename",
        "Manual",
        r"""
        -> Session.proj(other_session='session_id')
        """,
    ),
    Entry(
        "FkToPart",
        "Manual",
        r"""
        -> Session.Trial
        ---
        score: float32
        """,
    ),
    Entry(
        "FkToPartRenamed",
        "Manual",
        r"""
        id: int32
        ---
        -> [nullable] Session.Trial.proj(t_subject='subject_id', """
        r"""t_session='session_id', t_trial='trial_id')
        """,
    ),
    Entry(
        "FkCrossSchema",
        "Manual",
        r"""
        -> other.Animal
        visit: int16
        """,
    ),
    Entry(
        "FkCrossSchemaSecondary",
        "Manual",
        r"""
        id: int32
        ---
        -> [nullable] other.Animal.proj(buddy='animal_id')
        """,
    ),
    Entry(
        "FkDiamond",
        "Manual",
        r"""
        -> Session
        -> Implant
        ---
        depth: float32
        """,
    ),
    Entry(
        "FkSecondarySection",
        "Manual",
        r"""
        id: int32
        ---
        -> Session
        note='': varchar(8)
        """,
    ),
    Entry(
        "FkPrimaryAndSecondary",
        "Manual",
        r"""
        -> Subject
        -> Kind
        ---
        -> Session.proj(ref_subject='subject_id')
        -> [nullable] Kind.proj(alt_kind='kind')
        """,
    ),
    Entry(
        "FkThenAttr",
        "Manual",
        r"""
        -> Subject
        subject_id: int32             # repeated after the foreign key
        x: int16
        """,
    ),
    Entry(
        "FkThenAttrSecondary",
        "Manual",
        r"""
        -> Subject
        ---
        subject_id: int64
        y: int16
        """,
    ),
    Entry(
        "AttrThenFk",
        "Manual",
        r"""
        subject_id: int32             # declared before its foreign key
        -> Subject
        """,
    ),
    Entry(
        "FkUuid",
        "Manual",
        r"""
        -> Probe
        ---
        v: int8
        """,
    ),
    Entry("FkUuidCompound", "Manual", "-> Shank"),
    Entry("FkDate", "Manual", "-> Day"),
    Entry("FkEnum", "Manual", "-> Grade\n---\n-> [nullable] Grade.proj(alt='grade')"),
    Entry("FkDecimal", "Manual", "-> Money"),
    Entry("FkChar", "Manual", "-> Code"),
    Entry("FkUnsigned", "Manual", "-> Unsigned"),
    Entry("FkDatetime", "Manual", "-> Stamp"),
    Entry("FkAutoIncrement", "Manual", "-> Counter"),
    # --- indexes ----------------------------------------------------------------------
    Entry(
        "IndexMulti",
        "Manual",
        r"""
        id: int32
        ---
        a: int32
        b: varchar(8)
        c: date
        index(a, b)
        unique index(b, c)    # comment after
        INDEX (c)
        UNIQUE INDEX(a)
        Unique Index (c, a)
        """,
    ),
    Entry(
        "IndexOnForeignKey",
        "Manual",
        r"""
        -> Subject
        id: int16
        ---
        -> [nullable] Kind
        index(kind)
        """,
    ),
    Entry(
        "IndexBeforeUniqueFk",
        "Manual",
        r"""
        id: int32
        ---
        x: int32
        index(subject_id, x)
        -> [unique] Subject
        """,
    ),
    Entry(
        "IndexBeforeColumns",
        "Manual",
        r"""
        id: int32
        index(a, id)
        ---
        unique index(b)
        a: int32
        b: varchar(8)
        """,
    ),
    # Functional JSON indexes (index(j.x:char(20))) are MySQL 8 syntax: MariaDB cannot
    # declare them (spec §12.4), so they are not in this matrix.
    # --- no primary key ---------------------------------------------------------------
    Entry(
        "NoKeyWithSecondary",
        "Manual",
        r"""
        # a singleton with attributes
        ---
        value=0: int32
        name="": varchar(8)
        """,
    ),
    Entry(
        "NoKeyAtAll",
        "Manual",
        r"""
        # a table with only a comment
        """,
    ),
    Entry(
        "NoKeyIndexOnly",
        "Manual",
        r"""
        ---
        a: int32
        index(a)
        """,
    ),
    # --- tiers, parts, contents --------------------------------------------------------
    Entry(
        "Summary",
        "Computed",
        r"""
        # per-session summary
        -> Session
        ---
        n: int32
        result=null: <blob>
        """,
        parts=(
            (
                "Detail",
                r"""
        -> master
        -> Session.Trial
        ---
        value: float64
        """,
            ),
        ),
    ),
    Entry(
        "Ingest",
        "Imported",
        r"""
        -> Subject
        -> Kind
        ---
        path: varchar(255)
        """,
        parts=(
            (
                "Chunk",
                r"""
        -> master
        chunk: int16
        ---
        size: int64
        """,
            ),
        ),
    ),
    Entry(
        "ComputedRenamed",
        "Computed",
        r"""
        -> Subject.proj(src='subject_id')
        ---
        v: float32
        """,
    ),
    Entry(
        "ComputedSecondaryFk",
        "Computed",
        r"""
        -> Session
        ---
        -> [nullable] Kind
        """,
    ),
    Entry(
        "Color",
        "Lookup",
        r"""
        # colors with contents
        color: varchar(16)
        ---
        rgb: char(7)
        weight=1.0: float32
        """,
        parts=(
            (
                "Shade",
                r"""
        -> master
        shade: int8
        ---
        name='': varchar(16)
        """,
            ),
        ),
        contents=(
            {"color": "red", "rgb": "#ff0000", "weight": 1.0},
            {"color": "blue", "rgb": "#0000ff", "weight": 0.5},
        ),
    ),
    Entry(
        "Rig",
        "Manual",
        r"""
        rig: varchar(8)
        """,
        parts=(
            (
                "Camera",
                r"""
        -> master
        camera: int8
        """,
            ),
            (
                "Mount",
                r"""
        -> Rig
        mount: int8
        """,
            ),
            (
                "Lens",
                r"""
        -> master
        -> Kind
        ---
        focal: float32
        -> [nullable] Rig.Camera
        """,
            ),
        ),
    ),
    # --- names ------------------------------------------------------------------------
    Entry(LONG_MANUAL, "Manual", "id: int32\n---\n" + "a" * 64 + ": int32"),
    Entry(LONG_LOOKUP, "Lookup", "id: int32"),
    Entry(LONG_COMPUTED, "Computed", "-> Subject"),
    Entry("Lm", "Manual", "lm: int8", parts=((LONG_PART, "-> master\nz: int8"),)),
    Entry("HTTPRequest", "Manual", "request_id: int64"),
    Entry("Trial3D", "Manual", "-> HTTPRequest\nt: int8"),
    Entry("KS", "Lookup", "ks: int8", contents=({"ks": 1},)),
    Entry("Session2Trial", "Imported", "-> Session.Trial"),
]

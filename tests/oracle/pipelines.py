"""A test pipeline declared twice — once by LabBook, once by ``datajoint`` — from the same
definitions, to compare DDL, ``~lineage``, headings and values (spec §2, §3, §7).

``SPEC`` lists ``(class name, tier, definition, parts, contents)`` in declaration order;
``declare(lib, schema)`` builds and decorates the classes with either library (both expose
Manual/Lookup/Computed/Part and a schema decorator taking ``context=``).
"""

from __future__ import annotations

SPEC = [
    (
        "Species",
        "Lookup",
        """
        # species kept in the lab
        species: varchar(32)              # latin name
        ---
        common_name='': varchar(64)
        """,
        [],
        [("mus musculus", "mouse"), ("rattus norvegicus", "rat")],
    ),
    (
        "Subject",
        "Manual",
        """
        # Experimental subjects
        subject_id: int32                 # unique subject id
        ---
        subject_name: varchar(100)        # name with "quotes"
        -> Species
        sex='U': enum('F', 'M', 'U')
        dob=null: date
        weight=20.5: float32
        alive=1: bool
        uid=null: uuid
        note=null: json
        score=null: decimal(8,3)
        code='': char(4)
        tiny=0: int8
        big=0: int64
        precise=0: float64
        created=CURRENT_TIMESTAMP: datetime
        stamp=null: datetime(3)
        photo=null: <blob>
        raw=null: bytes
        index(subject_name)
        """,
        [],
        [],
    ),
    (
        "Session",
        "Manual",
        """
        -> Subject
        session_id: int16
        ---
        session_date: date
        notes='': varchar(500)
        -> [nullable] Species.proj(alt_species='species')
        unique index(notes, session_date)
        """,
        [
            (
                "Trial",
                """
        -> master
        trial_id: int16
        ---
        start=0: float64
        """,
            )
        ],
        [],
    ),
    (
        "SessionPair",
        "Manual",
        """
        -> Session.proj(first_subject='subject_id', first_session='session_id')
        -> Session.proj(second_subject='subject_id', second_session='session_id')
        ---
        -> [unique] Subject.proj(reviewer='subject_id')
        """,
        [],
        [],
    ),
    (
        "Config",
        "Manual",
        """
        # a singleton
        ---
        value=0: int32
        """,
        [],
        [],
    ),
    (
        "Analysis",
        "Computed",
        """
        -> Session
        ---
        n_trials: int32
        result=null: <blob>
        """,
        [
            (
                "Detail",
                """
        -> master
        -> Session.Trial
        ---
        value: float64
        """,
            )
        ],
        [],
    ),
]


def declare(lib, schema) -> dict:
    """Declare SPEC in ``schema`` with library ``lib`` (``datajoint`` or LabBook's
    ``pipeline_core.datamodel``); return the classes by name."""
    context: dict = {}
    for name, tier, definition, parts, contents in SPEC:
        namespace = {"definition": definition}
        if contents:
            namespace["contents"] = contents
        for part_name, part_definition in parts:
            namespace[part_name] = type(part_name, (lib.Part,), {"definition": part_definition})
        if tier == "Computed":
            namespace["make"] = _analysis_make(context)
        cls = type(name, (getattr(lib, tier),), namespace)
        context[name] = schema(cls, context=context)
    return context


def _analysis_make(context):
    def make(self, key):
        import numpy as np

        trials = (context["Session"].Trial & key).keys()
        self.insert1(dict(key, n_trials=len(trials), result=np.arange(len(trials), dtype=np.int16)))
        self.Detail.insert([dict(t, value=float(t["trial_id"]) / 2) for t in trials])

    return make

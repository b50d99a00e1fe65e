"""The pipeline the query-algebra oracle runs on (issue 5): eleven tables with compound
keys, renamed and nullable foreign keys, a part table, lookups and blobs, declared by
``datajoint`` and filled with deterministic data, then read by both libraries.

``declare(lib, schema)`` decorates the classes with either library; ``rows(seed)`` gives
the contents, in insertion order, as ``{class name: [dict, ...]}``.
"""

from __future__ import annotations

import datetime
import random
import types

import numpy as np

DEFINITIONS = {
    "Species": (
        "Lookup",
        """
        species: varchar(16)
        ---
        common_name: varchar(32)
        """,
    ),
    "Lab": (
        "Lookup",
        """
        lab_id: char(4)
        ---
        lab_name: varchar(40)
        budget=null: decimal(10,2)
        """,
    ),
    "Subject": (
        "Manual",
        """
        subject_id: int32
        ---
        -> Species
        -> [nullable] Lab
        sex: enum('F', 'M', 'U')
        dob=null: date
        weight=null: float64
        notes='': varchar(200)
        """,
    ),
    "Experimenter": (
        "Manual",
        """
        experimenter: varchar(20)
        ---
        full_name: varchar(60)
        -> [nullable] Lab
        """,
    ),
    "Session": (
        "Manual",
        """
        -> Subject
        session_id: int16
        ---
        session_date: date
        -> [nullable] Experimenter
        duration=null: float32
        rig: varchar(8)
        """,
    ),
    "Stimulus": (
        "Lookup",
        """
        stim_id: int16
        ---
        stim_name: varchar(20)
        contrast: float64
        """,
    ),
    "Pairing": (
        "Manual",
        """
        -> Session.proj(first_subject='subject_id', first_session='session_id')
        -> Session.proj(second_subject='subject_id', second_session='session_id')
        ---
        pair_note='': varchar(40)
        """,
    ),
    "TrialStim": (
        "Manual",
        """
        -> Session.Trial
        -> Stimulus
        ---
        response=null: float64
        """,
    ),
    "Recording": (
        "Manual",
        """
        -> Session
        rec_id: int8
        ---
        fs: float64
        signal: <blob>
        """,
    ),
    "Analysis": (
        "Computed",
        """
        -> Recording
        ---
        mean_value: float64
        peak=null: float64
        """,
    ),
}
TRIAL = """
    -> master
    trial_id: int16
    ---
    side: enum('left', 'right', 'none')
    reaction_time=null: float64
    correct: bool
    """
ORDER = [
    "Species",
    "Lab",
    "Subject",
    "Experimenter",
    "Session",
    "Stimulus",
    "Pairing",
    "TrialStim",
    "Recording",
    "Analysis",
]


def declare(lib, schema) -> types.SimpleNamespace:
    """Declare the classes with ``lib`` (``datajoint`` or ``pipeline_core.datamodel``)."""
    context: dict = {}
    for name in ORDER:
        tier, definition = DEFINITIONS[name]
        namespace = {"definition": definition}
        if tier == "Computed":
            namespace["make"] = lambda self, key: None
        if name == "Session":
            namespace["Trial"] = type("Trial", (lib.Part,), {"definition": TRIAL})
        cls = type(name, (getattr(lib, tier),), namespace)
        context[name] = schema(cls, context=context)
    return types.SimpleNamespace(**context)


def rows(seed: int = 5) -> dict[str, list[dict]]:
    """Deterministic contents: 14 subjects, ~45 sessions, ~300 trials, pairings, stimuli,
    trial stimuli, recordings with blobs and analyses (some secondary values NULL)."""
    rng = random.Random(seed)
    data: dict[str, list[dict]] = {name: [] for name in [*ORDER, "Session.Trial"]}
    data["Species"] = [
        dict(species=s, common_name=c)
        for s, c in [
            ("mouse", "house mouse"),
            ("rat", "brown rat"),
            ("zebrafish", "zebra danio"),
            ("macaque", "rhesus macaque"),
        ]
    ]
    data["Lab"] = [
        dict(lab_id=lab, lab_name=n, budget=b)
        for lab, n, b in [
            ("L001", "Vision", "1200.50"),
            ("L002", "Motor", None),
            ("L003", "Memory", "90.00"),
        ]
    ]
    for i in range(1, 15):
        data["Subject"].append(
            dict(
                subject_id=i,
                species=rng.choice(["mouse", "mouse", "rat", "zebrafish"]),
                lab_id=rng.choice(["L001", "L002", "L003", None]),
                sex=rng.choice("FMU"),
                dob=None if i % 5 == 0 else datetime.date(2025, 1 + i % 12, 1 + i),
                weight=None if i % 4 == 0 else round(15 + rng.random() * 20, 2),
                notes=rng.choice(["", "it's quiet", "100% healthy", "a_b", "ok"]),
            )
        )
    data["Experimenter"] = [
        dict(experimenter=e, full_name=f, lab_id=lab)
        for e, f, lab in [
            ("alice", "Alice A.", "L001"),
            ("bob", "Bob B.", "L002"),
            ("carol", "Carol C.", None),
            ("dan", "Dan D.", "L001"),
        ]
    ]
    for subject in data["Subject"]:
        for session_id in range(1, rng.randint(1, 5) + 1):
            data["Session"].append(
                dict(
                    subject_id=subject["subject_id"],
                    session_id=session_id,
                    session_date=datetime.date(2026, 1 + session_id, 1 + subject["subject_id"]),
                    experimenter=rng.choice(["alice", "bob", "carol", None]),
                    duration=None if session_id == 3 else float(np.float32(30 + rng.random() * 30)),
                    rig=rng.choice(["rigA", "rigB"]),
                )
            )
    data["Stimulus"] = [
        dict(stim_id=k, stim_name=n, contrast=c)
        for k, n, c in [
            (1, "grating", 0.5),
            (2, "grating", 1.0),
            (3, "dots", 0.25),
            (4, "noise", 0.75),
            (5, "blank", 0.0),
        ]
    ]
    for session in data["Session"]:
        for trial_id in range(1, rng.randint(0, 12) + 1):
            key = dict(
                subject_id=session["subject_id"],
                session_id=session["session_id"],
                trial_id=trial_id,
            )
            data["Session.Trial"].append(
                dict(
                    key,
                    side=rng.choice(["left", "right", "none"]),
                    reaction_time=None if rng.random() < 0.15 else round(0.2 + rng.random(), 3),
                    correct=rng.random() < 0.6,
                )
            )
            for stim_id in rng.sample(range(1, 6), rng.randint(0, 2)):
                data["TrialStim"].append(
                    dict(
                        key,
                        stim_id=stim_id,
                        response=None if rng.random() < 0.2 else round(rng.random(), 4),
                    )
                )
    sessions = [(s["subject_id"], s["session_id"]) for s in data["Session"]]
    for first, second in rng.sample([(a, b) for a in sessions for b in sessions if a != b], 18):
        data["Pairing"].append(
            dict(
                first_subject=first[0],
                first_session=first[1],
                second_subject=second[0],
                second_session=second[1],
                pair_note=rng.choice(["", "same day", "control"]),
            )
        )
    for session in data["Session"][::2]:
        for rec_id in range(1, rng.randint(1, 3) + 1):
            signal = np.round(np.sin(np.arange(16) * (rec_id + session["session_id"])), 6)
            data["Recording"].append(
                dict(
                    subject_id=session["subject_id"],
                    session_id=session["session_id"],
                    rec_id=rec_id,
                    fs=rng.choice([1000.0, 2000.0, 30000.0]),
                    signal=signal,
                )
            )
    for rec in data["Recording"][::3]:
        data["Analysis"].append(
            dict(
                {k: rec[k] for k in ("subject_id", "session_id", "rec_id")},
                mean_value=float(rec["signal"].mean()),
                peak=None if rec["rec_id"] == 2 else float(rec["signal"].max()),
            )
        )
    return data


def load(ns, data: dict[str, list[dict]]) -> None:
    """Insert the contents through the classes of ``ns`` (either library)."""
    for name in ORDER:
        table = getattr(ns, name)
        if name == "Analysis":
            table.insert(data[name], allow_direct_insert=True)
        else:
            table.insert(data[name])
        if name == "Session":
            table.Trial.insert(data["Session.Trial"])

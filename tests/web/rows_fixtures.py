"""A small lab pipeline for the rows API, the grid and the entry benchmark: Subject,
Rig (Lookup), Session keyed by subject + datetime (an Elements-style compound key) with a
Trial part, and Scan below Session."""

from __future__ import annotations

import types

from pipeline_core import datamodel as dm


def declare_lab(conn, database: str) -> types.SimpleNamespace:
    """Declare the lab tables in a new schema ``database`` on ``conn``; Subject 1..3 and
    Rigs A, B inserted. Returns the classes."""
    schema = dm.Schema(database, connection=conn)

    @schema
    class Subject(dm.Manual):
        definition = """
        # a mouse
        subject_id: int32
        ---
        subject_name: varchar(40)   # the name people use
        sex: enum('M', 'F', 'U')
        birth=null: date
        """

    @schema
    class Rig(dm.Lookup):
        definition = """
        rig: varchar(8)
        ---
        room: varchar(20)
        """

    @schema
    class Session(dm.Manual):
        definition = """
        # a recording session
        -> Subject
        session_datetime: datetime
        ---
        -> Rig
        weight=null: decimal(5,2)   # grams
        n_spikes=null: int16
        notes="": varchar(20)
        """

        class Trial(dm.Part):
            definition = """
            -> master
            trial: int16
            ---
            outcome: enum('hit', 'miss')
            """

    @schema
    class Scan(dm.Manual):
        definition = """
        -> Session
        scan_id: int8
        ---
        depth=null: float32
        """

    Subject.insert(
        [
            {"subject_id": 1, "subject_name": "Mickey", "sex": "M"},
            {"subject_id": 2, "subject_name": "Minnie", "sex": "F"},
            {"subject_id": 3, "subject_name": "Pluto", "sex": "M"},
        ]
    )
    Rig.insert([{"rig": "A", "room": "101"}, {"rig": "B", "room": "102"}])
    return types.SimpleNamespace(
        schema=schema, Subject=Subject, Rig=Rig, Session=Session, Scan=Scan, database=database
    )

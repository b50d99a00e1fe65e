"""Schemas for the diagram tests (issue #14), declared under a test session's prefix:

* ``dgm_side``: ``Site``, a parent of ``dgm_core.Animal`` in another schema;
* ``dgm_core``: one foreign key of every kind DataJoint 2.3 draws differently:
  ``Session -> SessionQC`` the child's whole primary key (thick), ``Animal -> Session``
  and ``Session -> Session.Trial`` the child adds key attributes (thin),
  ``Experimenter -> Session`` secondary (dashed), ``Animal -> Pairing`` twice and
  ``Animal -> Nickname`` renamed (bronze; Nickname's is its whole key, so thick), and
  ``Experimenter -> Animal`` renamed and secondary (bronze, dashed);
* ``dgm_down``: ``Report`` and ``Summary``, children of ``dgm_core``'s tables;
* ``dgm_big``: :data:`BIG` tables (a root with a tree of children, three levels deep), the
  first :data:`BIG_USERS` of them with a secondary foreign key to ``dgm_core.Experimenter``
  so that ``dgm_core``'s diagram has more than ``COLLAPSE_ABOVE`` tables of other schemas.

:func:`declare` is idempotent (tables already declared are left as they are);
:func:`declared` declares them once per test session.
"""

from __future__ import annotations

import types

from pipeline_core import datamodel as dm

#: Number of tables of ``dgm_big``.
BIG = 44
#: Number of ``dgm_big`` tables referencing ``dgm_core.Experimenter``.
BIG_USERS = 14


def declare(conn, prefix: str) -> types.SimpleNamespace:
    """Declare the four schemas; returns their classes by name and ``big`` (list)."""
    side = dm.Schema(prefix + "dgm_side", connection=conn)

    @side
    class Site(dm.Lookup):
        definition = """
        site: varchar(8)
        ---
        city: varchar(40)
        """

    names = {"Site": Site}  # what the core's definitions name: grown as tables are declared
    core = dm.Schema(prefix + "dgm_core", connection=conn, context=names)

    @core
    class Experimenter(dm.Lookup):
        definition = """
        experimenter: varchar(16)
        """

    names["Experimenter"] = Experimenter

    @core
    class Animal(dm.Manual):
        definition = """
        animal_id: int32
        ---
        -> Site
        -> [nullable] Experimenter.proj(keeper="experimenter")
        """

    names["Animal"] = Animal

    @core
    class Session(dm.Manual):
        definition = """
        -> Animal
        session: int16
        ---
        -> Experimenter
        """

        class Trial(dm.Part):
            definition = """
            -> master
            trial: int16
            """

    names["Session"] = Session

    @core
    class SessionQC(dm.Computed):
        definition = """
        -> Session
        ---
        ok: bool
        """

    @core
    class Pairing(dm.Manual):
        definition = """
        -> Animal.proj(mother="animal_id")
        -> Animal.proj(father="animal_id")
        """

    @core
    class Nickname(dm.Manual):
        definition = """
        -> Animal.proj(named="animal_id")
        ---
        nick: varchar(20)
        """

    down = dm.Schema(
        prefix + "dgm_down", connection=conn, context={"Session": Session, "QC": SessionQC}
    )

    @down
    class Report(dm.Manual):
        definition = """
        -> Session
        report: int16
        """

    @down
    class Summary(dm.Manual):
        definition = """
        -> QC
        ---
        text: varchar(100)
        """

    big_schema = dm.Schema(prefix + "dgm_big", connection=conn)
    context = {"Experimenter": Experimenter, "Animal": Animal}
    root = type("Root", (dm.Manual,), {"definition": "-> Animal\nroot: int16\n"})
    big_schema(root, context=context)
    big = [root]
    for index in range(1, BIG):
        parent = big[(index - 1) // 3]
        definition = f"-> {parent.__name__}\nstage{index}: int16\n"
        if index <= BIG_USERS:
            definition += "---\n-> [nullable] Experimenter\n"
        cls = type(f"Stage{index:02d}", (dm.Manual,), {"definition": definition})
        big_schema(cls, context={**context, parent.__name__: parent})
        big.append(cls)
    return types.SimpleNamespace(
        Site=Site,
        Experimenter=Experimenter,
        Animal=Animal,
        Session=Session,
        SessionQC=SessionQC,
        Pairing=Pairing,
        Nickname=Nickname,
        Report=Report,
        Summary=Summary,
        big=big,
    )


#: Prefix -> the namespace :func:`declared` made for it (declared once per test session).
_DECLARED: dict[str, types.SimpleNamespace] = {}


def declared(conn, prefix: str) -> types.SimpleNamespace:
    """The classes of :func:`declare` on ``conn`` (declared on first use), plus ``conn`` and
    the four database names ``core``, ``side``, ``down`` and ``bigdb``."""
    if prefix not in _DECLARED:
        ns = declare(conn, prefix)
        _DECLARED[prefix] = types.SimpleNamespace(
            **vars(ns),
            conn=conn,
            core=ns.Animal.database,
            side=ns.Site.database,
            down=ns.Report.database,
            bigdb=ns.big[0].database,
        )
    return _DECLARED[prefix]

"""The oracle corpus of the query algebra (issue 5): each entry builds one query from a
namespace ``m`` holding the tables of :mod:`.query_pipeline` and the library's ``U``,
``Top``, ``AndList`` and ``Not``, so that the same lambda runs on ``datajoint`` and on
LabBook. ``ORDERED`` names the queries whose row order is defined (a Top).
"""

from __future__ import annotations

import datetime

CORPUS: dict[str, callable] = {}
ORDERED: set[str] = set()


def q(name: str, ordered: bool = False):
    def register(build):
        if name in CORPUS:
            raise ValueError(f"duplicate corpus entry {name}")
        CORPUS[name] = build
        if ordered:
            ORDERED.add(name)
        return build

    return register


def add(name: str, build, ordered: bool = False) -> None:
    q(name, ordered)(build)


# --- restriction by dict, list, AndList, Not, bool, string ----------------------------------
SUBJECT_CONDITIONS = {
    "pk": lambda m: {"subject_id": 3},
    "enum": lambda m: {"sex": "F"},
    "two_keys": lambda m: {"sex": "F", "species": "mouse"},
    "quote": lambda m: {"notes": "it's quiet"},
    "percent": lambda m: {"notes": "100% healthy"},
    "underscore": lambda m: {"notes": "a_b"},
    "null": lambda m: {"lab_id": None},
    "unknown_key": lambda m: {"no_such_attribute": 1},
    "partly_unknown": lambda m: {"sex": "M", "no_such_attribute": 1},
    "date": lambda m: {"dob": datetime.date(2025, 3, 3)},
    "date_text": lambda m: {"dob": "2025-03-03"},
    "float": lambda m: {"weight": 20.0},
    "or_list": lambda m: [{"subject_id": 1}, {"subject_id": 2}, {"subject_id": 13}],
    "empty_list": lambda m: [],
    "mixed_list": lambda m: [{"sex": "F"}, "weight > 30"],
    "tuple": lambda m: ({"species": "rat"}, {"species": "zebrafish"}),
    "andlist": lambda m: m.AndList([{"sex": "F"}, "weight > 20"]),
    "empty_andlist": lambda m: m.AndList([]),
    "not_dict": lambda m: m.Not({"sex": "F"}),
    "not_list": lambda m: m.Not([{"sex": "F"}, {"sex": "M"}]),
    "nested": lambda m: [
        m.AndList([{"sex": "F"}, m.Not({"species": "mouse"})]),
        {"subject_id": 14},
    ],
    "true": lambda m: True,
    "false": lambda m: False,
    "sql_compare": lambda m: "weight > 25",
    "sql_null": lambda m: "dob is null",
    "sql_like": lambda m: "notes like '%quiet%'",
    "sql_in": lambda m: "species in ('rat', 'zebrafish')",
    "sql_between": lambda m: "subject_id between 3 and 8",
    "sql_function": lambda m: "month(dob) > 6",
    "sql_or": lambda m: "sex = 'F' or weight is null",
}
for _name, _cond in SUBJECT_CONDITIONS.items():
    add(f"subject_and_{_name}", lambda m, c=_cond: m.Subject & c(m))
for _name in (
    "enum",
    "or_list",
    "andlist",
    "null",
    "sql_compare",
    "not_dict",
    "empty_list",
    "true",
):
    add(f"subject_minus_{_name}", lambda m, c=SUBJECT_CONDITIONS[_name]: m.Subject - c(m))

SESSION_CONDITIONS = {
    "date": lambda m: {"session_date": datetime.date(2026, 3, 4)},
    "date_range": lambda m: "session_date between '2026-02-01' and '2026-03-31'",
    "rig": lambda m: {"rig": "rigA"},
    "null_experimenter": lambda m: {"experimenter": None},
    "float32": lambda m: "duration > 45",
    "compound_pk": lambda m: {"subject_id": 2, "session_id": 1},
    "pk_list": lambda m: [{"subject_id": 2, "session_id": 1}, {"subject_id": 3, "session_id": 2}],
    "partial_pk": lambda m: {"session_id": 2},
}
for _name, _cond in SESSION_CONDITIONS.items():
    add(f"session_and_{_name}", lambda m, c=_cond: m.Session & c(m))
add("trial_correct_true", lambda m: m.Session.Trial & {"correct": True})
add("trial_correct_int", lambda m: m.Session.Trial & {"correct": 0, "side": "left"})
add("trial_reaction_sql", lambda m: m.Session.Trial & "reaction_time < 0.5")
add("trial_reaction_null", lambda m: m.Session.Trial & {"reaction_time": None})
add("trial_chain", lambda m: m.Session.Trial & {"side": "right"} & "trial_id > 3" & {"correct": 1})
add("lab_decimal", lambda m: m.Lab & "budget > 100")
add("lab_decimal_null", lambda m: m.Lab & {"budget": None})
add("stimulus_float", lambda m: m.Stimulus & {"contrast": 0.5})
add("analysis_float", lambda m: m.Analysis & "peak > 0.5")

# --- restriction by another query (semijoin / antijoin) ---------------------------------------
add("subject_with_sessions", lambda m: m.Subject & m.Session)
add("subject_without_sessions_in_rigb", lambda m: m.Subject - (m.Session & {"rig": "rigB"}))
add("session_with_correct_trials", lambda m: m.Session & (m.Session.Trial & {"correct": 1}))
add("session_without_trials", lambda m: m.Session - m.Session.Trial)
add("session_with_recording", lambda m: m.Session & m.Recording)
add("session_without_analysis", lambda m: m.Session - m.Analysis)
add("stimulus_used", lambda m: m.Stimulus & m.TrialStim)
add("stimulus_unused", lambda m: m.Stimulus - m.TrialStim)
add("experimenter_active", lambda m: m.Experimenter & m.Session)
add("experimenter_idle", lambda m: m.Experimenter - m.Session)
add("lab_without_subjects", lambda m: m.Lab - m.Subject)
add("lab_with_experimenters", lambda m: m.Lab & m.Experimenter)
add("subject_first_in_pair", lambda m: m.Subject & m.Pairing.proj(subject_id="first_subject"))
add(
    "session_second_in_pair",
    lambda m: m.Session & m.Pairing.proj(subject_id="second_subject", session_id="second_session"),
)
add(
    "trial_with_stimulus_grating",
    lambda m: m.Session.Trial & (m.TrialStim & (m.Stimulus & {"stim_name": "grating"})),
)
add("subject_by_class", lambda m: m.Species & m.Subject)
add(
    "restrict_by_aggregation",
    lambda m: m.Subject & (m.Subject.aggr(m.Session, n="count(*)") & "n > 2"),
)
add("restrict_by_u", lambda m: m.Session & (m.U("rig") & (m.Session & {"rig": "rigA"})))
add("restrict_by_join", lambda m: m.Subject & (m.Session * m.Session.Trial & {"side": "left"}))
add("restrict_by_top", lambda m: m.Session & (m.Session & m.Top(5, "KEY")))
add("restrict_no_common_nonempty", lambda m: m.Subject & m.Stimulus)
add("antijoin_no_common_nonempty", lambda m: m.Subject - m.Stimulus)
add("restrict_no_common_empty", lambda m: m.Subject & (m.Stimulus & "contrast > 5"))
add("antijoin_nulls", lambda m: m.Experimenter - m.Session.proj("experimenter"))

# --- join ------------------------------------------------------------------------------------
add("session_subject", lambda m: m.Session * m.Subject)
add("subject_session", lambda m: m.Subject * m.Session)
add("session_subject_species", lambda m: m.Session * m.Subject * m.Species)
add("trial_session", lambda m: m.Session.Trial * m.Session)
add("trialstim_stimulus", lambda m: m.TrialStim * m.Stimulus)
add("recording_analysis", lambda m: m.Recording * m.Analysis)
add("analysis_recording_session", lambda m: m.Analysis * m.Recording * m.Session)
add("subject_lab_nullable", lambda m: m.Subject * m.Lab)
add("experimenter_lab", lambda m: m.Experimenter * m.Lab)
add("session_experimenter", lambda m: m.Session * m.Experimenter)
add(
    "restricted_operands",
    lambda m: (m.Session & {"rig": "rigA"}) * (m.Session.Trial & "trial_id > 3"),
)
add("pairing_first_subject", lambda m: m.Pairing * m.Subject.proj(first_subject="subject_id"))
add(
    "pairing_renamed_session",
    lambda m: m.Session.proj(first_subject="subject_id", first_session="session_id") * m.Pairing,
)
add("cross_join", lambda m: m.Species * m.Stimulus)
add("subject_trial", lambda m: m.Subject * m.Session.Trial)
add("join_then_restrict", lambda m: (m.Session * m.Subject) & {"sex": "M"})
add("join_restrict_sql", lambda m: (m.Session.Trial * m.Session) & "rig = 'rigB' and correct")
add(
    "join_three_restricted",
    lambda m: (m.Subject & {"species": "mouse"}) * m.Session * (m.Session.Trial & {"correct": 1}),
)
add("join_proj_operands", lambda m: m.Session.proj("rig") * m.Subject.proj("sex"))
add("join_with_aggregation", lambda m: m.Subject * m.Subject.aggr(m.Session, n="count(*)"))
add("join_with_u", lambda m: m.Session * (m.U("subject_id") & m.Recording))
add(
    "self_join_renamed",
    lambda m: (
        m.Subject.proj(s1="subject_id") * m.Subject.proj(s2="subject_id") & "s1 < s2 and s2 < 5"
    ),
)
add("join_lookup_both", lambda m: m.TrialStim * m.Stimulus * m.Session.Trial)
add("experimenter_subject_shared_lab", lambda m: m.Experimenter * m.Subject)
add("join_restricted_by_query", lambda m: (m.Session * m.Subject) - m.Recording)

# --- proj ------------------------------------------------------------------------------------
add("proj_key", lambda m: m.Subject.proj())
add("proj_one", lambda m: m.Subject.proj("sex"))
add("proj_all_but", lambda m: m.Subject.proj(..., "-notes"))
add("proj_all", lambda m: m.Session.proj(...))
add("proj_rename", lambda m: m.Subject.proj(kind="species"))
add("proj_rename_key", lambda m: m.Subject.proj(sid="subject_id"))
add("proj_computed_bool", lambda m: m.Subject.proj(heavy="weight > 25"))
add("proj_computed_date", lambda m: m.Session.proj(days="datediff(session_date, '2026-01-01')"))
add("proj_computed_arith", lambda m: m.Session.Trial.proj(rt_ms="reaction_time * 1000"))
add("proj_duplicate", lambda m: m.Subject.proj("weight", w2="(weight)"))
add("proj_of_proj", lambda m: m.Session.proj(dur="duration").proj(dur2="dur"))
add(
    "proj_computed_then_restrict",
    lambda m: m.Session.Trial.proj(rt_ms="reaction_time * 1000") & "rt_ms > 700",
)
add("proj_renamed_then_restrict", lambda m: m.Subject.proj(kind="species") & {"kind": "rat"})
add("proj_after_restrict", lambda m: (m.Subject & {"sex": "F"}).proj("weight"))
add("proj_after_join", lambda m: (m.Session * m.Subject).proj("rig", "species"))
add(
    "proj_computed_concat",
    lambda m: m.Experimenter.proj(label="concat(experimenter, '@', coalesce(lab_id, '-'))"),
)
add("proj_computed_if", lambda m: m.Session.proj(long_session="if(duration > 45, 1, 0)"))
add("proj_of_aggregation", lambda m: m.Subject.aggr(m.Session, n="count(*)").proj(twice="n * 2"))

# --- aggr ------------------------------------------------------------------------------------
add("aggr_count_star", lambda m: m.Subject.aggr(m.Session, n="count(*)"))
add("aggr_count_column", lambda m: m.Subject.aggr(m.Session, n="count(session_id)"))
add(
    "aggr_exclude_nonmatching",
    lambda m: m.Subject.aggr(m.Session, n="count(*)", exclude_nonmatching=True),
)
add("aggr_two", lambda m: m.Session.aggr(m.Session.Trial, n="count(trial_id)", rate="avg(correct)"))
add(
    "aggr_min_max",
    lambda m: m.Session.aggr(m.Session.Trial, lo="min(reaction_time)", hi="max(reaction_time)"),
)
add("aggr_over_grandchild", lambda m: m.Subject.aggr(m.Session.Trial, n="count(*)"))
add("aggr_keep_attribute", lambda m: m.Subject.aggr(m.Session, "sex", n="count(*)"))
add("aggr_keep_all", lambda m: m.Subject.aggr(m.Session, ..., n="count(*)"))
add("aggr_restrict_result", lambda m: m.Subject.aggr(m.Session, n="count(*)") & "n > 2")
add("aggr_restrict_dict", lambda m: m.Subject.aggr(m.Session, n="count(*)") & {"n": 1})
add(
    "aggr_stimulus",
    lambda m: m.Stimulus.aggr(m.TrialStim, n="count(*)", mean_response="avg(response)"),
)
add("aggr_experimenter", lambda m: m.Experimenter.aggr(m.Session, n="count(*)"))
add("aggr_lab", lambda m: m.Lab.aggr(m.Subject, n="count(subject_id)"))
add(
    "aggr_restricted_operands",
    lambda m: (m.Subject & {"sex": "F"}).aggr(m.Session & {"rig": "rigA"}, n="count(session_id)"),
)
add("aggr_sum", lambda m: m.Session.aggr(m.Recording, total="sum(fs)"))
add(
    "aggr_of_join",
    lambda m: m.Session.aggr(m.TrialStim * m.Stimulus, mean_contrast="avg(contrast)"),
)
add(
    "aggr_group_concat_free",
    lambda m: m.Subject.aggr(m.Session, first="min(session_date)", last="max(session_date)"),
)
add("aggr_then_join", lambda m: m.Subject.aggr(m.Session, n="count(*)") * m.Species)
add("aggr_then_restrict_query", lambda m: m.Subject.aggr(m.Session, n="count(*)") & m.Recording)
add(
    "aggr_minus_query",
    lambda m: m.Subject.aggr(m.Session, n="count(*)") - (m.Subject & {"sex": "M"}),
)
add("aggr_computed_expression", lambda m: m.Session.aggr(m.Session.Trial, pct="100 * avg(correct)"))
add("aggr_count_distinct", lambda m: m.Subject.aggr(m.Session.Trial, sides="count(distinct side)"))
add("aggr_nested", lambda m: m.Species.aggr(m.Subject.aggr(m.Session, n="count(*)"), most="max(n)"))
add(
    "aggr_pairing",
    lambda m: m.Session.proj(first_subject="subject_id", first_session="session_id").aggr(
        m.Pairing, n="count(*)"
    ),
)

# --- U ----------------------------------------------------------------------------------------
add("u_rig", lambda m: m.U("rig") & m.Session)
add("u_two", lambda m: m.U("sex", "species") & m.Subject)
add("u_date", lambda m: m.U("session_date") & m.Session)
add("u_restricted", lambda m: m.U("rig") & (m.Session & {"experimenter": "alice"}))
add("u_then_restrict", lambda m: (m.U("rig") & m.Session) & {"rig": "rigA"})
add("u_aggr", lambda m: m.U("rig").aggr(m.Session, n="count(*)"))
add("u_empty_aggr", lambda m: m.U().aggr(m.Session, n="count(*)"))
add(
    "u_empty_aggr_two", lambda m: m.U().aggr(m.Session.Trial, n="count(*)", accuracy="avg(correct)")
)
add("u_side_aggr", lambda m: m.U("side").aggr(m.Session.Trial, n="count(*)"))
add(
    "u_species_aggr",
    lambda m: m.U("species").aggr(m.Subject, n="count(*)", mean_weight="avg(weight)"),
)
add("u_stim", lambda m: m.U("stim_id") & m.TrialStim)
add("u_key_of_join", lambda m: m.U("species", "rig") & (m.Session * m.Subject))
add("u_aggr_restricted", lambda m: m.U("rig").aggr(m.Session, n="count(*)") & "n > 10")
add("u_renamed", lambda m: m.U("kind") & m.Subject.proj(kind="species"))
add(
    "aggr_over_u_group",
    lambda m: m.Subject.aggr(m.U("subject_id", "side") & m.Session.Trial, sides="count(*)"),
)
add(
    "u_aggr_over_restricted_aggr",
    lambda m: m.U().aggr(m.Subject.aggr(m.Session, n="count(*)") & "n > 1", k="count(*)"),
)
add(
    "u_aggr_over_aggr",
    lambda m: m.U().aggr(m.Subject.aggr(m.Session, n="count(*)"), total="sum(n)"),
)
add("u_distinct_of_aggr", lambda m: m.U("n") & m.Subject.aggr(m.Session, n="count(*)"))
add("u_aggr_of_join", lambda m: m.U("sex").aggr(m.Subject * m.Session, n="count(*)"))

# --- union ------------------------------------------------------------------------------------
add(
    "union_keys",
    lambda m: (m.Subject & "subject_id < 4").proj() + (m.Subject & "subject_id > 10").proj(),
)
add(
    "union_overlapping_keys",
    lambda m: (m.Session & {"rig": "rigA"}).proj() + (m.Session & {"session_id": 1}).proj(),
)
add("union_disjoint_secondaries", lambda m: m.Subject.proj("sex") + m.Subject.proj("weight"))
add(
    "union_partial_secondaries",
    lambda m: (m.Subject & {"sex": "F"}).proj("sex") + (m.Subject & {"sex": "M"}).proj("weight"),
)
add(
    "union_three",
    lambda m: (
        (m.Subject & {"subject_id": 1}).proj()
        + (m.Subject & {"subject_id": 2}).proj()
        + (m.Subject & {"subject_id": 3}).proj()
    ),
)
add(
    "union_then_restrict",
    lambda m: (
        ((m.Session & {"rig": "rigA"}).proj() + (m.Session & {"session_id": 1}).proj())
        & {"subject_id": 2}
    ),
)
add(
    "union_then_join",
    lambda m: (
        ((m.Subject & "subject_id < 4").proj() + (m.Subject & "subject_id > 12").proj()) * m.Session
    ),
)
add(
    "union_restricting",
    lambda m: (
        m.Session & ((m.Subject & {"sex": "F"}).proj() + (m.Subject & {"species": "rat"}).proj())
    ),
)

# --- Top --------------------------------------------------------------------------------------
add("top_key", lambda m: m.Subject & m.Top(5, "KEY"), ordered=True)
add("top_desc", lambda m: m.Subject & m.Top(4, ["weight DESC", "KEY"]), ordered=True)
add("top_offset", lambda m: m.Session & m.Top(5, "KEY", offset=3), ordered=True)
add("top_key_desc", lambda m: m.Session & m.Top(6, "KEY DESC"), ordered=True)
add("top_nulls", lambda m: m.Session.Trial & m.Top(10, ["reaction_time", "KEY"]), ordered=True)
add("top_then_restrict", lambda m: (m.Subject & m.Top(8, "KEY")) & {"sex": "F"})
add("restrict_then_top", lambda m: (m.Subject & {"sex": "F"}) & m.Top(2, "KEY"), ordered=True)
add(
    "top_of_join",
    lambda m: (m.Session * m.Subject) & m.Top(7, ["session_date", "KEY"]),
    ordered=True,
)
add(
    "top_of_aggr",
    lambda m: m.Subject.aggr(m.Session, n="count(*)") & m.Top(3, ["n DESC", "KEY"]),
    ordered=True,
)
add("top_merge", lambda m: m.Subject & m.Top(8, "KEY") & m.Top(3, "KEY"), ordered=True)
# order_by as one string of comma-separated items, as DataJoint accepts it (issue #10)
add(
    "top_comma_string", lambda m: m.Subject & m.Top(6, "sex DESC, weight, subject_id"), ordered=True
)
add(
    "top_comma_in_list",
    lambda m: m.Session & m.Top(9, ["rig, duration DESC", "KEY DESC"]),
    ordered=True,
)
add("top_then_proj", lambda m: (m.Session & m.Top(5, ["duration DESC", "KEY"])).proj("duration"))
add("top_then_join", lambda m: (m.Subject & m.Top(3, "KEY")) * m.Session)
add(
    "top_no_limit_order", lambda m: m.Stimulus & m.Top(None, ["contrast DESC", "KEY"]), ordered=True
)

# --- deeper compositions -------------------------------------------------------------------
add(
    "deep_1",
    lambda m: (
        ((m.Session * m.Subject) & {"species": "mouse"}).aggr(m.Session.Trial, n="count(*)")
        & "n > 0"
    ),
)
add(
    "deep_2",
    lambda m: m.U("species").aggr((m.Subject * m.Session) & {"rig": "rigB"}, sessions="count(*)"),
)
add(
    "deep_3",
    lambda m: (
        (m.Subject.proj(kind="species") * m.Species.proj(kind="species", cname="common_name"))
        & {"kind": "mouse"}
    ),
)
add(
    "deep_4",
    lambda m: (
        (m.Session - m.Recording).proj("rig") * (m.Subject & m.Not({"lab_id": None})).proj("lab_id")
    ),
)
add(
    "deep_5",
    lambda m: (
        m.Stimulus.aggr(m.TrialStim * (m.Session.Trial & {"correct": 1}), hits="count(*)")
        & "hits > 1"
    ),
)
add("deep_6", lambda m: ((m.Subject & m.Session) - (m.Subject & m.Recording)).proj())
add(
    "deep_7",
    lambda m: m.Session.Trial.proj(rt="reaction_time").aggr(m.TrialStim, n="count(*)") & "rt > 0.3",
)
add("deep_8", lambda m: (m.U("rig") & m.Session) * m.U("experimenter") & m.Session)
add(
    "deep_9",
    lambda m: m.Experimenter.aggr(
        m.Session * m.Session.Trial, accuracy="avg(correct)", n="count(*)"
    ),
)
add("deep_10", lambda m: (m.Analysis * m.Recording).proj("fs", "mean_value") & "fs > 1500")
add(
    "deep_11",
    lambda m: m.Subject.aggr(m.Session.aggr(m.Session.Trial, n="count(*)"), total="sum(n)"),
)
add(
    "deep_12",
    lambda m: (
        m.Pairing
        * m.Session.proj(first_subject="subject_id", first_session="session_id", first_rig="rig")
        & {"first_rig": "rigA"}
    ),
)
add("deep_13", lambda m: (m.Lab * m.Experimenter).aggr(m.Session, n="count(*)"))
add(
    "deep_14",
    lambda m: (
        ((m.Session & "session_id < 3").proj() + (m.Session & m.Recording).proj())
        * m.Subject.proj("sex")
    ),
)
add("deep_15", lambda m: m.Subject - m.AndList([m.Session, m.Recording]))
add("deep_16", lambda m: m.Subject & [m.Session & {"rig": "rigA"}, {"sex": "U"}])
add("deep_17", lambda m: m.Subject & m.Not(m.Session & {"rig": "rigA"}))
add(
    "deep_18",
    lambda m: (
        m.Session.Trial & m.AndList([{"side": "left"}, m.Not({"correct": 1}), "trial_id > 2"])
    ),
)
add("deep_19", lambda m: m.U("sex").aggr(m.Subject & m.Session, n="count(*)", w="max(weight)"))
add(
    "deep_20",
    lambda m: (
        (m.Session.proj(sdate="session_date") * m.Subject.proj(birth="dob")).proj(
            age="datediff(sdate, birth)"
        )
        & "age is not null"
    ),
)


# --- where datajoint 2.3.5 is wrong (or fails on MariaDB): the oracle evaluates an
# equivalent formulation on its side, and LabBook must answer the original correctly ------
DATAJOINT_DEVIATIONS: dict[str, tuple[str, callable]] = {
    "subject_minus_andlist": (
        "Not(AndList) is rendered NOT (a) AND (b): the NOT binds to the first term only",
        lambda m: m.Subject & [m.Not({"sex": "F"}), "NOT (weight > 20)"],
    ),
    "deep_15": (
        "Not(AndList) of queries: NOT binds to the first term only",
        lambda m: m.Subject & [m.Not(m.Session), m.Not(m.Recording)],
    ),
    "top_then_join": (
        "a Top is dropped when the restricted expression is joined",
        lambda m: (m.Subject & "subject_id <= 3") * m.Session,
    ),
    "aggr_restricted_operands": (
        "restrictions of the aggregated operand go to WHERE after the LEFT JOIN, dropping "
        "rows of the grouping operand without matches",
        lambda m: (m.Subject & {"sex": "F"}).aggr(
            (m.Session & {"rig": "rigA"}) * m.Subject.proj(), n="count(session_id)"
        ),
    ),
    "union_restricting": (
        "restricting by a union raises TypeError (Union.make_sql takes no fields)",
        lambda m: m.Session & [m.Subject & {"sex": "F"}, m.Subject & {"species": "rat"}],
    ),
    "aggr_keep_attribute": (
        "kept attributes are not in GROUP BY: MariaDB's ONLY_FULL_GROUP_BY refuses the query",
        lambda m: m.Subject.aggr(m.Session, n="count(*)") * m.Subject.proj("sex"),
    ),
    "aggr_over_u_group": (
        "an aggregation over U(...) & q ignores the DISTINCT and counts duplicate rows",
        lambda m: m.Subject.aggr(m.Session.Trial, sides="count(distinct side)"),
    ),
    "u_aggr_over_restricted_aggr": (
        "the restriction of the inner aggregation goes to WHERE: unknown column",
        lambda m: m.U().aggr(
            m.Subject & (m.Subject.aggr(m.Session, n="count(*)") & "n > 1"), k="count(*)"
        ),
    ),
    "u_aggr_over_aggr": (
        "the inner GROUP BY is lost: MariaDB refuses the mixed grouping (error 1140)",
        lambda m: m.U().aggr(m.Session, total="sum(1)"),
    ),
    "aggr_keep_all": (
        "kept attributes are not in GROUP BY: MariaDB's ONLY_FULL_GROUP_BY refuses the query",
        lambda m: m.Subject.aggr(m.Session, n="count(*)") * m.Subject,
    ),
}

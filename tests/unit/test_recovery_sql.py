"""The SQL of dead-worker recovery (pipeline_core/datamodel/sql/recovery.py): every value a
parameter, identifiers quoted and validated, reservations changed only while unchanged."""

from __future__ import annotations

import datetime

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.sql import recovery as sql

JOBS = dm.TableRef("lab", "~~detection")


def test_release_and_lose_are_conditional_on_the_same_reservation():
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, 678000)
    text, params = sql.release(JOBS, {"image_id": 7, "param_id": 2}, 41, when)
    assert text.startswith("UPDATE `lab`.`~~detection` SET `status` = 'pending'")
    assert "`image_id` = %s AND `param_id` = %s AND `status` = 'reserved'" in text
    assert "`connection_id` = %s AND `reserved_time` <=> %s" in text
    assert params == [7, 2, 41, when]
    text, params = sql.lose(JOBS, {"image_id": 7}, 41, None, "worker lost", b"stack")
    assert "`status` = 'error'" in text and "`error_message` = %s" in text
    assert params == ["worker lost", b"stack", 7, 41, None]


def test_reserved_jobs_joins_the_heartbeat_of_the_same_worker_only():
    text = sql.reserved_jobs(JOBS, ["image_id"], "labbook_audit")
    assert "LEFT JOIN `labbook_audit`.`worker` AS `w`" in text
    assert "`w`.`host` = `j`.`host` AND `w`.`pid` = `j`.`pid`" in text
    assert "`w`.`connection_id` = `j`.`connection_id`" in text
    assert "WHERE `j`.`status` = 'reserved'" in text
    assert "NULL AS `heartbeat_age`" in sql.reserved_jobs(JOBS, ["image_id"], None)


def test_statements_take_values_as_parameters_and_refuse_bad_names():
    assert sql.heartbeat("audit").count("%s") == 6
    assert sql.count_attempt("audit").count("%s") == 4
    assert sql.attempts("audit").endswith("FOR UPDATE")
    assert "`bad``name`.`worker`" in sql.create_worker_table("bad`name")  # quoted
    with pytest.raises(dm.DataJointError):
        sql.create_worker_table("bad\x00name")


def test_heartbeat_restarts_first_seen_only_for_another_connection():
    text = sql.heartbeat("audit")
    update = text.split("ON DUPLICATE KEY UPDATE ", 1)[1]
    # assignments run left to right: `started` is decided before `connection_id` changes
    assert update.startswith(
        "`started` = IF(`connection_id` = VALUES(`connection_id`), `started`, VALUES(`started`))"
    )
    assert update.index("`started` =") < update.index("`connection_id` =")


def test_recent_workers_and_pruning_take_the_age_as_a_parameter():
    assert "WHERE" not in sql.workers("audit")
    recent = sql.workers("audit", recent=True)
    assert "WHERE `last_seen` >= UTC_TIMESTAMP(6) - INTERVAL %s MICROSECOND" in recent
    assert recent.count("%s") == 1
    prune = sql.prune_workers("audit")
    assert prune == (
        "DELETE FROM `audit`.`worker` "
        "WHERE `last_seen` < UTC_TIMESTAMP(6) - INTERVAL %s MICROSECOND"
    )
    with pytest.raises(dm.DataJointError):
        sql.prune_workers("bad name ")

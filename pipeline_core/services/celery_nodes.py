"""The Celery nodes of the workers view (issue #13): what Celery's own remote inspection
says about each worker node on LabBook's broker, asked with a short timeout and kept for a
couple of seconds, so that pages polling every few seconds do not each wait for replies.

A node is **online** when it answers ``stats`` within :data:`INSPECT_TIMEOUT`. Celery only
knows the nodes that answer, so the nodes seen before are remembered (Django's cache,
:data:`REMEMBER_NODES` seconds) and listed **offline** when they no longer answer. A node
whose pool is ``solo`` (or ``threads``) cannot answer while it computes a task: it looks
offline meanwhile; the default ``prefork`` pool answers from its parent process.

When the broker cannot be reached (checked first with a plain TCP connection, like
:func:`.runs.check_broker`), no inspection is tried: the answer says so and lists the
remembered nodes as offline.
"""

from __future__ import annotations

import datetime
import time

from celery import current_app
from django.core.cache import cache

from .runs import BrokerUnavailable, broker_name, check_broker

#: Seconds to wait for the nodes' replies (each inspection; at most 1 s).
INSPECT_TIMEOUT = 1.0
#: Seconds an inspection is reused (per web process, Django's cache).
CACHE_SECONDS = 2.0
#: Seconds a node that no longer answers is still listed (offline).
REMEMBER_NODES = 24 * 3600
#: Seconds to wait for a TCP connection to the broker.
BROKER_TIMEOUT = 0.5
#: Django cache keys: the last inspection, the nodes seen.
_INSPECTION = "labbook:workers:inspection"
_SEEN = "labbook:workers:nodes-seen"


def inspect_nodes(fresh: bool = False) -> dict:
    """The Celery nodes and the broker's state.

    Args:
        fresh: inspect now, even if an inspection of the last :data:`CACHE_SECONDS`
            seconds is kept.
    Returns:
        ``{"nodes": [node, ...], "broker": {"ok": bool, "message": str}}``, nodes by name;
        each node ``{"name", "host", "online", "queues": [queue names], "concurrency"
        (the pool's max-concurrency, None when unknown), "pool" (its implementation, e.g.
        ``prefork``), "pid" (the main process), "pids" (main and pool processes), "active":
        [{"id", "task", "args", "worker_pid", "started"}], "last_seen"}``; ``started`` and
        ``last_seen`` are ISO 8601 UTC texts (``last_seen``: the last answer seen by this
        web process). Never raises for an unreachable broker or a failed inspection: the
        broker's ``message`` says what happened.
    """
    if not fresh:
        kept = cache.get(_INSPECTION)
        if kept is not None:
            return kept
    seen = cache.get(_SEEN) or {}
    try:
        check_broker(BROKER_TIMEOUT)
        answered = _inspect()
        broker = {"ok": True, "message": f"{broker_name()}: {len(answered)} nodes answered"}
    except BrokerUnavailable:
        answered = {}
        broker = {
            "ok": False,
            "message": f"The task broker {broker_name()} cannot be reached: Celery's nodes "
            "cannot be asked (start Redis: make services).",
        }
    except Exception as exc:  # the broker answered the connection but not the inspection
        answered = {}
        broker = {"ok": False, "message": f"{broker_name()}: inspection failed ({exc})"}
    now = time.time()
    for name, node in answered.items():
        seen[name] = {**node, "seen": now}
    seen = {n: v for n, v in seen.items() if now - v["seen"] <= REMEMBER_NODES}
    nodes = []
    for name in sorted(seen):
        node = {k: v for k, v in seen[name].items() if k != "seen"}
        online = name in answered
        nodes.append(
            {
                **node,
                "online": online,
                "active": node["active"] if online else [],
                "last_seen": _iso(seen[name]["seen"]),
            }
        )
    result = {"nodes": nodes, "broker": broker}
    cache.set(_SEEN, seen, REMEMBER_NODES)
    cache.set(_INSPECTION, result, CACHE_SECONDS)
    return result


def _inspect() -> dict[str, dict]:
    """``{node name: node}`` of the nodes answering ``stats`` within the timeout; then their
    queues and active tasks, asked of those nodes only (the replies end the wait)."""
    control = current_app.control
    stats = control.inspect(timeout=INSPECT_TIMEOUT).stats() or {}
    if not stats:
        return {}
    names = sorted(stats)
    ask = control.inspect(timeout=INSPECT_TIMEOUT, destination=names, limit=len(names))
    queues = ask.active_queues() or {}
    active = ask.active() or {}
    return {name: _node(name, stats[name], queues.get(name), active.get(name)) for name in names}


def _node(name: str, stats: dict, queues, active) -> dict:
    pool = stats.get("pool") or {}
    pid = stats.get("pid")
    pids = [p for p in [pid, *(pool.get("processes") or [])] if isinstance(p, int)]
    implementation = str(pool.get("implementation") or "")
    return {
        "name": name,
        "host": name.split("@", 1)[1] if "@" in name else name,
        "queues": sorted(q.get("name", "") for q in queues or [] if isinstance(q, dict)),
        "concurrency": pool.get("max-concurrency"),
        "pool": implementation.rsplit(".", 1)[-1].split(":")[0],
        "pid": pid,
        "pids": sorted(set(pids)),
        "active": [_task(t) for t in active or [] if isinstance(t, dict)],
    }


def _task(info: dict) -> dict:
    start = info.get("time_start")
    args = info.get("args")
    return {
        "id": str(info.get("id") or ""),
        "task": str(info.get("name") or ""),
        "args": list(args) if isinstance(args, (list, tuple)) else [],
        "worker_pid": info.get("worker_pid"),
        "started": _iso(start) if isinstance(start, (int, float)) else None,
    }


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat()

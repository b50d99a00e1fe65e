"""The process-wide introspection cache (:mod:`pipeline_core.datamodel.catalog_cache`) on
its own: what it stores, what it trusts, what an invalidation takes with it."""

from __future__ import annotations

import threading
import types

from pipeline_core.datamodel.catalog_cache import Fingerprint, SchemaSnapshot, SharedCatalog
from pipeline_core.datamodel.heading import Heading, TableInfo
from pipeline_core.datamodel.tableref import TableRef

SERVER = ("db.example", 3306, "alice")


def snapshot(database: str, *, upstream=(), value=(1,), settled=True, tables=True):
    info = TableInfo(database, "subject", "", Heading([]), (), ())
    infos = {TableRef(database, "subject"): info} if tables else {}
    return SchemaSnapshot(
        database=database,
        tables=types.MappingProxyType(infos),
        visible=tuple(infos.values()),
        hidden=(),
        upstream=frozenset(upstream),
        fingerprint=Fingerprint(value, settled),
    )


def stored(cache, database, **kwargs):
    snap = snapshot(database, **kwargs)
    generation = cache.generations(SERVER, [database])[database]
    assert cache.put(SERVER, snap, generation)
    return snap


def test_trusted_only_when_settled_and_equal():
    snap = snapshot("lab", value=(3, "t"))
    assert snap.trusted(Fingerprint((3, "t"), True))
    assert snap.trusted(Fingerprint((3, "t"), False))  # the snapshot's own observation counts
    assert not snap.trusted(Fingerprint((4, "t"), True))
    assert not snapshot("lab", value=(3, "t"), settled=False).trusted(Fingerprint((3, "t"), True))
    unobserved = SchemaSnapshot("lab", types.MappingProxyType({}), (), (), frozenset(), None)
    assert not unobserved.trusted(Fingerprint((0,), True))


def test_put_refuses_unsettled_empty_and_unobserved_snapshots():
    cache = SharedCatalog()
    generation = cache.generations(SERVER, ["lab"])["lab"]
    assert not cache.put(SERVER, snapshot("lab", settled=False), generation)
    assert not cache.put(SERVER, snapshot("lab", tables=False), generation)
    assert cache.get(SERVER, "lab") is None
    assert cache.put(SERVER, snapshot("lab"), generation)
    assert cache.get(SERVER, "lab") is not None and cache.databases(SERVER) == ["lab"]


def test_servers_and_accounts_are_apart():
    cache = SharedCatalog()
    stored(cache, "lab")
    assert cache.get(("db.example", 3306, "bob"), "lab") is None
    assert cache.get(("db.example", 3307, "alice"), "lab") is None


def test_forget_takes_the_snapshots_built_on_it():
    cache = SharedCatalog()
    stored(cache, "lab")
    stored(cache, "imaging", upstream={"lab"})
    stored(cache, "analysis", upstream={"imaging"})
    stored(cache, "other")
    cache.forget(SERVER, "lab")
    assert cache.databases(SERVER) == ["other"]
    stored(cache, "lab")
    cache.forget(SERVER)
    assert cache.databases(SERVER) == []


def test_forget_dependents_leaves_the_changed_database():
    cache = SharedCatalog()
    stored(cache, "lab")
    stored(cache, "imaging", upstream={"lab"})
    stored(cache, "analysis", upstream={"imaging"})
    stored(cache, "other", upstream={"elsewhere"})
    cache.forget_dependents(SERVER, {"lab"})
    assert cache.databases(SERVER) == ["lab", "other"]


def test_a_snapshot_read_before_an_invalidation_is_not_stored_after_it():
    cache = SharedCatalog()
    before = cache.generations(SERVER, ["lab"])["lab"]
    cache.forget(SERVER, "lab")  # DDL by another thread while this one was reading
    assert not cache.put(SERVER, snapshot("lab"), before)
    everything = cache.generations(SERVER, ["lab"])["lab"]
    cache.forget(SERVER)  # forgetting everything counts for every database
    assert not cache.put(SERVER, snapshot("lab"), everything)
    assert cache.put(SERVER, snapshot("lab"), cache.generations(SERVER, ["lab"])["lab"])


def test_threads_share_one_cache():
    cache = SharedCatalog()
    done = []

    def work(i):
        for j in range(200):
            name = f"db{(i + j) % 7}"
            generation = cache.generations(SERVER, [name])[name]
            cache.put(SERVER, snapshot(name), generation)
            if j % 10 == 0:
                cache.forget(SERVER, name)
            cache.get(SERVER, name)
        done.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(done) == list(range(8))
    assert set(cache.databases(SERVER)) <= {f"db{i}" for i in range(7)}

"""The SQLite key-value store: file layout, pragmas, open errors, expiry, threads and loops."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.errors import DataEnvironmentError, SpecTypeError, StoreError
from flowai_harness.storage.sqlite import SqliteKeyValueStore, sqlite_path
from tests.waiting import wait_until_sync


class FakeClock:
    """Wall-clock seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def rows(path: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(
            "SELECT tenant, key, value, expires_at FROM kv_store ORDER BY tenant, key"
        ).fetchall()


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:/var/data/kv.db", "/var/data/kv.db"),
        ("sqlite:relative/kv.db", "relative/kv.db"),
        ("sqlite:///tmp/kv.db", "///tmp/kv.db"),
        ("sqlite::memory:", ":memory:"),
        ("/plain/path.db", "/plain/path.db"),
    ],
)
def test_sqlite_path_strips_only_the_prefix(url: str, path: str) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize("url", ["sqlite:", "sqlite:  "])
def test_sqlite_url_without_a_path_is_refused(url: str) -> None:
    with pytest.raises(DataEnvironmentError, match="names no file"):
        sqlite_path(url)


# --------------------------------------------------------------------------- layout


async def test_layout_is_the_documented_kv_store_table(tmp_path: Path) -> None:
    db = tmp_path / "kv.db"
    clock = FakeClock()
    store = SqliteKeyValueStore(f"sqlite:{db}", clock=clock)
    await store.put("acme", "plan:p1", {"b": 1, "a": [True, None]})
    await store.put("acme", "reference:note:x", "v", ttl_ms=1500)
    await store.close()
    with closing(sqlite3.connect(db)) as conn, conn:
        columns = [(c[1], c[2], c[5]) for c in conn.execute("PRAGMA table_info(kv_store)")]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert columns == [
        ("tenant", "TEXT", 1),
        ("key", "TEXT", 2),
        ("value", "TEXT", 0),
        ("expires_at", "INTEGER", 0),
        ("updated_at", "INTEGER", 0),
    ]
    assert journal == "wal"
    now_ms = int(clock.now * 1000)
    assert rows(db) == [
        ("acme", "plan:p1", '{"b":1,"a":[true,null]}', None),
        ("acme", "reference:note:x", '"v"', now_ms + 1500),
    ]


async def test_an_existing_reference_table_is_used_as_is(tmp_path: Path) -> None:
    db = tmp_path / "kv.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "CREATE TABLE kv_store (tenant TEXT, key TEXT, value TEXT, expires_at INTEGER,"
            " PRIMARY KEY (tenant, key))"
        )
        conn.execute("INSERT INTO kv_store VALUES ('acme', 'plan:old', '{\"id\":\"old\"}', NULL)")
    store = SqliteKeyValueStore(str(db))
    assert await store.get("acme", "plan:old") == {"id": "old"}
    # the store adds the write-time column; the old row has no known write time, so pruning
    # by age keeps it
    assert await store.delete_prefix("acme", "plan:", updated_before_ms=2**62) == 0
    assert await store.delete_prefix("acme", "plan:") == 1
    await store.close()


# --------------------------------------------------------------------------- open errors


def test_a_missing_directory_is_named_in_the_error(tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path}/no/such/dir/kv.db"
    with pytest.raises(DataEnvironmentError) as caught:
        SqliteKeyValueStore(url)
    message = str(caught.value)
    assert message.startswith(f"data_environment.kv (kind 'sqlite'): cannot open '{url}'")
    assert f"the directory '{tmp_path}/no/such/dir' does not exist" in message


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an sqlite database, just text" * 100)
    with pytest.raises(DataEnvironmentError, match="file is not a database"):
        SqliteKeyValueStore(f"sqlite:{junk}")


def test_a_kv_store_table_of_another_shape_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "kv.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("CREATE TABLE kv_store (k TEXT PRIMARY KEY, v TEXT)")
    with pytest.raises(DataEnvironmentError, match=r"lacks the column\(s\) expires_at, key"):
        SqliteKeyValueStore(f"sqlite:{db}")


# --------------------------------------------------------------------------- expiry


async def test_expiry_follows_the_clock_to_the_millisecond(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteKeyValueStore(f"sqlite:{tmp_path}/kv.db", clock=clock)
    await store.put("t", "k", "v", ttl_ms=1000)
    clock.now += 0.999
    assert await store.get("t", "k") == "v"
    assert await store.list_keys("t", "") == ["k"]
    clock.now += 0.001
    assert await store.get("t", "k") is None
    assert await store.list_keys("t", "") == []
    await store.close()


async def test_expired_rows_are_removed_from_the_file(tmp_path: Path) -> None:
    db = tmp_path / "kv.db"
    clock = FakeClock()
    store = SqliteKeyValueStore(f"sqlite:{db}", clock=clock)
    await store.put("t", "read-later", 1, ttl_ms=10)
    await store.put("t", "never-read", 2, ttl_ms=10)
    await store.put("t", "kept", 3)
    clock.now += 1
    assert await store.get("t", "read-later") is None  # an expired row is dropped when read
    assert [r[1] for r in rows(db)] == ["kept", "never-read"]
    await store.close()
    # The first write of a store purges every expired row (then at most once a minute).
    reopened = SqliteKeyValueStore(f"sqlite:{db}", clock=clock)
    await reopened.put("t", "new", 4)
    assert [r[1] for r in rows(db)] == ["kept", "new"]
    await reopened.close()


async def test_ttl_must_be_a_number(tmp_path: Path) -> None:
    store = SqliteKeyValueStore(f"sqlite:{tmp_path}/kv.db")
    with pytest.raises(SpecTypeError, match="ttl_ms"):
        await store.put("t", "k", 1, ttl_ms="100")  # type: ignore[arg-type]
    await store.close()


async def test_a_foreign_value_that_is_not_json_is_a_store_error(tmp_path: Path) -> None:
    db = tmp_path / "kv.db"
    store = SqliteKeyValueStore(f"sqlite:{db}")
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "INSERT INTO kv_store (tenant, key, value, expires_at)"
            " VALUES ('t', 'k', 'not json', NULL)"
        )
    with pytest.raises(StoreError, match=r"SQLite KV store .*key 'k' of tenant 't' is not valid"):
        await store.get("t", "k")
    # the indexes of scan(where=...) skip a value that is not JSON instead of failing on it
    await store.put("t", "k2", {"status": "x"})
    assert [k for k, _ in await store.scan("t", "k", where={"status": "x"})] == ["k2"]
    await store.close()


# --------------------------------------------------------------------------- sharing the file


async def test_a_write_waits_for_another_connections_lock(tmp_path: Path) -> None:
    db = tmp_path / "kv.db"
    store = SqliteKeyValueStore(f"sqlite:{db}")
    locked = threading.Event()

    def hold_write_lock() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO kv_store (tenant, key, value, expires_at) VALUES ('t', 'other', '1', NULL)"
        )
        locked.set()
        time.sleep(0.3)
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold_write_lock)
    holder.start()
    await asyncio.to_thread(locked.wait, 5)
    await store.put("t", "mine", 2)  # busy timeout: waits instead of "database is locked"
    holder.join()
    assert await store.list_keys("t", "") == ["mine", "other"]
    await store.close()


WRITER = """
import asyncio, sys
from flowai_harness.storage.sqlite import SqliteKeyValueStore

async def main():
    store = SqliteKeyValueStore(sys.argv[1])
    for n in range(150):
        await store.put("t", f"child:{n:03d}", n)
    await store.close()

asyncio.run(main())
"""


async def test_two_processes_write_one_file(tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path}/kv.db"
    store = SqliteKeyValueStore(url)
    child = subprocess.Popen([sys.executable, "-c", WRITER, url], stderr=subprocess.PIPE)
    for n in range(150):
        await store.put("t", f"parent:{n:03d}", n)
    _, stderr = await asyncio.to_thread(child.communicate, timeout=60)
    assert child.returncode == 0, stderr.decode()
    keys = await store.list_keys("t", "")
    assert len(keys) == 300
    assert await store.get("t", "child:149") == 149
    await store.close()


# --------------------------------------------------------------------------- loops and lifetime


def test_one_store_serves_several_event_loops(tmp_path: Path) -> None:
    store = SqliteKeyValueStore(f"sqlite:{tmp_path}/kv.db")
    asyncio.run(store.put("t", "k", {"loop": 1}))
    assert asyncio.run(store.get("t", "k")) == {"loop": 1}
    asyncio.run(store.close())


def test_a_store_nobody_closes_releases_its_file(tmp_path: Path) -> None:
    db = tmp_path / "kv.db"
    store = SqliteKeyValueStore(f"sqlite:{db}")
    asyncio.run(store.put("t", "k", 1))
    del store
    # The worker thread drops its last reference to the finished call a moment after the
    # call returns; then the store is collected and its connection closed, which checkpoints
    # the WAL into the file and removes it.
    wait_until_sync(
        lambda: gc.collect() >= 0 and not (tmp_path / "kv.db-wal").exists(),
        message="the store's connection was never closed",
    )
    assert rows(db) == [("t", "k", "1", None)]


async def test_an_in_memory_database_works(tmp_path: Path) -> None:
    store = SqliteKeyValueStore("sqlite::memory:")
    await store.put("t", "k", [1])
    assert await store.get("t", "k") == [1]
    assert store.path == ":memory:"
    await store.close()


async def test_scan_where_and_prefix_scans_use_indexes(tmp_path: Path) -> None:
    from flowai_harness.storage import _sqlite_runstore as runsql

    db = tmp_path / "kv.db"
    store = SqliteKeyValueStore(f"sqlite:{db}")
    await store.write_batch(
        "t", [(f"run:{n:04d}", {"status": "completed", "threadId": f"t{n}"}) for n in range(500)]
    )
    await store.close()
    plans: list[str] = []
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("ANALYZE")
        original = conn.execute

        class Explaining:
            def execute(self, query: str, params: Any = ()) -> Any:
                explained = original(f"EXPLAIN QUERY PLAN {query}", params)
                plans.append(" / ".join(str(row[-1]) for row in explained))
                return original(query, params)

        runsql.scan(Explaining(), "t", "run:", None, None, {"threadId": "t7"}, 0)  # type: ignore[arg-type]
        runsql.scan(Explaining(), "t", "run:", "run:0100", 10, {}, 0)  # type: ignore[arg-type]
    assert "kv_store_threadid" in plans[0], plans
    assert "sqlite_autoindex_kv_store_1 (tenant=? AND key>?)" in plans[1], plans

"""The queue store on a real SQLite file: group commit, per-exporter order, ack, dead letters, drop_oldest,
resync, the journal, stats across restarts, and rollback. Public API only (plus ``deadletter``, which works on
the same file from outside, as the CLI does)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from glassbox.collector.delivery import deadletter
from glassbox.collector.delivery.store import QueueStats, QueueStore, Write
from glassbox.collector.errors import StartupError
from glassbox.collector.service import Relay
from tests.conftest import relay_config


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "queue.db"


@pytest.fixture
def store(path: Path):
    queue = QueueStore(path)
    queue.open()
    yield queue
    queue.close()


async def enqueue(store: QueueStore, exporter: str, *payloads: bytes, kind: str = "span") -> list[int]:
    """Enqueue and return the new rows' ids (read back: ``commit`` returns journal ids only)."""
    before = {row[0] for row in await store.peek(exporter, 0, 1_000_000)}
    await store.commit(Write(enqueue={exporter: [(kind, p) for p in payloads]}))
    return [row[0] for row in await store.peek(exporter, 0, 1_000_000) if row[0] not in before]


def stats(store: QueueStore, exporter: str) -> tuple[int, int]:
    s = store.stats.get(exporter, QueueStats())
    return s.items, s.bytes


def on_disk(path: Path, exporter: str) -> list[tuple[str, bytes]]:
    """What the file holds, read by a separate connection (what survives a crash)."""
    with sqlite3.connect(path) as db:
        return db.execute("SELECT kind, payload FROM items WHERE exporter = ? ORDER BY id", (exporter,)).fetchall()


# --- group commit --------------------------------------------------------------------------------------------


async def test_concurrent_commits_share_transactions_and_each_gets_its_own_result(store, path):
    commits, writes = store.commits, store.writes
    results = await asyncio.gather(
        *(
            store.commit(
                Write(enqueue={"a": [("span", f"item-{n}".encode())]}, journal_add=[("traces", f"body-{n}".encode())])
            )
            for n in range(100)
        )
    )
    assert store.writes - writes == 100
    assert store.commits - commits < 100  # group commit: fewer transactions than writes
    journal = {journal_id: body for journal_id, _, body in await store.journal()}
    assert [journal[ids[0]] for ids in results] == [f"body-{n}".encode() for n in range(100)]
    assert len({ids[0] for ids in results}) == 100
    assert sorted(p for _, p in on_disk(path, "a")) == sorted(f"item-{n}".encode() for n in range(100))
    assert stats(store, "a") == (100, sum(len(f"item-{n}") for n in range(100)))


# --- peek, ack, dead letters, drop_oldest ------------------------------------------------------------------


async def test_peek_returns_one_exporters_items_oldest_first_after_the_cursor(store):
    await store.commit(Write(enqueue={"a": [("span", b"a1"), ("eval", b"a2")], "b": [("traces", b"b1")]}))
    await store.commit(Write(enqueue={"b": [("logs", b"b2")], "a": [("span", b"a3")]}))
    rows = await store.peek("a", 0, 10)
    assert [(kind, payload) for _, kind, payload in rows] == [("span", b"a1"), ("eval", b"a2"), ("span", b"a3")]
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)
    assert await store.peek("a", 0, 2) == rows[:2]  # limit
    assert await store.peek("a", rows[0][0], 10) == rows[1:]  # strictly after the cursor
    assert await store.peek("a", rows[-1][0], 10) == []
    assert [payload for _, _, payload in await store.peek("b", 0, 10)] == [b"b1", b"b2"]
    assert await store.peek("nobody", 0, 10) == []


async def test_ack_removes_exactly_the_given_rows_and_shrinks_the_stats(store, path):
    ids = await enqueue(store, "a", b"one", b"two", b"three")
    await enqueue(store, "b", b"other")
    assert stats(store, "a") == (3, 11)
    await store.ack("a", [ids[0], ids[2]])
    assert on_disk(path, "a") == [("span", b"two")]
    assert stats(store, "a") == (1, 3)
    await store.ack("a", [ids[0], ids[2]])  # acknowledged twice: nothing more leaves, stats unchanged
    await store.ack("a", [])
    assert stats(store, "a") == (1, 3)
    assert on_disk(path, "b") == [("span", b"other")] and stats(store, "b") == (1, 5)


async def test_dead_letter_moves_rows_with_reason_and_error(store, path):
    ids = await enqueue(store, "a", b"keep", b"bad-1", b"bad-2", kind="eval")
    await store.dead_letter("a", ids[1:], "http_400", "intake said no " + "x" * 3000)
    assert on_disk(path, "a") == [("eval", b"keep")]
    assert stats(store, "a") == (1, 4)
    letters = deadletter.list_letters(path)
    assert (
        sorted((row["exporter"], row["kind"], row["size"], row["reason"]) for row in letters)
        == [("a", "eval", 5, "http_400")] * 2
    )
    shown = [deadletter.show_letter(path, row["id"]) for row in sorted(letters, key=lambda r: r["id"])]
    assert [letter["payload"] for letter in shown] == [b"bad-1", b"bad-2"]
    assert all(letter["error"].startswith("intake said no x") and len(letter["error"]) == 2000 for letter in shown)
    assert await store.count_dead_letters() == {"a": 2}
    await store.dead_letter("a", [], "http_400", "nothing")  # no ids: no-op
    assert await store.count_dead_letters() == {"a": 2}


async def test_drop_oldest_deletes_the_oldest_of_one_exporter(store, path):
    await enqueue(store, "a", b"1", b"22", b"333", b"4444")
    await enqueue(store, "b", b"b")
    assert await store.drop_oldest("a", 2) == (2, 3)
    assert [p for _, p in on_disk(path, "a")] == [b"333", b"4444"]
    assert stats(store, "a") == (2, 7)
    assert await store.drop_oldest("a", 10) == (2, 7)  # more than there is: what there is
    assert await store.drop_oldest("a", 1) == (0, 0)
    assert stats(store, "a") == (0, 0)
    assert on_disk(path, "b") == [("span", b"b")] and stats(store, "b") == (1, 1)


async def test_oldest_age_per_exporter(store):
    await enqueue(store, "a", b"x")
    ages = await store.oldest_age()
    assert set(ages) == {"a"} and 0.0 <= ages["a"] < 5.0


# --- resync and the journal ----------------------------------------------------------------------------------


async def test_resync_counts_rows_added_from_outside(store, path):
    ids = await enqueue(store, "a", b"p1", b"p22")
    await store.dead_letter("a", ids, "http_400", "refused")
    assert stats(store, "a") == (0, 0)
    assert deadletter.replay(path) == 2  # another process puts them back in the queue
    assert stats(store, "a") == (0, 0)  # the store cannot know yet
    await store.resync("a")
    assert stats(store, "a") == (2, 5)
    assert [p for _, _, p in await store.peek("a", 0, 10)] == [b"p1", b"p22"]
    assert [row[0] for row in await store.peek("a", 0, 10)] > ids  # replayed rows get new, higher ids
    await store.resync("never-used")
    assert stats(store, "never-used") == (0, 0)


async def test_journal_changes_commit_with_the_enqueue(store, path):
    ids = await store.commit(
        Write(enqueue={"a": [("span", b"s1")]}, journal_add=[("traces", b"held-spans"), ("logs", b"held-logs")])
    )
    assert len(ids) == 2 and ids[0] < ids[1]
    assert await store.journal() == [(ids[0], "traces", b"held-spans"), (ids[1], "logs", b"held-logs")]
    # releasing the held spans: their items and the journal deletion in one transaction
    assert await store.commit(Write(enqueue={"a": [("span", b"s2")]}, journal_delete=[ids[0]])) == []
    assert await store.journal() == [(ids[1], "logs", b"held-logs")]
    assert [p for _, p in on_disk(path, "a")] == [b"s1", b"s2"]


async def test_a_failing_write_rolls_back_everything_it_did(store, path):
    await enqueue(store, "a", b"before")
    journal_before = await store.journal()
    # the items insert succeeds, then the journal insert fails (sqlite cannot bind an object): all or nothing
    bad = Write(
        enqueue={"a": [("span", b"half")], "b": [("span", b"half")]},
        journal_add=[("traces", b"ok"), ("traces", object())],
    )
    with pytest.raises(sqlite3.Error):
        await store.commit(bad)
    assert on_disk(path, "a") == [("span", b"before")] and on_disk(path, "b") == []
    assert await store.journal() == journal_before
    assert stats(store, "a") == (1, 6) and stats(store, "b") == (0, 0)
    await enqueue(store, "a", b"after")  # the store still works
    assert [p for _, p in on_disk(path, "a")] == [b"before", b"after"]


async def test_a_failing_write_among_concurrent_ones_leaves_every_write_whole(store, path):
    """Whatever group the writer thread folds them into, each write is either entirely on disk (and its caller
    got a result) or not at all (and its caller got the error)."""
    good = [
        Write(enqueue={"a": [("span", f"g{n}".encode())]}, journal_add=[("traces", f"j{n}".encode())])
        for n in range(20)
    ]
    bad = Write(enqueue={"a": [("span", b"bad")]}, journal_add=[("traces", object())])
    results = await asyncio.gather(*(store.commit(w) for w in [*good[:10], bad, *good[10:]]), return_exceptions=True)
    assert isinstance(results[10], sqlite3.Error)
    payloads = {p for _, p in on_disk(path, "a")}
    journal = {body for _, _, body in await store.journal()}
    assert b"bad" not in payloads
    for n, result in enumerate(results[:10] + results[11:]):
        written = f"g{n}".encode() in payloads
        assert written == (f"j{n}".encode() in journal)
        assert written == (not isinstance(result, BaseException)), (n, result)
    assert stats(store, "a") == (len(payloads), sum(len(p) for p in payloads))


async def test_a_closed_store_refuses_writes(path):
    store = QueueStore(path)
    with pytest.raises(RuntimeError, match="not open"):
        await store.commit(Write(enqueue={"a": [("span", b"x")]}))
    store.open()
    store.close()
    with pytest.raises(RuntimeError, match="not open"):
        await store.commit(Write(enqueue={"a": [("span", b"x")]}))
    assert stats(store, "a") == (0, 0)
    assert on_disk(path, "a") == []
    assert not store.is_open
    store.close()  # closing twice is harmless


# --- restarts ------------------------------------------------------------------------------------------------


async def test_stats_are_restored_from_disk_after_close_and_open(path):
    first = QueueStore(path)
    first.open()
    ids = await enqueue(first, "a", b"aa", b"bbb", b"c")
    await enqueue(first, "b", b"dddd")
    await first.ack("a", ids[:1])
    await first.dead_letter("b", [(await first.peek("b", 0, 1))[0][0]], "http_400", "no")
    journal_ids = await first.commit(Write(enqueue={}, journal_add=[("logs", b"held")]))
    first.close()

    second = QueueStore(path)
    second.open()
    try:
        assert stats(second, "a") == (2, 4)
        assert "b" not in second.stats  # nothing queued for b any more
        assert [p for _, _, p in await second.peek("a", 0, 10)] == [b"bbb", b"c"]
        assert await second.journal() == [(journal_ids[0], "logs", b"held")]
        assert await second.count_dead_letters() == {"b": 1}
        new = await enqueue(second, "a", b"e")
        assert new[0] > ids[-1]  # ids keep growing across restarts (AUTOINCREMENT): cursors stay valid
    finally:
        second.close()


async def test_a_failed_open_leaves_the_store_closed(tmp_path):
    """A file that is not a database: ``open`` raises, and the store must then say it is not open and refuse
    work. (A store that claims to be open with no writer thread makes every later call wait for ever.)"""
    broken = tmp_path / "queue.db"
    broken.write_bytes(b"this is not sqlite" * 100)
    store = QueueStore(broken)
    with pytest.raises(sqlite3.DatabaseError):
        store.open()
    assert not store.is_open
    with pytest.raises(RuntimeError, match="not open"):
        await asyncio.wait_for(store.commit(Write(enqueue={"a": [("span", b"x")]})), 2)


async def test_a_relay_whose_queue_cannot_open_stops_promptly(tmp_path):
    """``Relay.stop`` after a failed start (what ``run_until_signalled`` does) must not wait on a queue store
    that never opened: the CLI would hang instead of printing the one-line StartupError."""
    (tmp_path / "storage").mkdir()
    (tmp_path / "storage" / "queue.db").write_bytes(b"this is not sqlite" * 100)
    relay = Relay(relay_config(None, tmp=tmp_path), base_dir=tmp_path)
    with pytest.raises(StartupError, match="storage.directory"):
        await relay.start()
    await asyncio.wait_for(relay.stop(), 3)


# --- what a delete leaves in the file -----------------------------------------------------------------------------


def _file_bytes(path: Path) -> bytes:
    """The database file after every WAL frame is checkpointed into it and the WAL emptied."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_a_deleted_journal_row_leaves_none_of_the_raw_request_in_the_file(store, path):
    """The journal holds requests as they arrived (content not yet redacted): its rows are deleted with
    secure_delete ON, so neither the b-tree page nor the overflow pages of a large body keep a byte of it."""
    small, large = b"raw-small-" + b"s" * 40, b"raw-large-" + b"L" * 20_000  # the large one spans overflow pages
    ids = await store.commit(Write(enqueue={}, journal_add=[("traces", small), ("traces", large)]))
    await store.commit(Write(enqueue={"a": [("span", b"x" * 10)]}, journal_delete=ids))
    assert await store.journal() == []
    store.close()
    content = _file_bytes(path)
    assert b"raw-small-" not in content and b"raw-large-" not in content
    assert b"LLLLLLLLLLLLLLLL" not in content


async def test_queued_items_are_deleted_without_zeroing_every_freed_page(store, path):
    """Queued items are exporter output (after redaction). Their deletes skip the zero-writes of freed overflow
    pages (secure_delete FAST): the queue's biggest cost per span with ON. The cells in the b-tree are still
    zeroed; the overflow pages of a large item are left as they were, until reused."""
    [item] = await enqueue(store, "a", b"item-head-" + b"I" * 20_000)
    await store.ack("a", [item])
    assert await store.peek("a", 0, 10) == []
    store.close()
    content = _file_bytes(path)
    assert b"item-head-" not in content  # the cell (first bytes, in the b-tree page) is zeroed
    assert b"IIIIIIIIIIIIIIII" in content  # overflow pages were not rewritten: what FAST saves

"""The writer's helper threads (inflating ahead, deflating behind): a failure on either side
stops both, is raised to the caller, and leaves the workbook as it was."""

from __future__ import annotations

import io
import threading
import zlib
from collections.abc import Iterable, Iterator

import pytest
from test_store import INVOICES, SENT, cells

from addin.journal import Journal
from addin.workbook import store, writer


def helper_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("receivables-")]


def test_chunks_made_here_are_consumed_in_the_thread_in_order() -> None:
    seen: list[str] = []

    def consume(chunks: Iterable[bytes]) -> int:
        seen.append(threading.current_thread().name)
        return len(b"".join(chunks))

    assert writer._consumed_in_thread(consume, (bytes([i]) * i for i in range(100))) == sum(range(100))
    assert seen == ["receivables-deflate"] and helper_threads() == []


def test_a_consumer_that_fails_stops_the_producer_and_its_error_is_raised_here() -> None:
    made: list[int] = []
    closed: list[bool] = []

    def produce() -> Iterator[bytes]:
        try:
            for i in range(10_000):
                made.append(i)
                yield b"x"
        finally:
            closed.append(True)  # at once, not whenever the generator is collected

    def consume(chunks: Iterable[bytes]) -> None:
        for i, _ in enumerate(chunks):
            if i == 3:
                raise zlib.error("out of memory")

    with pytest.raises(zlib.error, match="out of memory") as raised:
        writer._consumed_in_thread(consume, produce())
    assert closed == [True] and raised.value is not None
    assert len(made) < 10_000 and helper_threads() == []


def test_a_producer_that_fails_ends_the_consumer_and_its_error_is_raised_here() -> None:
    def produce() -> Iterator[bytes]:
        yield b"row"
        raise writer.BadWorkbook("a sheet ends inside <sheetData>")

    with pytest.raises(writer.BadWorkbook, match="ends inside"):
        writer._consumed_in_thread(lambda chunks: b"".join(chunks), produce())
    assert helper_threads() == []


def test_read_ahead_gives_the_stream_block_by_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "BLOCK", 10)
    data = bytes(range(256)) * 3
    with writer._ReadAhead(io.BytesIO(data)) as stream:  # type: ignore[arg-type]
        blocks = list(iter(stream.read, b""))
    assert b"".join(blocks) == data and {len(b) for b in blocks[:-1]} == {10}
    assert helper_threads() == []


def test_read_ahead_raises_the_stream_error_and_stops_when_left_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "BLOCK", 1)

    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() >= 5:
                raise OSError("Bad CRC-32")
            return super().read(size)

    with writer._ReadAhead(Broken(b"0123456789")) as stream:  # type: ignore[arg-type]
        assert [stream.read() for _ in range(5)] == [b"0", b"1", b"2", b"3", b"4"]
        with pytest.raises(OSError, match="CRC"):
            stream.read()
        assert stream.read() == b""
    with writer._ReadAhead(io.BytesIO(b"x" * 1000)) as stream:  # type: ignore[arg-type]
        stream.read()  # left after one block: the thread must not be left waiting to hand more
    assert helper_threads() == []


def test_a_deflate_failing_in_its_thread_fails_the_write_and_leaves_the_workbook_untouched(
        make_workbook, monkeypatch: pytest.MonkeyPatch) -> None:
    book = make_workbook({"Invoices": INVOICES})
    before = book.read_bytes()
    compress = writer._compress

    def disk_full(chunks: Iterable[bytes], write, what: str):  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "receivables-deflate":
            raise OSError(28, "No space left on device")
        return compress(chunks, write, what)

    monkeypatch.setattr(writer, "_compress", disk_full)
    with pytest.raises(OSError, match="No space"):
        writer.apply(book, book.with_name("out.xlsx"), [SENT])
    assert not book.with_name("out.xlsx").exists()
    with Journal.open(book) as journal:
        result = store.write_updates(book, [SENT], journal)
        assert not result.written and "could not be updated (" in str(result.problems[0])
        assert len(journal.pending_updates()) == 1  # kept for the next run
    assert book.read_bytes() == before and not list(book.parent.glob("*.receivables-tmp*"))
    assert helper_threads() == []
    monkeypatch.undo()
    with Journal.open(book) as journal:
        assert store.flush_pending(book, journal).written
    assert cells(book, "Invoices")[2][5] == "Reminder 1 sent 2026-04-07"

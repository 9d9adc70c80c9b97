"""Rows given by the reader (``writer.Where``): the same file as looking every key up, never a wrong row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import calamine, part, rezip, with_shared_strings
from test_writer_runs import HEAD, ODD_ROWS, PLAIN_ROWS, TAIL, TARGET, UPDATES

from addin.actions import SetCells, SetColumn, Update, row
from addin.dashboard import refresh_book, where_read
from addin.journal import Journal
from addin.workbook import guard, store, writer
from addin.workbook.reader import load
from addin.workbook.writer import apply

KEYS = ("invoices", "invoice no")
ROWS = {"INV-1": 2, "INV-2": 3, "INV-3": 5, "INV-4": 7, "INV-5": 8, "INV-6": 9}  # as PLAIN_ROWS has them


@pytest.fixture(params=[(PLAIN_ROWS, False), (ODD_ROWS, False), (PLAIN_ROWS, True)],
                ids=["r-first", "r-elsewhere", "shared-strings"])
def sheet(request: pytest.FixtureRequest, make_workbook) -> Path:
    rows, shared = request.param
    src = make_workbook({"Invoices": [["x"]]}, required=False)
    rezip(src, {TARGET: HEAD + b"".join(rows) + TAIL})
    return with_shared_strings(src) if shared else src


def written(src: Path, out: Path, where: writer.Where | None,
            updates: list[Update] | None = None) -> tuple[bytes, writer.WriteReport]:
    report = apply(src, out, UPDATES if updates is None else updates, where)
    return part(out, TARGET), report


def as_columns(updates: list[SetCells]) -> list[Update]:
    """The same cells as SetColumns, a column each (as a refresh gives them)."""
    headers = list(dict.fromkeys(h for u in updates for h, _ in u.values))
    return [SetColumn(updates[0].sheet, updates[0].key_header, h, tuple(u.key for u in updates if h in dict(u.values)),
                      tuple(dict(u.values)[h] for u in updates if h in dict(u.values))) for h in headers]


@pytest.mark.parametrize("where", [None, ROWS, {**ROWS, "INV-1": 3, "INV-2": 2}, {**ROWS, "INV-4": 5},
                                   {k: v for k, v in ROWS.items() if k in ("INV-2", "INV-5")}],
                         ids=["looked-up", "given", "swapped", "shared-row", "some-given"])
def test_columns_make_the_file_the_cells_they_stand_for_make(sheet: Path, tmp_path: Path,
                                                             where: dict[str, int] | None) -> None:
    """A SetColumn is a SetCells for each of its keys: the same file and report, whether its
    rows are looked up, given (right or wrong: the keys are then looked up) or partly given."""
    cells = written(sheet, tmp_path / "cells.xlsx", None)
    columns = written(sheet, tmp_path / "columns.xlsx", {KEYS: where} if where else None, as_columns(UPDATES))
    assert columns == cells


def test_rows_given_make_the_same_file_as_keys_looked_up(sheet: Path, tmp_path: Path) -> None:
    looked_up = written(sheet, tmp_path / "keys.xlsx", None)
    given = written(sheet, tmp_path / "rows.xlsx", {KEYS: ROWS})
    assert given == looked_up
    assert calamine(tmp_path / "rows.xlsx", "Invoices")[1] == ["INV-1", 10.0, 1.0, "n1"]


@pytest.mark.parametrize("shared", [False, True], ids=["inline", "shared-strings"])
def test_rows_given_are_not_looked_for(make_workbook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       shared: bool) -> None:
    src = make_workbook({"Invoices": [["x"]]}, required=False)
    rezip(src, {TARGET: HEAD + b"".join(PLAIN_ROWS) + TAIL})
    if shared:
        with_shared_strings(src)
        assert b't="s"' in part(src, TARGET)
    expected = written(src, tmp_path / "keys.xlsx", None)

    def no_lookup(*args: object) -> None:
        raise AssertionError("a key was read from every row")

    monkeypatch.setattr(writer._SheetPlan, "_key", no_lookup)
    monkeypatch.setattr(writer, "_apply", once(writer._apply))  # no second try
    assert written(src, tmp_path / "rows.xlsx", {KEYS: ROWS}) == expected


def once(function):
    calls = []

    def first_only(*args, **kwargs):
        calls.append(1)
        assert len(calls) == 1, "the rows given were not used"
        return function(*args, **kwargs)

    return first_only


@pytest.mark.parametrize("wrong", [
    {**ROWS, "INV-1": 3, "INV-2": 2},  # two rows swapped
    {**ROWS, "INV-6": 8, "INV-5": 9},
    {**ROWS, "INV-3": 4},  # an empty row
    {**ROWS, "INV-4": 99},  # no such row
    {**ROWS, "INV-4": 1},  # the header
    {**ROWS, "INV-4": 5},  # two keys on one row
], ids=["swapped", "swapped-last", "empty-row", "missing-row", "header", "shared-row"])
def test_a_wrong_row_is_never_written_the_keys_are_looked_up_instead(sheet: Path, tmp_path: Path,
                                                                     wrong: dict[str, int]) -> None:
    looked_up = written(sheet, tmp_path / "keys.xlsx", None)
    assert written(sheet, tmp_path / "wrong.xlsx", {KEYS: wrong}) == looked_up


def test_keys_the_rows_do_not_give_are_still_looked_up(sheet: Path, tmp_path: Path) -> None:
    looked_up = written(sheet, tmp_path / "keys.xlsx", None)
    some = {k: v for k, v in ROWS.items() if k in ("INV-2", "INV-5")}
    assert written(sheet, tmp_path / "some.xlsx", {KEYS: some}) == looked_up


def test_the_store_gives_rows_only_while_the_file_is_the_one_read(make_workbook, monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_workbook({"Invoices": [["Invoice No", "Amount", "Paid"], ["INV-1", 10, None], ["INV-2", 20, None]]})
    read = guard.fingerprint(src)
    given: list[object] = []

    def spy(src: Path, dst: Path, updates: list, where: writer.Where | None = None,
            watch: writer.Watch | None = None) -> writer.WriteReport:
        given.append(where)
        return apply(src, dst, updates, where, watch)

    monkeypatch.setattr(store, "apply", spy)
    where = {KEYS: {"INV-2": 3}}
    update = SetCells("Invoices", "Invoice No", "INV-2", row(Paid=5.0))
    with Journal.open(src) as journal:
        assert store.write_updates(src, [], journal, read, derived=[update], where=where).written
        assert given == [where]
        # the file has changed since it was read (by our own write here): no rows are given
        assert store.write_updates(src, [], journal, read, derived=[update], where=where).written
        assert given == [where, None]
    assert calamine(src, "Invoices")[2] == ["INV-2", 20.0, 5.0]


def test_a_refresh_after_rows_moved_writes_each_invoice_on_its_own_row(make_workbook) -> None:
    """Read, then someone inserts a row above the invoices and saves: the figures follow the keys."""
    src = make_workbook({
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Alpha", "Active", "a@example.com"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Paid", "Balance", "Status"],
                     ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 100, None, None, None],
                     ["INV-2", "C1", dt.date(2026, 3, 2), dt.date(2026, 4, 1), 200, None, None, None]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],
                     ["P1", "C1", dt.date(2026, 3, 10), 40, "INV-2"]],
    })
    book = load(src)
    assert where_read(book)[KEYS] == {"INV-1": 2, "INV-2": 3}
    invoices = _part_of(src, "Invoices")
    rezip(src, {invoices: _shift_rows(part(src, invoices))})
    done = refresh_book(book, dt.date(2026, 4, 30))
    assert done.written
    rows = calamine(src, "Invoices")
    assert set(rows[1]) == {""}  # the inserted row stays empty
    assert rows[2][0] == "INV-1" and rows[2][5:8] == [0.0, 100.0, "Overdue"]
    assert rows[3][0] == "INV-2" and rows[3][5:8] == [40.0, 160.0, "Overdue"]


def _part_of(path: Path, sheet: str) -> str:
    pkg = writer._Package(path)
    try:
        return writer._Book(pkg).sheet(sheet).part  # type: ignore[union-attr]
    finally:
        pkg.close()


def _shift_rows(xml: bytes) -> bytes:
    """Every row from 2 down moves one down (an empty row 2 is left), as Excel's Insert Row does."""
    import re

    def row_tag(m: re.Match[bytes]) -> bytes:
        n = int(m.group(1))
        return b'<row r="%d"' % (n + 1 if n >= 2 else n)

    def cell_ref(m: re.Match[bytes]) -> bytes:
        n = int(m.group(2))
        return b'<c r="%s%d"' % (m.group(1), n + 1 if n >= 2 else n)

    return re.sub(rb'<c r="([A-Z]+)(\d+)"', cell_ref, re.sub(rb'<row r="(\d+)"', row_tag, xml))


def test_where_read_gives_each_key_its_first_row_and_skips_records_without_one() -> None:
    from types import SimpleNamespace as Record

    def rec(row: int, **key: str) -> Record:
        return Record(origin=Record(row=row), **key)

    book = Record(invoices=[rec(5, number="INV-1"), rec(0, number="INV-2"), rec(9, number="INV-1"), rec(7, number="INV-3")],
                  customers=[rec(2, id="C1"), rec(3, id="C1")])
    assert where_read(book) == {KEYS: {"INV-1": 5, "INV-3": 7}, ("customers", "customer id"): {"C1": 2}}  # type: ignore[arg-type]

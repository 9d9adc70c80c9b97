"""Rows given by the reader (``writer.Where``): the same file as looking every key up, never a wrong row."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import calamine, part, rezip, with_shared_strings
from test_writer_runs import HEAD, ODD_ROWS, PLAIN_ROWS, TAIL, TARGET, UPDATES

from addin.actions import SetCells, SetColumn, Update
from addin.workbook import writer
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

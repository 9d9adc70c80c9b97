"""Column letters and a number's text: each decided in one place."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addin.numtext import integral, number_text
from addin.workbook.cellref import MAX_COLUMN, letters, number, ref, split


@pytest.mark.parametrize(("column", "text"), [(1, "A"), (26, "Z"), (27, "AA"), (52, "AZ"), (53, "BA"),
                                              (702, "ZZ"), (703, "AAA"), (MAX_COLUMN, "XFD")])
def test_letters_and_number(column: int, text: str) -> None:
    assert letters(column) == text
    assert number(text) == number(text.lower()) == number(f"${text}") == column


@given(st.integers(1, 10 * MAX_COLUMN))
def test_letters_round_trip(column: int) -> None:
    assert number(letters(column)) == column


@given(st.integers(1, MAX_COLUMN), st.integers(1, 1_048_576))
def test_refs_round_trip(column: int, row: int) -> None:
    assert split(ref(column, row)) == (column, row)


def test_refs_and_refusals() -> None:
    assert ref(3, 12) == "C12"
    assert split("$AB$7") == (28, 7)
    for bad in ("", "A1", "Ä"):
        with pytest.raises(ValueError):
            number(bad)
    for bad in ("AB", "12", ""):
        with pytest.raises(ValueError):
            split(bad)
    with pytest.raises(ValueError):
        letters(0)


@pytest.mark.parametrize(("value", "whole", "text"), [
    (1001.0, 1001, "1001"), (-3.0, -3, "-3"), (0.0, 0, "0"), (-0.0, 0, "0"), (2.5, None, "2.5"),
    (0.1 + 0.2, None, "0.30000000000000004"), (1e15, None, "1E+15"), (float("inf"), None, "INF"),
    (float("nan"), None, "NAN"), (999_999_999_999_999.0, 999_999_999_999_999, "999999999999999"),
])
def test_integral_and_text(value: float, whole: int | None, text: str) -> None:
    assert integral(value) == whole
    assert number_text(value) == text


@given(st.one_of(st.floats(allow_nan=False), st.sampled_from([1001.0, 1e15, 1e16, -2.5e17, 12.5])))
def test_a_number_cell_is_the_same_key_to_the_reader_and_to_excel_s_open_workbook(value: float) -> None:
    """The open workbook (the ribbon's Refresh) finds a row by the key the reader made of the same cell."""
    from addin.excel.live import key_text
    from addin.workbook.cells import as_text
    from addin.workbook.schema import normalize

    assert key_text(value) == normalize(as_text(value))

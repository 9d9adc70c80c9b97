"""The planner, pure: a sheet's layout and the updates -> the rows to change, delete and add.

Layouts are written inline here, as the one pass over a sheet would give them.
"""

from __future__ import annotations

import datetime as dt

import pytest

from addin.actions import AppendRows, ReplaceRows, SetAt, SetCells, SetColumn, row
from addin.workbook.writer import WriteRefused
from addin.workbook.writer.layout import Layout, Table
from addin.workbook.writer.planner import plan, wanted

HEADER = {"group": 1, "customer id": 2, "source": 3}
MEMBERS = Layout(  # rows 2-6: VIP C1 Rule, VIP C2 Added, Small C3 Rule, VIP C4 Rule, Small C5 Rule
    "Group Members", HEADER,
    keys={2: {1: "vip", 3: "rule"}, 3: {1: "vip", 3: "added"}, 4: {1: "small", 3: "rule"},
          5: {1: "vip", 3: "rule"}, 6: {1: "small", 3: "rule"}},
    present=(1, 2, 3, 4, 5, 6), candidates=(2, 3, 4, 5, 6))


def test_the_keys_looked_for_are_normalized_by_column() -> None:
    assert wanted([SetCells("S", " Invoice  No", " INV-1 ", ()), SetColumn("S", "invoice no", "Paid", ("Inv-2",), (1,)),
                   ReplaceRows("S", (("Group", "VIP"),)), AppendRows("S", ())]) == {
        "invoice no": frozenset({"inv-1", "inv-2"}), "group": frozenset({"vip"})}


def test_replacing_rows_deletes_the_matches_and_appends_below_the_last_record_moved_up() -> None:
    edits = plan(MEMBERS, [(0, ReplaceRows("Group Members", (("Group", "vip"), ("Source", "Rule")),
                                           (row(Group="VIP", Customer_ID="C9", Source="Rule"),)))])
    assert edits.deleted == (2, 5)
    assert edits.new_rows == ((5, {1: "VIP", 2: "C9", 3: "Rule"}),)  # row 6 moves up to 4
    assert (edits.appended, edits.grow, edits.problems, edits.skipped) == (1, (6, 5), (), ())


def test_a_row_set_by_one_update_is_found_by_its_new_key_by_the_next() -> None:
    edits = plan(MEMBERS, [(0, SetCells("Group Members", "Source", "added", row(Source="Rule", Group="Gold"))),
                           (1, SetCells("Group Members", "Group", "GOLD", row(Customer_ID="C22")))])
    assert edits.row_sets == {3: {3: "Rule", 1: "Gold", 2: "C22"}}
    assert edits.skipped == ()


def test_rows_appended_by_one_update_may_be_replaced_by_the_next() -> None:
    edits = plan(MEMBERS, [(0, AppendRows("Group Members", (row(Group="New", Customer_ID="C7"),))),
                           (1, ReplaceRows("Group Members", (("Group", "new"),)))])
    assert (edits.new_rows, edits.appended) == ((), 0)


def test_a_missing_key_or_column_is_a_problem_and_the_rest_is_planned() -> None:
    edits = plan(MEMBERS, [(0, SetCells("Group Members", "Group", "Nope", row(Source="x"))),
                           (1, SetCells("Group Members", "Customer", "C1", row(Source="x"))),
                           (2, SetCells("Group Members", "Group", "small", row(Source="Gone", Note="n")))])
    assert edits.skipped == (0, 1)
    assert [str(p) for p in edits.problems] == [
        'warning: \'Group Members\': Group "Nope" was not found, so its row was not updated — '
        "check that the row was not deleted or its key changed",
        'warning: \'Group Members\'!1: column "Customer" is missing, so "C1" could not be updated — '
        'add the header "Customer" in row 1',
        'warning: \'Group Members\'!1: column "Note" is missing, so it was not written — add the header "Note" in row 1']
    assert edits.row_sets == {4: {3: "Gone"}}  # the first of two rows with the key


def test_a_sheet_without_headers_but_with_rows_is_not_written() -> None:
    edits = plan(Layout("Log", {}, present=(2, 3), candidates=(2, 3)), [(4, AppendRows("Log", (row(Action="x"),)))])
    assert not edits.write and edits.skipped == (4,)
    assert [str(p) for p in edits.problems] == [
        "Log!1: row 1 holds no headers — type the column headers in row 1; records start in row 2"]


def test_an_empty_sheet_gets_the_schemas_headers_and_the_rows_below() -> None:
    edits = plan(Layout("Log", {}), [(0, AppendRows("Log", (row(Action="sent", Time=dt.date(2026, 4, 7)),)))])
    (header_row, header), (at, values) = edits.new_rows
    assert (header_row, at, edits.header_new, edits.appended) == (1, 2, True, 1)
    assert list(header.values())[:3] == ["Time", "Action", "Target"]
    assert values == {1: dt.date(2026, 4, 7), 2: "sent"}


def test_blank_looking_rows_at_the_end_are_not_the_last_record() -> None:
    layout = Layout("Log", {"action": 1}, present=(1, 2, 3, 4), candidates=(2, 3, 4), blank=frozenset({3, 4}))
    edits = plan(layout, [(0, AppendRows("Log", (row(Action="x"),)))])
    assert edits.new_rows == ((3, {1: "x"}),)


def test_cells_by_address_go_into_rows_the_sheet_has_rows_appended_or_new_rows() -> None:
    layout = Layout("Dashboard", {}, present=(1, 2, 5), candidates=(2, 5))
    edits = plan(layout, [(0, SetAt("Dashboard", (("B2", 1.5), ("C9", "x"), ("b2", 2.5))))])
    assert edits.row_sets == {2: {2: 2.5}}
    assert edits.new_rows == ((9, {3: "x"}),) and edits.at_rows == {2, 9}


def test_deleting_rows_above_a_formula_is_refused_naming_the_update() -> None:
    layout = Layout("Group Members", HEADER, keys=MEMBERS.keys, present=MEMBERS.present,
                    candidates=MEMBERS.candidates, formula_rows=(6,))
    with pytest.raises(WriteRefused) as refused:
        plan(layout, [(3, SetCells("Group Members", "Group", "small", row(Source="x"))),
                      (7, ReplaceRows("Group Members", (("Source", "added"),)))])
    assert refused.value.index == 7
    assert str(refused.value.problem()) == (
        "'Group Members': rows cannot be deleted: formulas below row 3 would have to move"
        " — remove them from the Group Members sheet (it should hold plain data only)")


def test_a_key_changed_after_a_lookup_is_found_under_its_new_value_only() -> None:
    edits = plan(MEMBERS, [(0, SetCells("Group Members", "Source", "added", row(Customer_ID="C2b"))),  # a lookup first
                           (1, SetCells("Group Members", "Source", "added", row(Source="Moved"))),
                           (2, SetCells("Group Members", "Source", "moved", row(Customer_ID="C2c"))),
                           (3, SetCells("Group Members", "Source", "added", row(Customer_ID="lost")))])
    assert edits.row_sets == {3: {2: "C2c", 3: "Moved"}}
    assert edits.skipped == (3,)


def test_a_row_deleted_after_a_lookup_is_not_found_again() -> None:
    edits = plan(MEMBERS, [(0, SetCells("Group Members", "Source", "added", row(Customer_ID="C2b"))),  # a lookup first
                           (1, ReplaceRows("Group Members", (("Source", "added"),))),
                           (2, SetColumn("Group Members", "Source", "Customer ID", ("Added",), ("gone",)))])
    assert edits.deleted == (3,)
    assert edits.skipped == (2,)
    assert "gone" not in [v for sets in edits.row_sets.values() for v in sets.values()]  # written nowhere


def test_a_column_update_that_sets_keys_finds_each_row_after_the_writes_before_it() -> None:
    moved = SetColumn("Group Members", "Source", "Source", ("added", "moved"), ("moved", "again"))
    edits = plan(MEMBERS, [(0, moved), (1, SetCells("Group Members", "Source", "again", row(Group="Gold")))])
    assert edits.row_sets == {3: {3: "again", 1: "Gold"}}
    assert edits.skipped == ()


def test_a_column_update_sets_the_first_row_holding_each_key_and_skips_the_keys_not_found() -> None:
    edits = plan(MEMBERS, [(0, SetColumn("Group Members", "Group", "Customer ID", ("VIP", "nope", "small"), ("a", "b", "c")))])
    assert edits.row_sets == {2: {2: "a"}, 4: {2: "c"}}  # rows 3 and 5 hold VIP too, row 6 Small
    assert edits.skipped == ()
    assert [p.message for p in edits.problems] == ['Group "nope" was not found, so its row was not updated']
    nothing = plan(MEMBERS, [(0, SetColumn("Group Members", "Group", "Customer ID", ("nope",), ("b",)))])
    assert (nothing.row_sets, nothing.skipped) == ({}, (0,))


def test_rows_to_append_below_a_tables_totals_row_are_refused_before_anything_is_written() -> None:
    log = Layout("Log", {"time": 1, "action": 2}, present=(1, 2, 3), candidates=(2, 3),
                 tables=(Table("xl/tables/table1.xml", b"<table/>", 1, 1, 3, 2, totals=1),))
    with pytest.raises(WriteRefused) as caught:
        plan(log, [(0, SetAt("Log", (("D1", "note"),))), (1, AppendRows("Log", (row(Action="sent"),)))])
    assert caught.value.index == 1
    assert plan(log, [(0, SetAt("Log", (("D1", "note"),)))]).appended == 0  # nothing appended: no refusal


@pytest.mark.parametrize("layout", [
    Layout("Log", {"time": 1, "action": 2}, present=(1, 2, 3), candidates=(2, 3),
           tables=(Table("xl/tables/table1.xml", b"<table/>", 1, 1, 3, 2, totals=1),)),  # below a totals row
    Layout("Log", {"time": 1, "action": 2}, present=(1, 2, 1_048_576), candidates=(2, 1_048_576)),  # no room left
])
def test_a_refusal_of_new_rows_names_the_update_that_adds_them(layout: Layout) -> None:
    """The store sets the named update aside and writes the others: naming the last one would
    set aside an innocent update, and keep the one refused."""
    with pytest.raises(WriteRefused) as caught:
        plan(layout, [(0, SetCells("Log", "Action", "x", row(Time="t"))), (1, AppendRows("Log", (row(Action="sent"),))),
                      (2, SetCells("Log", "Action", "y", row(Time="u")))])
    assert caught.value.index == 1

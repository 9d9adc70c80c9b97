"""Bad group rules through the real CLI: `check` names the cell, `groups build` keeps the group as it was."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from addin.cli import main

D = dt.date
CUSTOMERS = [
    ["Customer ID", "Name", "Status", "Email", "State"],
    ["C1", "Low Ltd", "Active", "low@example.com", "CA"],
    ["C2", "Vegas Co", "Active", "vegas@example.com", "NV"],
    ["C3", "Ontario Inc", "Active", "on@example.com", "ON"],
]
INVOICES = [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
            ["INV-1", "C1", D(2026, 3, 1), D(2026, 3, 31), 100]]
GROUPS = [["Group", "Description", "Kind", "Auto Update", "Members", "Updated"],
          ["West", "Our west", "Customer", True, 1, dt.datetime(2026, 4, 1, 9, 0)],
          ["North", "Up north", "Customer", True, None, None]]
MEMBERS = [["Group", "Customer ID", "Name", "Source"],
           ["West", "C1", "Low Ltd", "Rule"],
           ["West", "C3", "Ontario Inc", "Added"]]


@pytest.fixture(autouse=True)
def admin(monkeypatch):
    monkeypatch.setenv("RECEIVABLES_USER", "boss")


def book(make_workbook, *west_rules: list) -> Path:
    rules = [["Group", "Field", "Operator", "Value", "Value 2"], *west_rules, ["North", "State", "is one of", "NV, ON"]]
    return make_workbook({"Customers": CUSTOMERS, "Invoices": INVOICES, "Groups": GROUPS, "Group Rules": rules,
                          "Group Members": MEMBERS})


def rows(path: Path, sheet: str) -> list[tuple]:
    from openpyxl import load_workbook

    return [r for r in load_workbook(path)[sheet].iter_rows(values_only=True) if any(v is not None for v in r)]


@pytest.mark.parametrize("west_rule, message", [
    (["West", "State", "atleast", "CA"],
     "'Group Rules'!C2: operator \"atleast\" is not an operator — did you mean \"at least\"?"),
    (["West", "Stat", "is", "CA"],
     "'Group Rules'!B2: field \"Stat\" is not a Customers header or a computed field — did you mean \"State\"?"),
    (["West", "State", None, "CA"], "'Group Rules'!C2: the operator is missing — choose one from the drop-down"),
    (["West", "Balance", "between", 10, None],
     "'Group Rules'!E2: \"Balance between\" needs a second value — type the upper bound in Value 2 "
     "(bounds are included)"),
    (["West", "Balance", "greater than", "lots"],
     "'Group Rules'!D2: \"lots\" is not a number — Balance is a number: type one such as 1000"),
    (["West", "Last Payment Date", "before", "soon"],
     "'Group Rules'!D2: \"soon\" is not a date — type a date such as 2026-03-31"),
], ids=["mistyped-operator", "mistyped-field", "no-operator", "between-without-value-2", "number-on-text",
        "date-on-text"])
def test_a_bad_rule_is_reported_and_its_group_keeps_its_members(make_workbook, capsys, west_rule, message):
    wb = book(make_workbook, west_rule)

    assert main(["check", str(wb)]) == 1
    assert message in capsys.readouterr().out.splitlines()

    before_members, before_groups = rows(wb, "Group Members"), rows(wb, "Groups")
    assert main(["groups", "build", str(wb), "--as-of", "2026-04-15"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert message in out
    assert 'group "West": not rebuilt, its members stay as they are — fix its rules' in out
    after = rows(wb, "Group Members")
    assert [r for r in after if r[0] == "West"] == [r for r in before_members if r[0] == "West"]
    assert sorted(r[1] for r in after if r[0] == "North") == ["C2", "C3"]  # the other group is built
    assert [r for r in rows(wb, "Groups") if r[0] == "West"] == [r for r in before_groups if r[0] == "West"]


def test_is_one_of_with_commas_matches_each_value(make_workbook, capsys):
    wb = book(make_workbook, ["West", "State", "is", "CA"])

    assert main(["check", str(wb)]) == 0
    assert main(["groups", "build", str(wb), "--as-of", "2026-04-15"]) == 0
    assert 'group "North": 2 members (2 by rule)' in capsys.readouterr().out
    assert sorted(r[1:] for r in rows(wb, "Group Members") if r[0] == "North") == [
        ("C2", "Vegas Co", "Rule"), ("C3", "Ontario Inc", "Rule")]

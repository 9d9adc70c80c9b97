"""`receivables groups …` end to end: a real .xlsx, the real CLI, .eml files in an outbox."""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import io
from pathlib import Path

import pytest

from addin.cli import main

D = dt.date

CUSTOMERS = [
    ["Customer ID", "Name", "Status", "Email", "State", "Contact", "City"],
    ["C1", "Low Edge Ltd", "Active", "low@example.com", "CA", "Lou Low", "Fresno"],
    ["C2", "High Edge Inc", "Active", "high@example.com; ap@high.example.com", "CA", "Hana High", "Napa"],
    ["C3", "Below Co", "Active", "below@example.com", "CA", "", "Davis"],
    ["C4", "Above Co", "Active", "above@example.com", "CA", "", "Chico"],
    ["C5", "Sleepy Co", "Inactive", "sleepy@example.com", "CA", "", "Ukiah"],
    ["C6", "Vegas Co", "Active", "vegas@example.com", "NV", "", "Reno"],
    ["C7", "@SUM(1+1)*cmd", "Active", "evil@example.com", "CA", "", "Lodi"],
]
INVOICES = [
    ["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
    *[[f"INV-{cid}", cid, D(2026, 3, 1), D(2026, 3, 31), amount] for cid, amount in (
        ("C1", 100.00), ("C2", 1000.00), ("C3", 99.99), ("C4", 1000.01), ("C5", 500), ("C6", 500), ("C7", 500))],
]
GROUPS = [["Group", "Description", "Kind", "Auto Update", "Members", "Updated"], ["West", None, "Customer", True],
          ["Frozen", "Kept as built", "Customer", False]]
RULES = [
    ["Group", "Field", "Operator", "Value", "Value 2"],
    ["West", "Status", "is", "Active", None],
    ["West", "State", "is", "CA", None],
    ["West", "Balance", "between", 100, "1,000"],
    ["Frozen", "State", "is", "NV", None],
]
MEMBERS = [["Group", "Customer ID", "Name", "Source"], ["West", "C2", "", "Removed"], ["West", "C6", "", "Added"]]


def tables(**more):
    base = {"Customers": CUSTOMERS, "Invoices": INVOICES, "Groups": GROUPS, "Group Rules": RULES,
            "Group Members": MEMBERS}
    base.update(more)
    return base


def sheet_rows(path: Path, name: str) -> list[tuple]:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return [r for r in wb[name].iter_rows(values_only=True) if any(v is not None for v in r)]


@pytest.fixture(autouse=True)
def admin(monkeypatch):
    monkeypatch.setenv("RECEIVABLES_USER", "boss")


def test_build_writes_rule_rows_members_and_updated_and_keeps_peoples_rows(make_workbook, capsys):
    wb = make_workbook(tables())
    assert main(["groups", "build", str(wb), "--as-of", "2026-04-15"]) == 0
    rows = sheet_rows(wb, "Group Members")
    assert rows[1:3] == [("West", "C2", None, "Removed"), ("West", "C6", None, "Added")]
    assert sorted(r[:2] + r[3:] for r in rows[3:]) == [
        ("Frozen", "C6", "Rule"), ("West", "C1", "Rule"), ("West", "C2", "Rule"), ("West", "C7", "Rule")]
    groups = {r[0]: r for r in sheet_rows(wb, "Groups")[1:]}
    header = sheet_rows(wb, "Groups")[0]
    west = dict(zip(header, groups["West"], strict=False))
    assert west["Members"] == 3  # C1, C7 by rule, C6 added, C2 removed
    assert west["Description"] == "Status is Active · State is CA · Balance between 100.00 and 1,000.00"
    assert isinstance(west["Updated"], dt.datetime)
    assert dict(zip(header, groups["Frozen"], strict=False))["Description"] == "Kept as built"


def test_show_prints_the_summary_line_and_the_visible_members(make_workbook, capsys):
    wb = make_workbook(tables())
    assert main(["groups", "show", str(wb), "West", "--as-of", "2026-04-15"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "West: Status is Active · State is CA · Balance between 100.00 and 1,000.00"
    assert [line.split()[0] for line in out[2:-1]] == ["C1", "C6", "C7"]
    assert "$1,000.00" not in "\n".join(out) and "$100.00" in out[2]
    assert out[-1] == "3 members as of 2026-04-15"


def test_show_an_unknown_group_is_bad_usage(make_workbook, capsys):
    wb = make_workbook(tables())
    assert main(["groups", "show", str(wb), "Nope"]) == 2
    assert 'group "Nope" is not on the Groups sheet — check the name (groups: West, Frozen)' in capsys.readouterr().err


def test_a_limited_user_sees_only_their_groups_customers(make_workbook, capsys, monkeypatch):
    users = [["User", "Role", "Group"], ["boss", "Admin", None], ["lee", "Limited", "Frozen"]]
    wb = make_workbook(tables(Users=users))
    monkeypatch.setenv("RECEIVABLES_USER", "lee")
    assert main(["groups", "show", str(wb), "West", "--as-of", "2026-04-15"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:-1]] == ["C6"]
    monkeypatch.setenv("RECEIVABLES_USER", "stranger")
    assert main(["groups", "show", str(wb), "West"]) == 1
    assert 'user "stranger" is not on the Users sheet, so has no access' in capsys.readouterr().out


def test_email_writes_one_eml_per_member_and_nothing_new_the_second_time(make_workbook, tmp_path, capsys):
    wb = make_workbook(tables())
    outbox = tmp_path / "out"
    argv = ["groups", "email", str(wb), "West", "--subject", "Hello {{ customer.name }}",
            "--message", "Dear {{ customer.first_name }},\n\nWe moved.", "--as-of", "2026-04-15",
            "--outbox", str(outbox)]
    assert main(argv) == 0
    files = sorted(outbox.rglob("*.eml"))
    messages = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
    assert [[a.addr_spec for a in m["To"].addresses] for m in sorted(messages, key=lambda m: str(m["To"]))] == [
        ["evil@example.com"], ["low@example.com"], ["vegas@example.com"]]
    assert all(m["Cc"] is None and m["Bcc"] is None for m in messages)
    capsys.readouterr()
    assert main(argv) == 0
    assert sorted(outbox.rglob("*.eml")) == files
    assert "3 member(s) already received this message on 2026-04-15: not sent again" in capsys.readouterr().out
    log = sheet_rows(wb, "Log")
    assert [(r[1], r[2], r[4]) for r in log[1:]] == [("group email", c, "sent") for c in ("C1", "C6", "C7")]


def test_email_only_some_members(make_workbook, tmp_path):
    wb = make_workbook(tables())
    outbox = tmp_path / "out"
    assert main(["groups", "email", str(wb), "West", "--subject", "S", "--message", "M", "--only", "C1,C6",
                 "--as-of", "2026-04-15", "--outbox", str(outbox)]) == 0
    to = sorted(a.addr_spec for f in outbox.rglob("*.eml")
                for a in email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["To"].addresses)
    assert to == ["low@example.com", "vegas@example.com"]


def test_export_writes_a_safe_mailing_list(make_workbook, tmp_path, capsys):
    wb = make_workbook(tables())
    out = tmp_path / "lists" / "west.csv"
    assert main(["groups", "export", str(wb), "West", "--out", str(out), "--as-of", "2026-04-15"]) == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["Customer ID", "Name", "Contact", "Email", "Address", "City", "State", "Postal Code", "Country"]
    assert [r[0] for r in rows[1:]] == ["C1", "C6", "C7"]
    assert rows[3][1] == "'@SUM(1+1)*cmd"
    assert capsys.readouterr().out.strip() == f'wrote 3 members of group "West" to {out}'


def test_delete_is_refused_while_a_reminder_uses_the_group(make_workbook, capsys):
    reminders = [["Reminder", "Enabled", "Days", "When", "Subject", "Greeting", "Salutation", "Message", "Group"],
                 [1, True, 3, "Before", None, None, None, None, "West"]]
    wb = make_workbook(tables(Reminders=reminders))
    before = wb.read_bytes()
    assert main(["groups", "delete", str(wb), "West"]) == 1
    assert 'Reminders!I2: uses group "West" — clear that cell first' in capsys.readouterr().out
    assert wb.read_bytes() == before


def test_delete_is_refused_for_a_user_who_is_not_admin(make_workbook, capsys, monkeypatch):
    wb = make_workbook(tables(Users=[["User", "Role", "Group"], ["boss", "Admin", None], ["ann", "Full", None]]))
    monkeypatch.setenv("RECEIVABLES_USER", "ann")
    assert main(["groups", "delete", str(wb), "Frozen"]) == 1
    assert 'Users!B3: user "ann" is Full: only an Admin may delete a group — ask an Admin to do it' in \
        capsys.readouterr().out


def test_delete_removes_the_group_rules_and_members_rows(make_workbook):
    wb = make_workbook(tables())
    assert main(["groups", "delete", str(wb), "west"]) == 0
    assert [r[0] for r in sheet_rows(wb, "Groups")[1:]] == ["Frozen"]
    assert [r[0] for r in sheet_rows(wb, "Group Rules")[1:]] == ["Frozen"]
    assert sheet_rows(wb, "Group Members")[1:] == []
    assert len(sheet_rows(wb, "Customers")) == len(CUSTOMERS)


def test_a_limited_user_builds_only_their_own_group(make_workbook, capsys, monkeypatch):
    users = [["User", "Role", "Group"], ["boss", "Admin", None], ["lee", "Limited", "Frozen"]]
    wb = make_workbook(tables(Users=users))
    monkeypatch.setenv("RECEIVABLES_USER", "lee")
    assert main(["groups", "build", str(wb), "--group", "West"]) == 1
    assert capsys.readouterr().out.strip() == (
        'Users!C3: user "lee" is Limited to group "Frozen" and may not build group "West" — '
        "build your own group, or ask an Admin or a Full user")
    assert main(["groups", "build", str(wb), "--as-of", "2026-04-15"]) == 0
    assert [r[0] for r in sheet_rows(wb, "Group Members")[1:] if r[3] == "Rule"] == ["Frozen"]

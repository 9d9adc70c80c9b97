"""Updates that wait while the workbook is open: who has it open, and which commands write them after."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from addin.actions import SetCells, row
from addin.cli import command_words, main
from addin.journal import Journal
from addin.workbook import store

d = dt.date
DAY = "2026-03-20"  # no reminder is due: a command that sends has nothing to send
WAITING = SetCells("Invoices", "Invoice No", "INV-1", row(Memo="written from the journal"))

TABLES = {
    "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"], ["company_email", "billing@maple.example"],
                 ["reminders_enabled", True]],
    "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Acme Ltd", "Active", "ap@acme.example"]],
    "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Memo"],
                 ["INV-1", "C1", d(2026, 3, 1), d(2026, 3, 31), 1000, None]],
    "Reminders": [["Reminder", "Enabled", "Days", "When"], [1, True, 3, "Before"]],
    "Groups": [["Group", "Auto Update"], ["All", True]],
    "Group Rules": [["Group", "Field", "Operator", "Value"], ["All", "Status", "is", "Active"]],
    "Group Members": [["Group", "Customer ID", "Name", "Source"]],
    "Log": [["Time", "Action", "Target", "Recipients", "Status", "Message ID", "Detail"]],
}

EVERY_COMMAND = [
    ["check", "{wb}"],
    ["reminders", "due", "{wb}", "--as-of", DAY],
    ["reminders", "run", "{wb}", "--as-of", DAY, "--outbox", "{tmp}/outbox"],
    ["reminders", "send", "{wb}", "INV-9", "--as-of", DAY, "--outbox", "{tmp}/outbox"],
    ["groups", "build", "{wb}", "--as-of", DAY],
    ["groups", "show", "{wb}", "All", "--as-of", DAY],
    ["groups", "export", "{wb}", "All", "--out", "{tmp}/all.csv", "--as-of", DAY],
    ["refresh", "{wb}", "--as-of", DAY],
    ["statements", "export", "{wb}", "C1", "--end", DAY, "--format", "csv", "--out", "{tmp}/statements"],
    ["statements", "run", "{wb}", "--as-of", DAY, "--outbox", "{tmp}/outbox"],
    ["report", "aging", "{wb}", "--as-of", DAY, "--format", "csv", "--out", "{tmp}/reports"],
]


def memo(wb: Path) -> object:
    from openpyxl import load_workbook

    return load_workbook(wb)["Invoices"]["F2"].value


def test_the_notice_names_exactly_the_commands_that_write_what_waits(make_workbook, tmp_path, capsys) -> None:
    writers = set()
    for n, words in enumerate(EVERY_COMMAND):
        wb = make_workbook(TABLES, name=f"book{n}.xlsx")
        with Journal.open(wb) as journal:
            journal.queue_updates([WAITING])
        main([w.format(wb=wb, tmp=tmp_path) for w in words])
        with Journal.open(wb) as journal:
            if not journal.pending_updates():
                assert memo(wb) == "written from the journal"
                writers.add(command_words(words))
    capsys.readouterr()
    assert writers == set(store.WRITERS)

    wb = make_workbook(TABLES, name="open.xlsx")
    (tmp_path / "~$open.xlsx").write_bytes(b"\x03Ana")
    assert main(["groups", "build", str(wb), "--as-of", DAY]) == 0
    (notice,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("notice:")]
    assert re.findall(r"`receivables ([a-z ]+)`", notice) == list(store.WRITERS)


@pytest.mark.parametrize(("owner", "said"), [
    ("~$book.xlsx", "open in Excel"),
    (".~lock.book.xlsx#", "open in LibreOffice (lock file .~lock.book.xlsx#)"),
])
def test_the_program_that_has_the_workbook_open_is_named(make_workbook, tmp_path, owner, said) -> None:
    wb = make_workbook(TABLES)
    (tmp_path / owner).write_text(",Ana,host,07.12.2026 16:00,file:///home/ana/.config/libreoffice/4;")
    with Journal.open(wb) as journal:
        result = store.write_updates(wb, [WAITING], journal)
    assert [str(p) for p in result.problems] == [
        f"notice: the workbook is {said}: 1 update will be written at the next run after it is closed — close "
        "book.xlsx, then run `receivables refresh`, `receivables reminders run` or `receivables groups build` on it "
        "(or let the daemon run)"]


def test_a_refresh_says_libreoffice_has_the_workbook_open(make_workbook, tmp_path, capsys) -> None:
    wb = make_workbook(TABLES)
    (tmp_path / ".~lock.book.xlsx#").write_text(",Ana,host,07.12.2026 16:00,file:///home/ana;")
    assert main(["refresh", str(wb), "--as-of", DAY]) == 0
    assert (
        "The workbook is open in LibreOffice (lock file .~lock.book.xlsx#): the figures will be refreshed at the "
        "next run after it is closed.") in capsys.readouterr().out.splitlines()

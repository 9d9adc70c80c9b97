"""`receivables statements export|email --all | --group NAME`: one statement per customer, a line each."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from pathlib import Path

import pytest

from addin.cli import main

d = dt.date
END = "2026-05-31"
HELD = "correct those cells (see `receivables check`), then run again"


def tables(**extra: list) -> dict:
    base = {
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"], ["company_email", "billing@maple.example"],
                     ["copy_to_me", "me@maple.example"], ["timezone", "America/Toronto"]],
        "Customers": [["Customer ID", "Name", "Status", "Email", "Statement Email", "State"],
                      ["C1", "Maple Café", "Active", "ap@cafe.example", "", "CA"],
                      ["C2", "Bistro Lune", "Active", "b@bistro.example", "ar@bistro.example", "CA"],
                      ["C3", "Zero Co", "Active", "z@zero.example", "", "CA"],
                      ["C4", "Gone Ltd", "Inactive", "g@gone.example", "", "CA"],
                      ["C5", "Nevada Inc", "Active", "n@nevada.example", "", "NV"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", d(2026, 5, 1), d(2026, 5, 31), 100],
                     ["INV-2", "C2", d(2026, 5, 2), d(2026, 6, 1), 250.5],
                     ["INV-3", "C3", d(2026, 5, 3), d(2026, 6, 2), 30],
                     ["INV-4", "C4", d(2026, 5, 4), d(2026, 6, 3), 70],
                     ["INV-5", "C5", d(2026, 5, 5), d(2026, 6, 4), 80]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Type", "Invoice No"],
                     ["P1", "C1", d(2026, 5, 10), 40, "Payment", "INV-1"],
                     ["P2", "C3", d(2026, 5, 20), 30, "Payment", "INV-3"]],
        "Groups": [["Group", "Description", "Kind", "Auto Update", "Members", "Updated"],
                   ["West", "", "Customer", True, None, None]],
        "Group Rules": [["Group", "Field", "Operator", "Value", "Value 2"], ["West", "State", "is", "CA", None]],
        "Group Members": [["Group", "Customer ID", "Name", "Source"]],
    }
    base.update(extra)
    return base


def recipients(outbox: Path) -> list[str]:
    found = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in outbox.glob("*.eml")]
    return sorted(str(m["To"]) for m in found)  # type: ignore[index]


def run(*words: str) -> int:
    return main(["statements", *words])


def lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


# --- who --------------------------------------------------------------------------------------------

def test_export_all_writes_every_active_customer_with_a_balance(make_workbook, capsys):
    wb = make_workbook(tables())
    assert run("export", str(wb), "--all", "--end", END) == 0
    folder = wb.parent / "statements"
    assert lines(capsys) == [
        f"written C1: {folder / 'Statement-C1-2026-05-31.pdf'}",
        f"written C2: {folder / 'Statement-C2-2026-05-31.pdf'}",
        "skipped C3: zero balance on 2026-05-31",  # C4 is Inactive: not one of "every customer"
        f"written C5: {folder / 'Statement-C5-2026-05-31.pdf'}",
        "Statements: 3 written, 1 skipped (zero balance)",
    ]
    assert sorted(p.name for p in folder.iterdir()) == [
        "Statement-C1-2026-05-31.pdf", "Statement-C2-2026-05-31.pdf", "Statement-C5-2026-05-31.pdf"]


def test_export_a_group_as_csv_and_include_zero(make_workbook, tmp_path, capsys):
    wb, out = make_workbook(tables()), tmp_path / "out"
    assert run("export", str(wb), "--group", "west", "--end", END, "--format", "csv", "--out", str(out)) == 0
    assert lines(capsys) == [
        f"written C1: {out / 'Statement-C1-2026-05-31.csv'}",
        f"written C2: {out / 'Statement-C2-2026-05-31.csv'}",
        "skipped C3: zero balance on 2026-05-31",
        f"written C4: {out / 'Statement-C4-2026-05-31.csv'}",  # a member, whatever its status
        "Statements: 3 written, 1 skipped (zero balance)",
    ]
    assert run("export", str(wb), "--group", "West", "--end", END, "--format", "csv", "--out", str(out),
               "--include-zero") == 0
    assert f"written C3: {out / 'Statement-C3-2026-05-31.csv'}" in lines(capsys)
    assert run("export", str(wb), "--all", "--include-zero", "--end", END, "--out", str(out)) == 0
    assert [line.split(":")[0] for line in lines(capsys)] == [
        "written C1", "written C2", "written C3", "written C5", "Statements"]


def test_an_unknown_group(make_workbook, capsys):
    wb = make_workbook(tables())
    assert run("export", str(wb), "--group", "East", "--end", END) == 1
    assert lines(capsys) == ['Groups: group "East" is not on the Groups sheet — check the name (groups: West)']


# --- holds ------------------------------------------------------------------------------------------

def test_a_held_customer_is_a_line_and_the_others_go_on(make_workbook, tmp_path, capsys):
    t = tables()
    t["Invoices"].append(["INV-6", "C2", d(2026, 5, 6), d(2026, 6, 5), "abc"])
    wb, outbox = make_workbook(t), tmp_path / "outbox"
    assert run("email", str(wb), "--all", "--end", END, "--as-of", "2026-06-01", "--outbox", str(outbox)) == 1
    assert lines(capsys) == [
        'Invoices!E7: amount "abc" is not an amount — type it as a number, e.g. 1234.56',
        f"Sending 2 statement(s) to the outbox folder {outbox}",
        "sent C1: Outstanding statement of 2026-05-31 to ap@cafe.example",
        f"Customers!A3: no statement for C2 — Invoices!E7 has an error — {HELD}",
        "skipped C3: zero balance on 2026-05-31",
        "sent C5: Outstanding statement of 2026-05-31 to n@nevada.example",
        "The workbook was updated.",
        "Statements: 2 sent, 1 skipped (zero balance), 1 not made (see above)",
    ]
    assert recipients(outbox) == ["ap@cafe.example", "n@nevada.example"]


def test_books_that_cannot_be_read_hold_everyone_once(make_workbook, tmp_path, capsys):
    t = tables()
    t["Payments"][0] = ["Payment ID", "Customer ID", "Paid On", "Amount", "Type", "Invoice No"]
    wb, outbox = make_workbook(t), tmp_path / "outbox"
    assert run("email", str(wb), "--all", "--end", END, "--outbox", str(outbox)) == 1
    assert lines(capsys) == ['Payments!1:1: missing column "Date" — add a column headed "Date" in row 1',
                             f"no statement sent to anyone — Payments!1:1 has an error — {HELD}"]
    assert run("export", str(wb), "--group", "West", "--end", END) == 1
    assert lines(capsys)[1:] == [f"no statement made to anyone — Payments!1:1 has an error — {HELD}"]
    assert not outbox.exists() and not (wb.parent / "statements").exists()


def test_a_settings_error_holds_the_emails_once_but_not_the_files(make_workbook, tmp_path, capsys):
    t = tables()
    t["Settings"].append(["catch_up_days", "a week"])
    wb, outbox = make_workbook(t), tmp_path / "outbox"
    assert run("email", str(wb), "--group", "West", "--end", END, "--outbox", str(outbox)) == 1
    assert lines(capsys)[1:] == [f"no statement sent to anyone — Settings!B6 has an error — {HELD}"]
    assert run("email", str(wb), "--all", "--end", END, "--outbox", str(outbox)) == 1
    assert lines(capsys)[1:] == [f"no statement sent to anyone — Settings!B6 has an error — {HELD}"]
    assert not outbox.exists()
    assert run("export", str(wb), "--all", "--end", END) == 1  # exit 1: the workbook has an error
    assert lines(capsys)[-1] == "Statements: 3 written, 1 skipped (zero balance)"


def test_a_group_that_cannot_be_told_is_held_once(make_workbook, tmp_path, capsys):
    t = tables()
    t["Group Members"].append(["West", "C5", "Nevada Inc", "Sometimes"])
    wb, outbox = make_workbook(t), tmp_path / "outbox"
    assert run("email", str(wb), "--group", "West", "--end", END, "--outbox", str(outbox)) == 1
    out = lines(capsys)
    assert [line for line in out if "no statement" in line] == [
        f"Groups!A2: group \"West\": no statement sent — 'Group Members'!D2 has an error — {HELD}"]
    assert not outbox.exists()


# --- exactly once -----------------------------------------------------------------------------------

def test_a_rerun_sends_nothing_new_whatever_the_day_or_message(make_workbook, tmp_path, capsys):
    wb, outbox = make_workbook(tables()), tmp_path / "outbox"
    argv = ["email", str(wb), "--all", "--end", END, "--as-of", "2026-06-01", "--outbox", str(outbox)]
    assert run(*argv) == 0
    assert recipients(outbox) == ["ap@cafe.example", "ar@bistro.example", "n@nevada.example"]
    capsys.readouterr()
    assert run(*argv[:-4], "--as-of", "2026-06-02", "--message", "Hello again", "--outbox", str(outbox)) == 0
    assert lines(capsys) == [
        "already sent C1: Outstanding statement of 2026-05-31",
        "already sent C2: Outstanding statement of 2026-05-31",
        "skipped C3: zero balance on 2026-05-31",
        "already sent C5: Outstanding statement of 2026-05-31",
        "Statements: 3 already sent, 1 skipped (zero balance)",
    ]
    assert run("email", str(wb), "--group", "West", "--end", END, "--outbox", str(outbox)) == 0
    assert len(recipients(outbox)) == 4  # C4, an Inactive member of West, only
    # another period, or another type, is another statement
    assert run("email", str(wb), "--group", "West", "--end", END, "--type", "activity", "--outbox", str(outbox)) == 0
    assert len(recipients(outbox)) == 7


def test_one_customer_emailed_alone_is_not_emailed_again_by_all(make_workbook, tmp_path, capsys):
    wb, outbox = make_workbook(tables()), tmp_path / "outbox"
    assert run("email", str(wb), "C2", "--end", END, "--copy-me", "--outbox", str(outbox)) == 0
    capsys.readouterr()
    assert run("email", str(wb), "--all", "--end", END, "--copy-me", "--outbox", str(outbox)) == 0
    out = lines(capsys)
    assert "already sent C2: Outstanding statement of 2026-05-31" in out
    assert recipients(outbox) == ["ap@cafe.example", "ar@bistro.example", "me@maple.example", "me@maple.example",
                                  "me@maple.example", "n@nevada.example"]


# --- the words --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("words", "said"), [
    (["--all", "--to", "x@y.example"], "error: --to and --cc are one customer's addresses: leave them out with --all "
                                       "or --group (each statement goes to the customer's Statement Email, else Email)"),
    (["--group", "West", "--cc", "x@y.example"], "error: --to and --cc are one customer's addresses: leave them out "
                                                 "with --all or --group (each statement goes to the customer's "
                                                 "Statement Email, else Email)"),
    ([], "error: whose statement? Name the customer (CUSTOMER_ID), or use --all for every customer with a balance, "
         "or --group NAME for a group's members"),
    (["C1", "--all"], "error: a customer (C1) and --all both choose the customers — use one of them"),
    (["--all", "--group", "West"], "error: --all and --group both choose the customers — use one of them"),
    (["C1", "--include-zero"], "error: --include-zero goes with --all or --group NAME (one customer's statement is "
                               "made whatever its balance)"),
])
def test_words_that_do_not_go_together_are_refused(make_workbook, tmp_path, capsys, words, said):
    wb, outbox = make_workbook(tables()), tmp_path / "outbox"
    assert run("email", str(wb), *words, "--end", END, "--outbox", str(outbox)) == 2
    assert capsys.readouterr().err.strip() == said
    assert not outbox.exists()


def test_end_defaults_to_today_in_the_workbook_time_zone(make_workbook, capsys):
    from addin.clock import today

    wb = make_workbook(tables())
    day = today("America/Toronto").isoformat()
    assert run("export", str(wb), "C1") == 0
    assert lines(capsys) == [str(wb.parent / "statements" / f"Statement-C1-{day}.pdf")]
    assert run("export", str(wb), "--all", "--format", "csv") == 0
    assert lines(capsys)[0] == f"written C1: {wb.parent / 'statements' / f'Statement-C1-{day}.csv'}"
    assert run("export", str(wb), "--all", "--as-of", "2026-06-01", "--format", "csv") == 0  # the day acted for
    assert lines(capsys)[0] == f"written C1: {wb.parent / 'statements' / 'Statement-C1-2026-06-01.csv'}"


def test_end_defaults_to_the_day_acted_for_when_emailing(make_workbook, tmp_path, capsys):
    wb, outbox = make_workbook(tables()), tmp_path / "outbox"
    assert run("email", str(wb), "C1", "--as-of", "2026-06-01", "--outbox", str(outbox)) == 0
    assert lines(capsys)[0] == "statement for C1 (Outstanding, 2026-06-01) to ap@cafe.example"


def test_a_limited_user_gets_the_customers_they_see(make_workbook, tmp_path, capsys, monkeypatch):
    t = tables(Users=[["User", "Role", "Group"], ["lee", "Limited", "West"]])
    wb, outbox = make_workbook(t), tmp_path / "outbox"
    monkeypatch.setenv("RECEIVABLES_USER", "lee")
    assert run("email", str(wb), "--all", "--end", END, "--outbox", str(outbox)) == 0
    assert recipients(outbox) == ["ap@cafe.example", "ar@bistro.example"]  # not C5, of Nevada
    assert lines(capsys)[1:4] == ["sent C1: Outstanding statement of 2026-05-31 to ap@cafe.example",
                                 "sent C2: Outstanding statement of 2026-05-31 to ar@bistro.example",
                                 "skipped C3: zero balance on 2026-05-31"]
    monkeypatch.setenv("RECEIVABLES_USER", "stranger")
    assert run("export", str(wb), "--all", "--end", END) == 1
    assert lines(capsys) == ['Users: user "stranger" is not on the Users sheet, so has no access — ask an Admin to '
                             'add a row for "stranger" to Users']


def test_batches_are_sent_one_after_the_other_and_the_log_written_once(make_workbook, tmp_path, capsys,
                                                                      monkeypatch):
    from openpyxl import load_workbook

    from addin.commands import statements as command

    monkeypatch.setattr(command, "BATCH", 1)
    wb, outbox = make_workbook(tables()), tmp_path / "outbox"
    written = []
    from addin.workbook import store

    real = store.flush_pending
    monkeypatch.setattr(store, "flush_pending", lambda *a, **k: written.append(1) or real(*a, **k))
    assert run("email", str(wb), "--all", "--end", END, "--outbox", str(outbox)) == 0
    assert len(recipients(outbox)) == 3 and written == [1]
    log = [row[1:3] + row[6:7] for row in load_workbook(wb)["Log"].iter_rows(min_row=2, values_only=True)]
    assert log == [("statement email", c, "Outstanding 2026-05-31..2026-05-31 (every customer with a balance) · "
                    'subject "Statement from Maple Books Ltd as of May 31, 2026"')
                   for c in ("C1", "C2", "C5")]
    assert lines(capsys)[0] == f"Sending 3 statement(s) to the outbox folder {outbox}"


def test_the_month_end_routine_on_the_demo_workbook(tmp_path, capsys):
    wb, outbox = tmp_path / "books.xlsx", tmp_path / "outbox"
    assert main(["init", str(wb), "--demo"]) == 0
    assert main(["refresh", str(wb), "--as-of", END]) == 0
    assert run("email", str(wb), "--all", "--as-of", END, "--outbox", str(outbox)) == 0
    sent = len(recipients(outbox))
    assert main(["report", "aging", str(wb), "--as-of", END, "--format", "pdf"]) == 0
    out = lines(capsys)
    assert sent > 20 and f"Statements: {sent} sent, " in "\n".join(out)
    assert (wb.parent / "reports" / "Aged-receivables-2026-05-31.pdf").is_file()
    assert run("email", str(wb), "--all", "--as-of", END, "--outbox", str(outbox)) == 0  # next morning, again
    assert len(recipients(outbox)) == sent


def test_the_progress_bar_is_silent_when_the_lines_go_to_a_file_or_a_program():
    import io

    from addin.commands.statements import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stderr = Tty()
    bar = Progress("statements", stderr, lines=io.StringIO())  # stdout piped: `... > sent.txt`
    bar(1, 2)
    bar(2, 2)
    assert stderr.getvalue() == ""
    Progress("statements", stderr, lines=Tty())(2, 2)
    assert stderr.getvalue().startswith("\rstatements [")


def test_a_statement_file_open_in_another_program_stops_no_other(make_workbook, capsys, monkeypatch):
    from addin.workbook import files

    real = files.write_atomically

    def write(target, data):
        if "C2" in target.name:
            raise PermissionError(13, "Permission denied")
        return real(target, data)

    monkeypatch.setattr(files, "write_atomically", write)
    wb = make_workbook(tables())
    folder = wb.parent / "statements"
    assert run("export", str(wb), "--all", "--end", END) == 1
    assert lines(capsys) == [
        f"written C1: {folder / 'Statement-C1-2026-05-31.pdf'}",
        f"{folder / 'Statement-C2-2026-05-31.pdf'} is open in another program, so the statement of C2 was not "
        "written — close it and run the command again",
        "skipped C3: zero balance on 2026-05-31",
        f"written C5: {folder / 'Statement-C5-2026-05-31.pdf'}",
        "Statements: 2 written, 1 not written (see above), 1 skipped (zero balance)",
    ]

"""Nothing decided from what cannot be read (SPEC §2): real workbooks, the real CLI, .eml files.

Each book starts from one where INV-1 (C1) is unpaid and overdue, INV-2 (C2) was paid in full
by P1, and INV-3 (C3) is unpaid; then one thing is broken, and the test says what still goes
out and what waits.
"""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from pathlib import Path

import pytest

from addin.cli import main

d = dt.date
DAY = "2026-04-07"  # reminder 2 (7 days After) is due for invoices due 2026-03-31


def tables(**changes: list) -> dict:
    base = {
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"],
                     ["company_email", "billing@maple.example"], ["reminders_enabled", True]],
        "Customers": [["Customer ID", "Name", "Status", "Email"],
                      ["C1", "Acme Ltd", "Active", "ap@acme.example"],
                      ["C2", "Bolt Inc", "Active", "ap@bolt.example"],
                      ["C3", "Cedar Fitness", "Active", "ap@cedar.example"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Email"],
                     ["INV-1", "C1", d(2026, 3, 1), d(2026, 3, 31), 100, None],
                     ["INV-2", "C2", d(2026, 3, 1), d(2026, 3, 31), 70, None],
                     ["INV-3", "C3", d(2026, 3, 1), d(2026, 3, 31), 30, None],
                     ["INV-4", "C3", d(2026, 3, 2), d(2026, 3, 31), 40, None]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],
                     ["P1", "C2", d(2026, 4, 1), 70, "INV-2"]],
        "Reminders": [["Reminder", "Enabled", "Days", "When"],
                      [1, True, 3, "Before"], [2, True, 7, "After"], [3, True, 30, "After"]],
        "Groups": [["Group", "Auto Update"], ["Everyone", True]],
        "Group Rules": [["Group", "Field", "Operator", "Value"], ["Everyone", "Status", "is", "Active"]],
        "Group Members": [["Group", "Customer ID", "Name", "Source"], ["Everyone", "C2", "Bolt Inc", "Removed"]],
    }
    base.update(changes)
    return base


def messages(outbox: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(outbox.glob("*.eml"))]


def reminded(outbox: Path) -> list[str]:
    """The invoice numbers the reminders in the outbox are about."""
    return sorted(m["Subject"].split("invoice ")[1].split()[0].rstrip(",.:") for m in messages(outbox))


def recipients(outbox: Path) -> list[str]:
    return sorted(str(m["To"]) for m in messages(outbox))


def cli(*words: str) -> int:
    return main([*words])


def remind(wb: Path, outbox: Path) -> int:
    return cli("reminders", "run", str(wb), "--as-of", DAY, "--outbox", str(outbox))


def test_the_unbroken_book_reminds_the_unpaid_invoices(make_workbook, tmp_path):
    outbox = tmp_path / "out"
    assert remind(make_workbook(tables()), outbox) == 0
    assert reminded(outbox) == ["INV-1", "INV-3", "INV-4"]


@pytest.mark.parametrize("header", ["Date", "Amount", "Payment ID", "Customer ID"])
def test_payments_without_a_required_header_hold_every_reminder_and_statement(make_workbook, tmp_path, capsys,
                                                                           header):
    t = tables()
    t["Payments"][0] = [("Paid On" if h == header else h) for h in t["Payments"][0]]
    wb, outbox = make_workbook(t), tmp_path / "out"

    assert remind(wb, outbox) == 1
    out = capsys.readouterr().out
    assert messages(outbox) == []  # INV-2 was paid: nobody may be reminded from these books
    assert f'Payments!1:1: missing column "{header}"' in out
    assert "automatic reminders: none sent — Payments!1:1 has an error" in out

    assert cli("statements", "email", str(wb), "C1", "--end", DAY, "--outbox", str(outbox)) == 1
    assert messages(outbox) == []
    assert cli("reminders", "send", str(wb), "INV-1", "--as-of", DAY, "--outbox", str(outbox)) == 1
    assert messages(outbox) == []


def test_a_broken_invoices_sheet_sends_no_statement(make_workbook, tmp_path, capsys):
    t = tables()
    t["Invoices"][0] = ["Invoice No", "Customer ID", "Invoice Date", "Due", "Amount", "Email"]
    wb, outbox = make_workbook(t), tmp_path / "out"
    assert cli("statements", "email", str(wb), "C1", "--end", DAY, "--outbox", str(outbox)) == 1
    assert messages(outbox) == []  # it would have said "Amount due $0.00"
    out = capsys.readouterr().out
    assert "no statement for C1 — Invoices!1:1 has an error" in out
    assert "is not on the Invoices sheet" not in out  # P1's invoice is not unknown: the sheet is unreadable


def test_a_broken_group_members_sheet_sends_nothing_to_the_group(make_workbook, tmp_path, capsys):
    t = tables()
    t["Group Members"][0] = ["Group", "Customer", "Name", "Source"]
    wb, outbox = make_workbook(t), tmp_path / "out"
    assert cli("groups", "email", str(wb), "Everyone", "--subject", "News", "--message", "Hello",
               "--outbox", str(outbox)) == 1
    assert messages(outbox) == []  # C2 had been Removed by a person
    assert 'group "Everyone": no message sent — \'Group Members\'!1:1 has an error' in capsys.readouterr().out


def test_a_group_whose_members_cannot_be_told_is_not_exported(make_workbook, tmp_path, capsys):
    t = tables()
    t["Group Members"].append(["Everyone", "C3", "Cedar Fitness", "Remooved"])
    wb = make_workbook(t)
    assert cli("groups", "export", str(wb), "Everyone", "--out", str(tmp_path / "list.csv")) == 1
    assert not (tmp_path / "list.csv").exists()
    assert 'group "Everyone": not exported — \'Group Members\'!D3 has an error' in capsys.readouterr().out


def test_the_group_email_leaves_out_a_removed_member_when_the_sheet_reads(make_workbook, tmp_path):
    wb, outbox = make_workbook(tables()), tmp_path / "out"
    assert cli("groups", "email", str(wb), "Everyone", "--subject", "News", "--message", "Hello",
               "--outbox", str(outbox)) == 0
    assert recipients(outbox) == ["ap@acme.example", "ap@cedar.example"]


@pytest.mark.parametrize("customer", [None, "C9", "=NA()"], ids=["blank", "unknown", "error"])
def test_a_payment_whose_customer_cannot_be_told_holds_the_customer_of_its_invoice(
        make_workbook, tmp_path, capsys, customer):
    t = tables()
    t["Payments"][1] = ["P1", customer, d(2026, 4, 1), 70, "INV-2"]
    wb, outbox = make_workbook(t), tmp_path / "out"
    if customer == "=NA()":
        _error_cell(wb, "Payments", "B2")

    assert remind(wb, outbox) == 1
    assert reminded(outbox) == ["INV-1", "INV-3", "INV-4"]  # INV-2 waits: P1 may well have paid it
    out = capsys.readouterr().out
    assert "Invoices!A3: invoice INV-2: reminder 2 not sent — Payments!B2 has an error" in out


def test_a_payment_that_names_no_known_customer_nor_invoice_holds_everyone(make_workbook, tmp_path, capsys):
    t = tables()
    t["Payments"].append(["P2", None, d(2026, 4, 2), 30, None])
    wb, outbox = make_workbook(t), tmp_path / "out"
    assert remind(wb, outbox) == 1
    assert messages(outbox) == []
    assert "automatic reminders: none sent — Payments!B3 has an error" in capsys.readouterr().out
    assert cli("statements", "email", str(wb), "C1", "--end", DAY, "--outbox", str(outbox)) == 1
    assert messages(outbox) == []


def test_merged_cells_over_a_payment_hold_the_invoice_it_pays(make_workbook, tmp_path):
    from openpyxl import load_workbook

    wb, outbox = make_workbook(tables()), tmp_path / "out"
    book = load_workbook(wb)
    book["Payments"].merge_cells("A2:B2")  # the Customer ID under the merge reads as blank
    book.save(wb)
    assert remind(wb, outbox) == 1
    assert reminded(outbox) == ["INV-1", "INV-3", "INV-4"]


def test_a_payment_row_error_holds_only_its_customers_invoices(make_workbook, tmp_path, capsys):
    t = tables()
    t["Payments"].append(["P2", "C3", d(2026, 4, 2), "thirty", "INV-3"])
    wb, outbox = make_workbook(t), tmp_path / "out"
    assert remind(wb, outbox) == 1
    assert reminded(outbox) == ["INV-1"]  # both of C3's invoices wait
    out = capsys.readouterr().out
    assert 'Payments!D3: amount "thirty" is not an amount' in out
    assert "Invoices!A4: invoice INV-3: reminder 2 not sent — Payments!D3 has an error" in out
    assert "Invoices!A5: invoice INV-4: reminder 2 not sent — Payments!D3 has an error" in out


def test_an_invoice_row_error_holds_that_invoice_only(make_workbook, tmp_path, capsys):
    t = tables()
    t["Invoices"][3] = ["INV-3", "C3", d(2026, 3, 1), d(2026, 3, 31), 30, "not-an-address"]
    wb, outbox = make_workbook(t), tmp_path / "out"
    assert remind(wb, outbox) == 1
    assert reminded(outbox) == ["INV-1", "INV-4"]  # C3's other invoice still goes out
    assert "Invoices!A4: invoice INV-3: reminder 2 not sent — Invoices!F4 has an error" in capsys.readouterr().out
    # ... but C3's statement waits for the whole customer
    assert cli("statements", "email", str(wb), "C3", "--end", DAY, "--outbox", str(tmp_path / "st")) == 1
    assert not (tmp_path / "st").exists() or messages(tmp_path / "st") == []


def test_a_reminders_row_error_is_reported_and_holds_the_automatic_reminders(make_workbook, tmp_path, capsys):
    t = tables()
    t["Reminders"][3] = [3, True, 91, "After"]
    wb, outbox = make_workbook(t), tmp_path / "out"
    assert cli("reminders", "due", str(wb), "--as-of", DAY) == 1
    out = capsys.readouterr().out
    assert "Reminders!C4: " in out and "91" in out
    assert remind(wb, outbox) == 1
    assert messages(outbox) == []
    # a manual reminder does not depend on the steps
    assert cli("reminders", "send", str(wb), "INV-1", "--as-of", DAY, "--outbox", str(outbox)) == 1
    assert reminded(outbox) == ["INV-1"]


def test_a_settings_error_sends_nothing(make_workbook, tmp_path, capsys):
    t = tables()
    t["Settings"].append(["catch_up_days", "a week"])
    wb, outbox = make_workbook(t), tmp_path / "out"
    assert remind(wb, outbox) == 1
    assert messages(outbox) == []
    assert cli("reminders", "send", str(wb), "INV-1", "--as-of", DAY, "--outbox", str(outbox)) == 1
    assert cli("statements", "email", str(wb), "C1", "--end", DAY, "--outbox", str(outbox)) == 1
    assert messages(outbox) == []


def test_an_error_elsewhere_is_reported_by_a_preview_and_gives_exit_1(make_workbook, capsys):
    t = tables()
    t["Customers"].append(["C4", "Dune Co", "Active", "not-an-address"])
    wb = make_workbook(t)
    assert cli("reminders", "due", str(wb), "--as-of", DAY) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith('Customers!D5: ')
    assert "3 to send" in out  # the others are not held


def test_the_refresh_keeps_the_figures_while_payments_cannot_be_read(make_workbook, capsys):
    from openpyxl import load_workbook

    t = tables()
    t["Invoices"][0] += ["Paid", "Balance", "Status"]
    t["Invoices"][2] += [70, 0, "Paid"]
    t["Payments"][0][2] = "When"
    wb = make_workbook(t)
    assert cli("refresh", str(wb), "--as-of", DAY) == 1
    assert "were not refreshed — Payments!1:1 has an error" in capsys.readouterr().out
    row = [c.value for c in load_workbook(wb)["Invoices"][3]]
    assert row[6:9] == [70, 0, "Paid"]  # not rewritten as unpaid


def _error_cell(path: Path, sheet: str, cell: str) -> None:
    """Turn ``cell`` into a cached #N/A error cell, as Excel saves one."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    index = [n for n in parts if n.startswith("xl/worksheets/sheet")]
    names = re.findall(rb'<sheet [^>]*name="([^"]+)"', parts["xl/workbook.xml"])
    part = sorted(index, key=lambda n: int(re.search(r"(\d+)", n.rsplit("/", 1)[1]).group(1)))[
        [n.decode() for n in names].index(sheet)]
    xml = parts[part].decode()
    xml, n = re.subn(rf'<c r="{cell}"[^>]*?(/>|>.*?</c>)', f'<c r="{cell}" t="e"><f>NA()</f><v>#N/A</v></c>', xml)
    assert n == 1
    parts[part] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_a_users_sheet_that_cannot_be_read_gives_nobody_access(make_workbook, tmp_path, capsys):
    t = tables(Users=[["User", "Rôle"], ["someone-else", "Limited"]])  # the Role header mistyped
    wb, outbox = make_workbook(t), tmp_path / "out"
    assert remind(wb, outbox) == 1
    assert messages(outbox) == []  # not "an empty Users sheet: everyone is Admin"
    out = capsys.readouterr().out
    assert "has no access while the Users sheet cannot be read — Users!1:1 has an error" in out
    assert cli("groups", "delete", str(wb), "Everyone") == 1
    assert "may not delete a group while the Users sheet cannot be read" in capsys.readouterr().out


def test_the_daemon_reports_the_workbook_errors_at_every_check_and_holds_as_the_cli_does(make_workbook, tmp_path,
                                                                                       capsys):
    t = tables()
    t["Payments"].append(["P2", "C3", d(2026, 4, 2), "thirty", "INV-3"])
    wb, outbox = make_workbook(t), tmp_path / "out"
    assert cli("daemon", str(wb), "--once", "--as-of", DAY, "--outbox", str(outbox)) == 1
    out = capsys.readouterr().out
    assert 'Payments!D3: amount "thirty" is not an amount' in out
    assert "invoice INV-3: reminder 2 not sent — Payments!D3 has an error" in out
    assert reminded(outbox) == ["INV-1"]

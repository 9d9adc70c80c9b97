"""Each ribbon button, pressed through FilePort with a simulated selection, does what its CLI command does.

Two copies of one small workbook: the button is pressed on one, the matching `receivables` command
is run on the other; the outbox messages, exported files and workbook cells must come out alike.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest
from conftest import RIBBON_BOOK, stable_cells, write_workbook

from addin.cli import main
from addin.excel import handlers
from addin.excel.port import FilePort, Selection

AS_OF = dt.date(2026, 4, 10)
@pytest.fixture
def books(tmp_path):
    """(pressed, typed): the same workbook twice, each in its own folder (its own journal and outbox)."""
    made = []
    for name in ("pressed", "typed"):
        (tmp_path / name).mkdir()
        made.append(write_workbook(tmp_path / name / "book.xlsx", RIBBON_BOOK))
    return made


NOTHING = Selection()


def press(path: Path, button: str, select: Selection = NOTHING, **answers) -> tuple[int, FilePort]:
    port = FilePort(path, select, answers, as_of=AS_OF)
    return handlers.dispatch(button, port), port


def typed(path: Path, *words: str) -> int:
    return main([*words[:2], str(path), *words[2:]] if words[0] not in ("check", "refresh") else
                [words[0], str(path), *words[1:]])


def messages(folder: Path) -> list[tuple]:
    """The .eml files of an outbox, as (to, cc, subject, plain text), sorted."""
    found = []
    for f in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        found.append((msg["To"], msg["Cc"], msg["Subject"], msg.get_body(("plain",)).get_content()))
    return sorted(found)


def test_build_groups_writes_the_same_cells_as_groups_build(books):
    a, b = books
    code, port = press(a, "build_groups")
    assert code == typed(b, "groups", "build", "--as-of", AS_OF.isoformat()) == 0
    assert stable_cells(a) == stable_cells(b)
    assert stable_cells(a)["Group Members"][1:] == [["West", "C1", "Acme Ltd", "Rule"], ["West", "C3", "Cedar Co", "Rule"],
                                             ["Nevada", "C2", "Bolt Inc", "Rule"]]
    assert port.summaries[0][0] == "Build groups"


def test_build_groups_with_a_group_row_selected_builds_that_group_only(books):
    a, b = books
    code, _ = press(a, "build_groups", Selection("Groups", (3,)))
    assert code == typed(b, "groups", "build", "--group", "Nevada", "--as-of", AS_OF.isoformat()) == 0
    assert stable_cells(a) == stable_cells(b)
    assert stable_cells(a)["Group Members"][1:] == [["Nevada", "C2", "Bolt Inc", "Rule"]]


def test_email_group_sends_what_groups_email_sends(books):
    a, b = books
    code, port = press(a, "email_group", Selection("Groups", (2,)), subject="News for {{ customer.name }}",
                       message="Dear {{ customer.first_name }}, we moved.")
    assert code == typed(b, "groups", "email", "West", "--subject", "News for {{ customer.name }}",
                         "--message", "Dear {{ customer.first_name }}, we moved.", "--as-of", AS_OF.isoformat()) == 0
    assert messages(a.parent / "outbox") == messages(b.parent / "outbox")
    assert [m[:3] for m in messages(a.parent / "outbox")] == [
        ("ap@acme.example", None, "News for Acme Ltd"), ("cedar@cedar.example", None, "News for Cedar Co")]
    assert stable_cells(a) == stable_cells(b)
    assert port.asked == ["subject", "message"]


def test_email_group_from_selected_member_rows_sends_to_those_members_only(books):
    a, b = books
    assert typed(a, "groups", "build", "--as-of", AS_OF.isoformat()) == typed(b, "groups", "build",
                                                                               "--as-of", AS_OF.isoformat()) == 0
    code, _ = press(a, "email_group", Selection("Group Members", (3,)), subject="Hi", message="Hello")
    assert code == typed(b, "groups", "email", "West", "--subject", "Hi", "--message", "Hello", "--only", "C3",
                         "--as-of", AS_OF.isoformat()) == 0
    assert [m[0] for m in messages(a.parent / "outbox")] == ["cedar@cedar.example"]
    assert messages(a.parent / "outbox") == messages(b.parent / "outbox")


def test_email_group_cancelled_or_declined_sends_nothing(books):
    a, _ = books
    code, port = press(a, "email_group", Selection("Groups", (2,)), subject=None)
    assert code == 0 and port.asked == ["subject"]
    port = FilePort(a, Selection("Groups", (2,)), {"subject": "Hi", "message": "Hello"}, confirm_answer=False,
                    as_of=AS_OF)
    assert handlers.dispatch("email_group", port) == 0
    assert not (a.parent / "outbox").exists()


def test_email_group_asks_the_group_when_no_group_row_is_selected(books):
    a, _ = books
    code, port = press(a, "email_group", Selection("Invoices", (2,)), group="Nevada", subject="Hi", message="Hello")
    assert code == 0
    assert port.asked == ["group", "subject", "message"]
    assert [m[0] for m in messages(a.parent / "outbox")] == ["pay@bolt.example"]


def test_a_required_answer_left_blank_cancels_after_three_tries(books):
    a, _ = books
    code, port = press(a, "email_group", Selection("Groups", (2,)), subject="  ")
    assert code == 0
    assert port.asked == ["subject"] * 3
    assert port.alerts == ["Nothing was done: an answer is required."]


def test_show_group_prints_what_groups_show_prints(books, capsys):
    a, b = books
    code, port = press(a, "show_group", Selection("Groups", (2,)))
    assert code == typed(b, "groups", "show", "West", "--as-of", AS_OF.isoformat()) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert port.summaries == [("Group West", printed)]
    assert printed[0].startswith("West: State is CA")


def test_export_statement_pdf_writes_the_file_statements_export_writes_and_opens_it(books):
    from pypdf import PdfReader

    a, b = books
    code, port = press(a, "export_statement_pdf", Selection("Invoices", (4,)), end="2026-04-10")
    assert code == typed(b, "statements", "export", "C1", "--end", "2026-04-10", "--format", "pdf") == 0
    made_a = sorted((a.parent / "statements").iterdir())
    made_b = sorted((b.parent / "statements").iterdir())
    assert [p.name for p in made_a] == [p.name for p in made_b] == ["Statement-C1-2026-04-10.pdf"]
    text = [" ".join(page.extract_text() for page in PdfReader(p).pages) for p in (made_a[0], made_b[0])]
    assert text[0] == text[1] and "INV-1" in text[0]
    assert port.opened == [made_a[0]]


def test_export_statement_csv_from_a_customer_row(books):
    a, b = books
    code, port = press(a, "export_statement_csv", Selection("Customers", (2,)), end="2026-04-10")
    assert code == typed(b, "statements", "export", "C1", "--end", "2026-04-10", "--format", "csv") == 0
    name = "Statement-C1-2026-04-10.csv"
    assert (a.parent / "statements" / name).read_bytes() == (b.parent / "statements" / name).read_bytes()
    assert port.opened == [a.parent / "statements" / name]


def test_export_statement_asks_again_for_a_date_that_is_not_one(books):
    a, _ = books
    port = FilePort(a, Selection("Customers", (2,)), {"end": "31/02/2026"}, as_of=AS_OF)
    assert handlers.dispatch("export_statement_csv", port) == 0
    assert port.asked == ["end"] * 3
    assert port.alerts == ['Nothing was done: "31/02/2026" is not a date — write it as YYYY-MM-DD, e.g. 2026-04-10. '
                           "Statement of C1 up to (YYYY-MM-DD):"]


def test_statement_of_rows_of_two_customers_is_refused(books):
    a, _ = books
    code, port = press(a, "export_statement_pdf", Selection("Invoices", (2, 3)))
    assert code == 0
    assert port.alerts == ["Select rows of one customer only (the selection covers C1, C2)."]


def test_email_statement_sends_what_statements_email_sends(books):
    a, b = books
    code, _ = press(a, "email_statement", Selection("Customers", (3,)), end="2026-04-10", message="", copy_me="yes")
    assert code == typed(b, "statements", "email", "C2", "--end", "2026-04-10", "--copy-me",
                         "--as-of", AS_OF.isoformat()) == 0
    got = messages(a.parent / "outbox")
    assert got == messages(b.parent / "outbox")
    assert sorted(m[0] for m in got) == ["billing@maple.example", "pay@bolt.example"]  # the copy goes to me
    assert stable_cells(a) == stable_cells(b)


def test_open_outbox_opens_the_settings_folder_beside_the_workbook(books):
    a, _ = books
    code, port = press(a, "open_outbox")
    assert code == 0
    assert port.opened == [a.parent / "outbox"] and (a.parent / "outbox").is_dir()


def test_open_log_shows_the_log_sheet(books):
    a, _ = books
    code, port = press(a, "open_log")
    assert (code, port.sheets_shown) == (0, ["Log"])


def test_a_missing_workbook_is_reported(tmp_path):
    missing = tmp_path / "gone.xlsx"
    code, port = press(missing, "show_group", Selection("Groups", (2,)))
    assert code == 2
    assert port.alerts == [f"{missing}: no such workbook — save the workbook, then press the button again."]


def test_an_unreadable_workbook_is_reported_like_the_cli_does(tmp_path, capsys):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    code, port = press(broken, "build_groups")
    assert code == typed(broken, "groups", "build") == 2
    assert port.summaries[0][1] == [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_press_command_prints_what_the_user_would_see(books, capsys):
    a, _ = books
    code = main(["excel", "press", str(a), "show_group", "--select", "Groups!A3", "--as-of", AS_OF.isoformat()])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Nevada: State is NV")


def test_preview_due_shows_what_reminders_due_prints_and_sends_nothing(books, capsys):
    a, b = books
    code, port = press(a, "preview_due")
    assert code == typed(b, "reminders", "due", "--as-of", AS_OF.isoformat())
    printed = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert port.summaries == [("Reminders due", printed)]
    assert any("INV-1" in line for line in printed)
    assert not (a.parent / "outbox").exists()


def test_send_reminder_for_the_selected_invoice_rows_does_what_reminders_send_does(books):
    a, b = books
    code, port = press(a, "send_reminder", Selection("Invoices", (2, 3)), subject="", message="")
    assert code == typed(b, "reminders", "send", "INV-1", "INV-2", "--as-of", AS_OF.isoformat()) == 0
    got = messages(a.parent / "outbox")
    assert got == messages(b.parent / "outbox")
    assert sorted(m[0] for m in got) == ["ap@acme.example", "pay@bolt.example"]
    assert stable_cells(a) == stable_cells(b)
    status = stable_cells(a)["Invoices"][0].index("Status")
    assert [r[status] for r in stable_cells(a)["Invoices"][1:3]] == ["Manual reminder sent 2026-04-10"] * 2


def test_send_reminder_with_a_subject_and_message_of_ones_own(books):
    a, b = books
    code, _ = press(a, "send_reminder", Selection("Invoices", (4,)), subject="About {{ invoice.number }}",
                    message="Please pay {{ invoice.balance }}.")
    assert code == typed(b, "reminders", "send", "INV-3", "--subject", "About {{ invoice.number }}",
                         "--message", "Please pay {{ invoice.balance }}.", "--as-of", AS_OF.isoformat()) == 0
    assert messages(a.parent / "outbox") == messages(b.parent / "outbox")
    assert messages(a.parent / "outbox")[0][2] == "About INV-3"


def test_send_reminder_without_invoice_rows_selected_says_what_to_do(books):
    a, _ = books
    code, port = press(a, "send_reminder", Selection("Customers", (2,)))
    assert code == 0
    assert port.alerts == ['Select one or more invoice rows on the Invoices sheet first, then press '
                           '"Send reminder for selection" again.']
    assert port.asked == []


def test_send_reminder_for_a_paid_invoice_is_refused_as_the_cli_refuses_it(books, capsys):
    a, b = books
    code, port = press(a, "send_reminder", Selection("Invoices", (5,)), subject="", message="")
    assert code == typed(b, "reminders", "send", "INV-4", "--as-of", AS_OF.isoformat()) == 1
    printed = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert port.summaries[0][1] == printed
    assert not list((a.parent / "outbox").glob("*.eml")) if (a.parent / "outbox").exists() else True


def test_run_reminders_sends_what_reminders_run_sends_once(books):
    a, b = books
    code, _ = press(a, "run_reminders")
    assert code == typed(b, "reminders", "run", "--as-of", AS_OF.isoformat())
    got = messages(a.parent / "outbox")
    assert got and got == messages(b.parent / "outbox")
    assert stable_cells(a) == stable_cells(b)
    again, port = press(a, "run_reminders")
    assert len(messages(a.parent / "outbox")) == len(got)  # the journal: never twice


def test_check_workbook_shows_what_check_prints(books, capsys):
    a, b = books
    code, port = press(a, "check_workbook")
    assert code == typed(b, "check")
    printed = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert port.summaries == [("Check workbook", printed)]
    assert printed  # at least the count line


def test_refresh_dashboard_writes_the_cells_refresh_writes(books):
    a, b = books
    code, _ = press(a, "refresh_dashboard")
    assert code == typed(b, "refresh", "--as-of", AS_OF.isoformat())
    assert stable_cells(a) == stable_cells(b)


@pytest.fixture
def demo_books(tmp_path):
    """The demo workbook (the template with its sample data), twice."""
    from addin.demo_data import build_demo

    made = []
    for name in ("pressed", "typed"):
        (tmp_path / name).mkdir()
        build_demo().save(tmp_path / name / "demo.xlsx")
        made.append(tmp_path / name / "demo.xlsx")
    return made


def test_on_the_demo_workbook_the_buttons_of_a_day_match_the_commands(demo_books):
    from addin.demo_data import DEMO_DATE

    a, b = demo_books
    day = DEMO_DATE.isoformat()
    pressed = [
        handlers.dispatch("build_groups", FilePort(a, as_of=DEMO_DATE)),
        handlers.dispatch("run_reminders", FilePort(a, as_of=DEMO_DATE)),
        handlers.dispatch("send_reminder", FilePort(a, Selection("Invoices", (6, 7)), as_of=DEMO_DATE)),
        handlers.dispatch("email_statement", FilePort(a, Selection("Customers", (3,)), {"end": day},
                                                      as_of=DEMO_DATE)),
    ]
    invoices = [r[0] for r in stable_cells(b)["Invoices"][5:7]]
    customer = stable_cells(b)["Customers"][2][0]
    typed_codes = [
        typed(b, "groups", "build", "--as-of", day),
        typed(b, "reminders", "run", "--as-of", day),
        typed(b, "reminders", "send", *invoices, "--as-of", day),
        typed(b, "statements", "email", customer, "--end", day, "--as-of", day),
    ]
    assert pressed == typed_codes
    got = messages(a.parent / "outbox")
    assert len(got) > 5 and got == messages(b.parent / "outbox")
    assert stable_cells(a) == stable_cells(b)


# --- statements with no customer selected: every customer with a balance -----------------------------

def test_export_pdf_with_no_customer_selected_offers_every_customer_with_a_balance(books):
    a, b = books
    shown: list[str] = []
    port = FilePort(a, NOTHING, {"end": "2026-04-10", "customer": ""}, as_of=AS_OF, echo=shown.append)
    assert handlers.dispatch("export_statement_pdf", port) == 0
    assert port.asked == ["end", "customer"]
    assert shown[1] == ("Customer ID? Leave it blank for every customer with a balance on 2026-04-10 (2 customers). "
                        "-> ")
    assert typed(b, "statements", "export", "--all", "--end", "2026-04-10", "--format", "pdf",
                 "--as-of", AS_OF.isoformat()) == 0
    names = [p.name for p in sorted((a.parent / "statements").iterdir())]
    assert names == [p.name for p in sorted((b.parent / "statements").iterdir())] == [
        "Statement-C1-2026-04-10.pdf", "Statement-C2-2026-04-10.pdf"]  # C3 paid in full
    assert port.summaries[0][1][-1] == "Statements: 2 written, 1 skipped (zero balance)"
    assert port.opened == [a.parent / "statements"]


def test_email_statement_with_no_customer_selected_counts_and_confirms_before_sending(books):
    a, b = books
    shown: list[str] = []
    answers = {"end": "2026-04-10", "customer": "", "message": "", "copy_me": "no"}
    port = FilePort(a, NOTHING, answers, confirm_answer=False, as_of=AS_OF, echo=shown.append)
    assert handlers.dispatch("email_statement", port) == 0
    assert shown[-1] == ("Email the statement up to 2026-04-10 to each of the 2 customers with a balance now, "
                         "one message each? -> no")
    assert not (a.parent / "outbox").exists()  # said no: nothing sent

    code, port = press(a, "email_statement", **answers)
    assert code == typed(b, "statements", "email", "--all", "--end", "2026-04-10", "--as-of", AS_OF.isoformat()) == 0
    got = messages(a.parent / "outbox")
    assert got == messages(b.parent / "outbox")
    assert sorted(m[0] for m in got) == ["ap@acme.example", "pay@bolt.example"]
    assert port.summaries[0][0] == "Email statements"
    assert stable_cells(a) == stable_cells(b)


def test_a_customer_typed_instead_of_everyone(books):
    a, _ = books
    code, port = press(a, "export_statement_csv", end="2026-04-10", customer="C2")
    assert code == 0
    assert port.opened == [a.parent / "statements" / "Statement-C2-2026-04-10.csv"]


def test_nobody_with_a_balance_is_said_and_nothing_is_done(books):
    a, _ = books
    code, port = press(a, "email_statement", end="2026-01-31", customer="")
    assert code == 0
    assert port.alerts == ["No customer has a balance on 2026-01-31: nothing to send."]
    assert port.asked == ["end", "customer"] and not (a.parent / "outbox").exists()


def test_a_user_who_sees_no_customer_is_told_so_before_any_question_about_everyone(books, monkeypatch):
    from conftest import write_workbook

    a, _ = books
    write_workbook(a, {**RIBBON_BOOK, "Users": [["User", "Role", "Group"], ["lee", "Admin", None]]})
    monkeypatch.setenv("RECEIVABLES_USER", "stranger")
    code, port = press(a, "email_statement", end="2026-04-10")
    assert code == 0 and port.asked == ["end"]
    assert port.alerts == ['Users: user "stranger" is not on the Users sheet, so has no access — ask an Admin to '
                           'add a row for "stranger" to Users']

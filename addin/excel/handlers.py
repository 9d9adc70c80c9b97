"""Ribbon handlers: thin doors from a button press to the very command the CLI runs.

Excel calls ``dispatch('<button id>')`` (macros/Receivables.bas, through xlwings' RunPython).
Each handler turns what the user selected and answered into the words of the matching
``receivables`` command (SPEC §6) and runs that command in this process, through
``addin.cli.main``: same reader, same feature functions, same journal and writer, same
messages. The port (addin/excel/port.py) is everything a handler knows about Excel.
"""

from __future__ import annotations

import io
import traceback
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING

from ..numtext import number_text
from ..workbook import schema
from ..workbook.schema import normalize

if TYPE_CHECKING:
    from .port import Port

OK, PROBLEMS, USAGE = 0, 1, 2
CANCELLED = OK  # the user pressed Cancel: nothing done, nothing wrong


def dispatch(control_id: str, port: Port | None = None) -> int:
    """Run the handler of a ribbon button; errors are shown to the user, never raised into Excel."""
    from .ribbon import handler_for

    if port is None:
        from .xlwings_port import XlwingsPort

        port = XlwingsPort.caller()
    handler = handler_for(control_id)
    if handler is None:
        port.alert(f'The button "{control_id}" is unknown to this version of Receivables — '
                   "install the add-in again with `receivables excel install`.")
        return USAGE
    try:
        if not port.prepare():
            return CANCELLED
        if not port.workbook_path.is_file():
            port.alert(f"{port.workbook_path}: no such workbook — save the workbook, then press the button again.")
            return USAGE
        return handler(port)
    except Exception as exc:  # noqa: BLE001 - a traceback never reaches the user
        import tempfile

        crash = Path(tempfile.gettempdir()) / "receivables-crash.log"
        crash.write_text(traceback.format_exc(), encoding="utf-8")
        port.alert(f"Internal error: {type(exc).__name__}: {exc} — this is a bug; details are in {crash}.")
        return USAGE


# --- the handlers, one per button (the table is addin/excel/ribbon.py) ---------------------------


def build_groups(port: Port) -> int:
    """Build every group, or only the groups selected on the Groups sheet (frozen ones included)."""
    names = _selected(port, schema.GROUPS, "Group")
    if not names:
        return _run(port, "Build groups", ["groups", "build", *_wb(port), *_as_of(port)])
    code = OK
    for name in names:
        code = max(code, _run(port, f"Build group {name}",
                              ["groups", "build", *_wb(port), "--group", name, *_as_of(port)]))
    return code


def email_group(port: Port) -> int:
    """Email each member of a group; rows selected on Group Members pick a subset of one group."""
    name, only = _group_and_members(port)
    if name is None:
        return CANCELLED
    subject = _ask_required(port, "subject", f'Subject of the message to group "{name}":')
    if subject is None:
        return CANCELLED
    message = _ask_required(port, "message", "Message (placeholders such as {{ customer.name }} may be used):")
    if message is None:
        return CANCELLED
    whom = f"{len(only)} selected member(s)" if only else "every member"
    if not port.confirm(f'Send "{subject}" to {whom} of group "{name}", one message each?'):
        return CANCELLED
    argv = ["groups", "email", *_wb(port), name, "--subject", subject, "--message", message]
    if only:
        argv += ["--only", ",".join(only)]
    return _run(port, "Email group", [*argv, *_as_of(port), *_outbox(port)])


def show_group(port: Port) -> int:
    name, _ = _group_and_members(port)
    if name is None:
        return CANCELLED
    return _run(port, f"Group {name}", ["groups", "show", *_wb(port), name, *_as_of(port)])


def preview_due(port: Port) -> int:
    return _run(port, "Reminders due", ["reminders", "due", *_wb(port), *_as_of(port)])


def send_reminder(port: Port) -> int:
    """A manual reminder for the invoice rows selected on the Invoices sheet."""
    numbers = _selected(port, schema.INVOICES, "Invoice No")
    if not numbers:
        port.alert("Select one or more invoice rows on the Invoices sheet first, then press "
                   '"Send reminder for selection" again.')
        return CANCELLED
    subject = port.ask("subject", "Subject (leave blank for the usual reminder subject):", "")
    if subject is None:
        return CANCELLED
    message = port.ask("message", "Message (leave blank for the usual reminder text):", "")
    if message is None:
        return CANCELLED
    if not port.confirm(f"Send a reminder now for {_count(numbers, 'invoice')}: {', '.join(numbers)}?"):
        return CANCELLED
    argv = ["reminders", "send", *_wb(port), *numbers]
    if subject.strip():
        argv += ["--subject", subject]
    if message.strip():
        argv += ["--message", message]
    return _run(port, "Send reminder", [*argv, *_as_of(port), *_outbox(port)])


def run_reminders(port: Port) -> int:
    if not port.confirm("Send the automatic reminders due today now?"):
        return CANCELLED
    return _run(port, "Automatic reminders", ["reminders", "run", *_wb(port), *_as_of(port), *_outbox(port)])


def export_statement_pdf(port: Port) -> int:
    return _export_statement(port, "pdf")


def export_statement_csv(port: Port) -> int:
    return _export_statement(port, "csv")


def email_statement(port: Port) -> int:
    """Email the selected customer's statement; with no customer selected, a customer asked for,
    or every customer with a balance (counted, and confirmed before anything is sent)."""
    whom = _statement_whom(port, "send")
    if whom is None:
        return CANCELLED
    customer, end, count = whom
    message = port.ask("message", "Message (leave blank for the usual statement text):", "")
    if message is None:
        return CANCELLED
    copy = port.ask("copy_me", "Send a copy to me too? (yes / no)", "no")
    if copy is None:
        return CANCELLED
    question = (f"Email the statement of {customer} up to {end} now?" if customer else
                f"Email the statement up to {end} to each of the {_many_of(count, 'customer')} with a "
                "balance now, one message each?")
    if not port.confirm(question):
        return CANCELLED
    argv = ["statements", "email", *_wb(port), *([customer] if customer else ["--all"]), "--end", end]
    if message.strip():
        argv += ["--message", message]
    if normalize(copy) in schema.TRUE_WORDS:
        argv.append("--copy-me")
    return _run(port, "Email statement" if customer else "Email statements", [*argv, *_as_of(port), *_outbox(port)])


def check_workbook(port: Port) -> int:
    return _run(port, "Check workbook", ["check", *_wb(port)])


def refresh_dashboard(port: Port) -> int:
    """``receivables refresh``; pressed in the Excel that has the workbook open (where the file
    is Excel's, and a refresh would wait for it to close), the figures and add-in columns go
    straight into the open sheets, after the updates waiting in the journal."""
    from ..commands.common import CommandError, writable_workbook
    from ..commands.refresh import refresh_lines

    waiting: list[str] = []
    try:
        writable_workbook(port.workbook_path)  # an .ods: refused before anything is written
        waiting = port.after_run([])
        code, lines = refresh_lines(port.workbook_path, port.as_of, port.write_open)
    except CommandError as exc:  # as the command line says it
        code, lines = USAGE, [f"error: {exc}"]
    port.show_summary("Refresh dashboard", [*lines, *waiting])
    return code


def open_outbox(port: Port) -> int:
    """Open the outbox folder (Settings outbox_dir, relative to the workbook), creating it if needed."""
    if port.outbox is not None:
        folder = port.outbox
    else:
        settings = port.book().settings
        folder = Path(settings.outbox_dir).expanduser()
        if not folder.is_absolute():
            folder = port.workbook_path.parent / folder
    folder.mkdir(parents=True, exist_ok=True)
    port.open_path(folder)
    return OK


def open_log(port: Port) -> int:
    port.show_sheet(schema.LOG.name)
    return OK


# --- helpers ---------------------------------------------------------------------------------------


def _run(port: Port, title: str, argv: Sequence[str]) -> int:
    """Run ``receivables <argv>`` in this process; show what it printed; return its exit status."""
    code, lines = _command(port, argv)
    port.show_summary(title, lines or ["Done."])
    return code


def _command(port: Port, argv: Sequence[str]) -> tuple[int, list[str]]:
    from ..cli import main
    from ..workbook.files import read_only_reason

    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse refused the words: shown like any usage error
            code = exc.code if isinstance(exc.code, int) else USAGE
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    if read_only_reason(port.workbook_path) is not None:
        return code, lines  # an .ods: nothing waits to be written into it, and nothing ever is
    return code, port.after_run(lines)


def _wb(port: Port) -> list[str]:
    return [str(port.workbook_path)]


def _as_of(port: Port) -> list[str]:
    return ["--as-of", port.as_of.isoformat()] if port.as_of else []


def _outbox(port: Port) -> list[str]:
    return ["--outbox", str(port.outbox)] if port.outbox is not None else []


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        value = number_text(value)  # an ID typed as a number comes back from Excel as 1001.0
    return str(value).strip()


def _selected(port: Port, sheet: schema.Sheet, header: str) -> list[str]:
    """Distinct non-blank values of ``header`` in the rows selected on ``sheet`` (in row order)."""
    chosen = port.selection()
    if not chosen.on(sheet) or not chosen.rows:
        return []
    values = [_text(row.get(normalize(header))) for row in port.values(chosen.sheet, chosen.rows)]
    return list(dict.fromkeys(v for v in values if v))


def _group_and_members(port: Port) -> tuple[str | None, list[str]]:
    """The group of the selected Groups / Group Members rows (and the selected members), else asked."""
    chosen = port.selection()
    names = _selected(port, schema.GROUPS, "Group") or _selected(port, schema.GROUP_MEMBERS, "Group")
    only = _selected(port, schema.GROUP_MEMBERS, "Customer ID") if chosen.on(schema.GROUP_MEMBERS) else []
    if len(names) > 1:
        port.alert(f"Select the rows of one group only (the selection covers {', '.join(names)}).")
        return None, []
    if names:
        return names[0], only
    name = _ask_required(port, "group", "Which group? (select its row on the Groups sheet next time)")
    return name, []


def _selected_customer(port: Port) -> str | None:
    """The customer of the selected row (Customers, Invoices, Payments or Statement Schedules);
    '' when no such row is selected; None when rows of several customers are."""
    for sheet in (schema.CUSTOMERS, schema.INVOICES, schema.PAYMENTS, schema.STATEMENT_SCHEDULES):
        ids = _selected(port, sheet, "Customer ID")
        if len(ids) > 1:
            port.alert(f"Select rows of one customer only (the selection covers {', '.join(ids)}).")
            return None
        if ids:
            return ids[0]
    return ""


def _export_statement(port: Port, fmt: str) -> int:
    whom = _statement_whom(port, "export")
    if whom is None:
        return CANCELLED
    customer, end, _ = whom
    argv = ["statements", "export", *_wb(port), *([customer] if customer else ["--all"]), "--end", end,
            "--format", fmt, *_as_of(port)]
    code, lines = _command(port, argv)
    port.show_summary(f"Export {fmt.upper()}", lines or ["Done."])
    written = [p for p in map(_as_path, lines) if p is not None]
    if written and (code == OK or not customer):
        port.open_path(written[-1] if customer else written[-1].parent)
    return code


def _statement_whom(port: Port, verb: str) -> tuple[str, str, int] | None:
    """(the customer, or '' for every customer with a balance; the statement date; how many):
    the selected customer, else asked for, blank meaning every customer with a balance (counted
    as ``statements export|email --all`` counts them). None: cancelled."""
    customer = _selected_customer(port)
    if customer is None:
        return None
    if customer:
        end = _ask_date(port, "end", f"Statement of {customer} up to (YYYY-MM-DD):")
        return None if end is None else (customer, end, 1)
    end = _ask_date(port, "end", "Statements up to (YYYY-MM-DD):")
    if end is None:
        return None
    count = _with_balance(port, end)
    if isinstance(count, str):  # this user may see no customer: said as the command says it
        port.alert(count)
        return None
    answer = port.ask("customer", f"Customer ID? Leave it blank for every customer with a balance on {end} "
                                  f"({_many_of(count, 'customer')}).", "")
    if answer is None:
        return None
    if answer.strip():
        return answer.strip(), end, 1
    if not count:
        port.alert(f"No customer has a balance on {end}: nothing to {verb}.")
        return None
    return "", end, count


def _with_balance(port: Port, end: str) -> int | str:
    """How many customers ``--all`` covers on ``end`` (Active, a balance, seen by the user), or
    why this user sees none."""
    import datetime as dt

    from ..access import access_for, visible_for
    from ..commands.common import today
    from ..ledger import Ledger
    from ..statements import with_balance

    book = port.book()
    access = access_for(book)
    refusal = access.refusal(book)
    if refusal is not None:
        return str(refusal)
    ledger = Ledger.from_book(book)
    visible = visible_for(book, ledger, port.as_of or today(book.settings), access)
    return len(with_balance(book, ledger, dt.date.fromisoformat(end), visible))


def _as_path(line: str) -> Path | None:
    """The file a line names, if the line is (or ends with) the path of an existing file."""
    text = line.strip().strip('"')
    for candidate in (text, text.rpartition(": ")[2], text.rpartition(" ")[2]):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


ATTEMPTS = 3  # a required answer left blank is asked again, then the action is cancelled


def _ask_required(port: Port, name: str, prompt: str) -> str | None:
    for attempt in range(ATTEMPTS):
        answer = port.ask(name, prompt if attempt == 0 else f"{prompt} (required)", "")
        if answer is None:
            return None
        if answer.strip():
            return answer.strip()
    port.alert("Nothing was done: an answer is required.")
    return None


def _ask_date(port: Port, name: str, prompt: str) -> str | None:
    """A date answer as YYYY-MM-DD (default: the day the port acts for); asked again when not a date."""
    import datetime as dt

    default = (port.as_of or dt.date.today()).isoformat()
    question = prompt
    for _ in range(ATTEMPTS):
        answer = port.ask(name, question, default)
        if answer is None:
            return None
        try:
            return dt.date.fromisoformat(answer.strip()).isoformat()
        except ValueError:
            question = f'"{answer}" is not a date — write it as YYYY-MM-DD, e.g. {default}. {prompt}'
    port.alert(f"Nothing was done: {question}")
    return None


def _count(items: Sequence[object], noun: str) -> str:
    return _many_of(len(items), noun)


def _many_of(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"

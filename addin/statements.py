"""Customer statements (SPEC §4 Statements): what a statement says, as a pure function.

``build(book, ledger, customer_id, end, type=..., start=...)`` returns a ``Statement`` or a
problem: never a statement from a customer whose rows have errors.

- Outstanding as of E: every invoice dated on or before E with a balance as of E (Date,
  Invoice No, Due Date, Amount, Paid, Balance due), then every unapplied credit dated on or
  before E as a negative line; total due; ageing.
- Activity from S to E: the opening balance as of S − 1 day, then every invoice, payment (one
  line per Payment ID, however many invoices it was split across) and credit note dated in
  [S, E] in date order, each with the running balance; the closing balance is the balance as of
  E; ageing.

Several at once (``--all``, ``--group``): ``several`` decides each customer's outcome (a
statement, a zero balance skipped, a hold), ``plan_several_emails`` what is emailed: each
customer's statement at most once per type and period, by whichever door (``period_key``).
Their PDFs, and with ``email_batches(now=...)`` their whole messages, are made on every core
(``_mapped``): the process that sends only journals and writes them.

Emails, schedules and the CLI are in ``addin.schedules`` and ``addin.commands.statements``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from .actions import Attachment, Email, LogEntry, Plan, Update
from .holds import held
from .ledger import Ageing, Ledger
from .model import Book, Customer, Payment, Settings
from .money import ZERO
from .problems import Problem, error, warning
from .render.texts import Source
from .workbook import addresses, schema
from .workbook.schema import normalize

OUTSTANDING = "Outstanding"
ACTIVITY = "Activity"
TYPES = (OUTSTANDING, ACTIVITY)

# Line kinds
INVOICE = "invoice"
PAYMENT = "payment"
CREDIT_NOTE = "credit note"
CREDIT = "credit"  # an unapplied credit on an Outstanding statement
OPENING = "opening"
CLOSING = "closing"


@dataclass(frozen=True)
class Line:
    """One line of a statement.

    Attributes:
      kind: INVOICE, PAYMENT, CREDIT_NOTE, CREDIT (Outstanding: unapplied credit), OPENING or CLOSING.
      number: the Invoice No, or the Payment ID of a payment or credit note.
      reference: what else identifies it: the invoices a payment was applied to, its Reference,
        or why a credit is unapplied ("unapplied", "overpayment", "prepayment").
      amount: Outstanding: the invoice amount (negative for a credit). Activity: the change to
        the balance (invoices positive, payments and credit notes negative); zero for
        opening/closing lines.
      paid: Outstanding invoices: paid as of the end date; else None.
      balance: Outstanding: the balance due of the line. Activity: the running balance.
    """

    date: dt.date
    kind: str
    number: str
    amount: Decimal
    balance: Decimal
    due_date: dt.date | None = None
    paid: Decimal | None = None
    reference: str = ""


@dataclass(frozen=True)
class Statement:
    """A customer's statement.

    Attributes:
      type: OUTSTANDING or ACTIVITY.
      start: first day of an Activity statement (None for Outstanding).
      end: the statement date.
      lines: the table, in order (Activity: without the opening and closing lines, see rows()).
      opening: the balance as of start − 1 day (Activity), else None.
      total: the total due as of the end date (= the closing balance).
      ageing: the balance by ageing bucket as of the end date.
      language: 'en' or 'fr', the customer's language (else the workbook's).
    """

    customer: Customer
    type: str
    end: dt.date
    lines: tuple[Line, ...]
    total: Decimal
    ageing: Ageing
    language: str = "en"
    start: dt.date | None = None
    opening: Decimal | None = None

    def rows(self) -> tuple[Line, ...]:
        """Every line to show: Activity gets its opening line first and closing line last."""
        if self.type != ACTIVITY:
            return self.lines
        assert self.start is not None and self.opening is not None
        opening = Line(self.start, OPENING, "", ZERO, self.opening)
        closing = Line(self.end, CLOSING, "", ZERO, self.total)
        return (opening, *self.lines, closing)

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        """(start, end); an Outstanding statement's start is its end."""
        return (self.start or self.end, self.end)


def normalize_type(text: str | None, default: str = OUTSTANDING) -> str:
    """``outstanding`` / ``Activity`` -> OUTSTANDING / ACTIVITY; blank -> default."""
    if not text or not str(text).strip():
        return default
    key = normalize(str(text))
    for t in TYPES:
        if normalize(t) == key:
            return t
    raise ValueError(f'"{text}" is not a statement type — use Outstanding or Activity')


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


# --- building -----------------------------------------------------------------------------------

def refusal(book: Book, customer_id: str) -> Problem | None:
    """Why no statement can be made for this customer (unknown, or rows with errors), or None."""
    customer = book.customer(customer_id)
    if customer is None:
        return error(schema.CUSTOMERS.name, "", f'no customer "{customer_id}" on the Customers sheet',
                     "check the Customer ID", customer_id=customer_id)
    waiting = (*book.holds.statements(), *book.holds.customer(customer.id))
    if waiting:
        return held(customer.origin.sheet or schema.CUSTOMERS.name, customer.origin.cell(),
                    f"no statement for {customer.id}", waiting, customer.id)
    return None


def build(book: Book, ledger: Ledger, customer_id: str, end: dt.date, *, type: str = OUTSTANDING,
          start: dt.date | None = None) -> Statement | Problem:
    """The customer's statement as of ``end`` (Activity: from ``start``, default the 1st of end's month)."""
    problem = refusal(book, customer_id)
    if problem is not None:
        return problem
    customer = book.customer(customer_id)
    assert customer is not None
    language = customer.language or book.settings.language or "en"
    begin = start or first_of_month(end)
    if type == ACTIVITY and begin > end:
        return error("", "", f"the start date {begin.isoformat()} is after the end date {end.isoformat()}",
                     "give a start date on or before the end date", customer_id=customer.id)
    try:
        if type == ACTIVITY:
            return activity(ledger, customer, begin, end, language)
        return outstanding(ledger, customer, end, language)
    except AssertionError as exc:  # the lines do not add up to the ledger: a bug, reported, not sent
        return error("", "", f"no statement for {customer.id}: {exc}", "this is a bug in the add-in — please report it",
                     customer_id=customer.id)


def outstanding(ledger: Ledger, customer: Customer, end: dt.date, language: str = "en") -> Statement:
    """Outstanding as of ``end``: open invoices, then unapplied credits (negative)."""
    lines: list[Line] = []
    for it in ledger.open_items(customer.id, end):
        inv = it.invoice
        lines.append(Line(inv.invoice_date, INVOICE, inv.number, inv.amount, it.balance,
                          due_date=inv.due_date, paid=it.paid))
    for credit in ledger.credits(customer.id, end):
        pay = credit.payment
        kind = CREDIT_NOTE if pay.is_credit_note else CREDIT
        lines.append(Line(pay.date, kind, pay.payment_id, -credit.amount, -credit.amount,
                          reference=credit.reason))
    summary = ledger.summary(customer.id, end)
    total = sum((line.balance for line in lines), ZERO)
    if total != summary.balance:
        raise AssertionError(f"statement of {customer.id} as of {end}: lines add up to {total}, "
                             f"the ledger says {summary.balance}")
    return Statement(customer, OUTSTANDING, end, tuple(lines), total, summary.ageing, language)


def activity(ledger: Ledger, customer: Customer, start: dt.date, end: dt.date, language: str = "en") -> Statement:
    """Activity from ``start`` to ``end``: opening balance, movements with a running balance, closing."""
    opening = ledger.customer_balance(customer.id, start - dt.timedelta(days=1))
    events: list[tuple[dt.date, int, int, Line]] = []
    for inv in ledger.invoices_of(customer.id):
        if start <= inv.invoice_date <= end:
            line = Line(inv.invoice_date, INVOICE, inv.number, inv.amount, ZERO, due_date=inv.due_date,
                        reference=inv.memo)
            events.append((inv.invoice_date, 0, inv.origin.row, line))
    by_id: dict[tuple[str, str, dt.date], list[Payment]] = defaultdict(list)
    for pay in ledger.payments_of(customer.id):
        if start <= pay.date <= end:
            by_id[(normalize(pay.payment_id), pay.type, pay.date)].append(pay)
    for rows in by_id.values():
        first = rows[0]
        total = sum((p.amount for p in rows), ZERO)
        applied = list(dict.fromkeys(p.invoice_no for p in rows if p.invoice_no))
        refs = list(dict.fromkeys(p.reference for p in rows if p.reference))
        reference = ", ".join([*applied, *refs])
        kind = CREDIT_NOTE if first.is_credit_note else PAYMENT
        line = Line(first.date, kind, first.payment_id, -total, ZERO, reference=reference)
        events.append((first.date, 1, min(p.origin.row for p in rows), line))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    running = opening
    lines: list[Line] = []
    for _, _, _, line in events:
        running += line.amount
        lines.append(Line(line.date, line.kind, line.number, line.amount, running,
                          due_date=line.due_date, reference=line.reference))
    summary = ledger.summary(customer.id, end)
    if running != summary.balance:
        raise AssertionError(f"activity statement of {customer.id} {start}..{end}: the running balance ends "
                             f"at {running}, the balance as of {end} is {summary.balance}")
    return Statement(customer, ACTIVITY, end, tuple(lines), summary.balance, summary.ageing, language,
                     start=start, opening=opening)


# --- files ----------------------------------------------------------------------------------------

def safe_id(customer_id: str) -> str:
    """The customer ID as a file-name part: letters, digits, ``.``, ``_`` and ``-`` only; never a path."""
    out = "".join(c if (c.isascii() and (c.isalnum() or c in "._-")) else "_" for c in customer_id.strip())
    out = out.strip(".") or "customer"
    return out[:60]


def file_name(statement: Statement, extension: str) -> str:
    """``Statement-<safe id>-<end>.pdf``."""
    return f"Statement-{safe_id(statement.customer.id)}-{statement.end.isoformat()}.{extension}"


# --- documents (PDF and CSV), many at once ----------------------------------------------------------

@dataclass(frozen=True)
class Files:
    """A statement's attachments: the PDF, and the CSV when asked."""

    pdf: bytes
    csv: bytes | None = None


POOL_THRESHOLD = 24  # below this, one process is faster than starting workers


def _render_one(job: tuple[Statement, Any, str, bool]) -> Files:
    from .render import statement_csv, statement_pdf

    statement, company, currency, with_csv = job
    return Files(statement_pdf.render(statement, company, currency),
                 statement_csv.render(statement) if with_csv else None)


def render_files(statements: Sequence[Statement], company: Any, currency: str, *,
                 csv_for: Sequence[bool] | None = None, progress: Callable[[int, int], None] | None = None,
                 workers: int | None = None) -> list[Files]:
    """PDF (and CSV) of each statement, in order. Big batches use every core (fonts loaded once per worker)."""
    return list(iter_files(statements, company, currency, csv_for=csv_for, progress=progress, workers=workers))


def iter_files(statements: Sequence[Statement], company: Any, currency: str, *,
               csv_for: Sequence[bool] | None = None, progress: Callable[[int, int], None] | None = None,
               workers: int | None = None) -> Iterator[Files]:
    """render_files, one statement's files at a time as soon as they are made: the workers go on
    with the next ones while the caller uses these (sends them)."""
    jobs = [(s, company, currency, bool(csv_for[i]) if csv_for else False) for i, s in enumerate(statements)]
    return _mapped(_render_one, jobs, progress, workers)


def _mapped(work: Callable[[Any], Any], jobs: list[Any], progress: Callable[[int, int], None] | None,
            workers: int | None) -> Iterator[Any]:
    """``work`` of each job, in order, as soon as made: big batches on every core (fonts loaded
    once per worker), small ones (or where workers cannot start) in this process."""
    total = len(jobs)
    cores = workers if workers is not None else (os.cpu_count() or 1)
    done = 0
    if total >= POOL_THRESHOLD and cores > 1:
        # workers that cannot start here (e.g. no importable __main__): go on in this process
        with contextlib.suppress(BrokenProcessPool):
            for made in _in_pool(work, jobs, cores):
                done += 1
                if progress:
                    progress(done, total)
                yield made
    if done < total:
        from .render.pdf import warm_up

        warm_up()
        for job in jobs[done:]:
            done += 1
            made = work(job)
            if progress:
                progress(done, total)
            yield made


def _in_pool(work: Callable[[Any], Any], jobs: list[Any], cores: int) -> Iterator[Any]:
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    from .render.pdf import warm_up

    total = len(jobs)
    chunk = max(1, min(32, total // (cores * 8) or 1))
    # fork is quick and shares the parsed books, but forking a process that runs other threads
    # (the daemon) is unsafe: then workers are started fresh.
    context = multiprocessing.get_context("spawn") if threading.active_count() > 1 else None
    with ProcessPoolExecutor(max_workers=cores, initializer=warm_up, mp_context=context) as pool:
        yield from pool.map(work, jobs, chunksize=chunk)


# --- emails ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mail:
    """A statement to email, before its attachments are made.

    Attributes:
      subject / message: the texts (templates) and where they come from, for messages.
      on_sent: workbook updates once it is sent (a schedule's Last Sent).
    """

    statement: Statement
    key: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    copy_to: str = ""
    subject: tuple[str, Source] | None = None
    message: tuple[str, Source] | None = None
    attach_csv: bool = False
    on_sent: tuple[Update, ...] = ()
    log: LogEntry | None = None


def recipients(customer: Customer, override: Sequence[str] = ()) -> tuple[str, ...]:
    """To: the override (a schedule's To, --to), else Statement Email, else Email."""
    return tuple(override) or tuple(customer.statement_emails) or tuple(customer.emails)


def split_addresses(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``a@x; b@y, c@z`` -> the addresses, trimmed, in order, without repeats."""
    if not text:
        return ()
    parts = [text] if isinstance(text, str) else list(text)
    return tuple(dict.fromkeys(a for part in parts for a in addresses.split_addresses(part)))


def no_address(customer: Customer) -> Problem:
    cell = customer.origin.cell("Email") if customer.origin.sheet else ""
    return error(customer.origin.sheet or schema.CUSTOMERS.name, cell,
                 f"customer {customer.id} has no email address for statements, nothing was sent",
                 "type an address in Email or Statement Email (or the schedule's To)", customer_id=customer.id)


def compose(mail: Mail, files: Files, settings: Settings) -> Email | Problem:
    """The Email for a statement: texts rendered in the customer's language, PDF (and CSV) attached."""
    from .render import texts

    statement = mail.statement
    customer = statement.customer
    language = statement.language
    start, end = statement.period
    variables = texts.statement_vars(end, statement.total, settings, language,
                                     statement.start)
    ctx = texts.context(settings, customer, statement=variables, emails=mail.to)
    lang_dir = language if language in ("en", "fr") else "en"
    subject_text, subject_src = mail.subject or (texts.builtin(f"statements/{lang_dir}/subject.txt"), texts.Source())
    message_text, message_src = mail.message or (texts.builtin(f"statements/{lang_dir}/message.txt"), texts.Source())
    try:
        subject = " ".join(texts.render(subject_text, ctx, subject_src).split())
        message = texts.render(message_text, ctx, message_src)
    except texts.TextError as exc:
        p = exc.problem
        return error(p.sheet, p.cell, p.message + _not_sent([customer.id]), p.fix, customer_id=customer.id)
    html = texts.to_html(message) + _summary_html(statement, settings)
    attachments = [Attachment(file_name(statement, "pdf"), files.pdf, "application/pdf")]
    if files.csv is not None:
        attachments.append(Attachment(file_name(statement, "csv"), files.csv, "text/csv"))
    return Email(key=mail.key, to=mail.to, subject=subject, text=message, html=html, cc=mail.cc,
                 attachments=tuple(attachments), on_sent=mail.on_sent, log=mail.log,
                 copy_to=mail.copy_to, language=language, customer=customer.id, customer_name=customer.name)


def _summary_html(statement: Statement, settings: Settings) -> str:
    from html import escape

    from .render import fmt
    from .render.statement_pdf import labels

    t = labels(statement.language)
    rows = [(t["date"], fmt.date(statement.end, statement.language))]
    if statement.type == ACTIVITY:
        rows.append((t["period"], f"{fmt.date(statement.start, statement.language)} – "
                                  f"{fmt.date(statement.end, statement.language)}"))
    rows.append((t["due"], fmt.money(statement.total, settings.currency, statement.language)))
    cells = "".join(f"<tr><td style=\"padding:2px 12px 2px 0;color:#666\">{escape(a)}</td>"
                    f"<td style=\"padding:2px 0;font-weight:bold\">{escape(b)}</td></tr>" for a, b in rows)
    return f'\n<table role="presentation" style="border-collapse:collapse;margin-top:12px">{cells}</table>'


def emails(mails: Sequence[Mail], book: Book, *, progress: Callable[[int, int], None] | None = None,
           workers: int | None = None) -> tuple[list[Email], list[Problem]]:
    """Make the attachments (in parallel for big batches) and the Emails, in order."""
    out: list[Email] = []
    failed: list[tuple[Mail, Problem]] = []
    for made, faults in email_batches(mails, book, len(mails) or 1, progress=progress, workers=workers):
        out += made
        failed += faults
    return out, unsent(failed)


def _email_one(job: tuple[Mail, Any, Settings, dt.datetime | None, Any]) -> Email | Problem:
    """One statement's Email (its files made, its texts rendered; with ``now``, its whole
    message too, ``Email.mime``): what a worker process makes."""
    mail, company, settings, now, base_dir = job
    made = compose(mail, _render_one((mail.statement, company, settings.currency, mail.attach_csv)), settings)
    if now is None or isinstance(made, Problem):
        return made
    from .mail.message import build_bytes

    return replace(made, mime=build_bytes(made, settings, now=now, base_dir=base_dir))


def email_batches(mails: Sequence[Mail], book: Book, size: int, *,
                  progress: Callable[[int, int], None] | None = None, workers: int | None = None,
                  now: dt.datetime | None = None) -> Iterator[tuple[list[Email], list[tuple[Mail, Problem]]]]:
    """The Emails of ``mails``, ``size`` at a time, in order, with the mails whose texts could not
    be made (see ``unsent``): while the caller sends one batch, the workers make the next ones.
    With ``now`` (the messages' Date) the workers make the whole messages too (``Email.mime``)."""
    from .render.pdf import Company

    base_dir = book.path.parent if book.path else None
    company = Company.from_settings(book.settings, base_dir)
    jobs = [(m, company, book.settings, now, base_dir) for m in mails]
    batch: list[Email] = []
    failed: list[tuple[Mail, Problem]] = []
    for mail, made in zip(mails, _mapped(_email_one, jobs, progress, workers), strict=True):
        if isinstance(made, Problem):
            failed.append((mail, made))
        else:
            batch.append(made)
        if len(batch) + len(failed) >= size:
            yield batch, failed
            batch, failed = [], []
    if batch or failed:
        yield batch, failed


def unsent(failed: Iterable[tuple[Mail, Problem]]) -> list[Problem]:
    """One faulty text is reported once, naming every customer it stops."""
    found: dict[tuple[str, str, str], tuple[Problem, list[str]]] = {}
    for mail, made in failed:
        customer_id = mail.statement.customer.id
        key = (made.sheet, made.cell, made.message.removesuffix(_not_sent([customer_id])))
        found.setdefault(key, (made, []))[1].append(customer_id)
    return [p if len(ids) == 1 else replace(p, message=key[2] + _not_sent(ids)) for key, (p, ids) in found.items()]


def _not_sent(customer_ids: Sequence[str]) -> str:
    """`` (statement for C1 not sent)``, `` (statements for C1, C2 not sent)``."""
    if len(customer_ids) == 1:
        return f" (statement for {customer_ids[0]} not sent)"
    shown = ", ".join(customer_ids[:10]) + (f" and {len(customer_ids) - 10} more" if len(customer_ids) > 10 else "")
    return f" (statements for {shown} not sent)"


def manual_key(statement: Statement, as_of: dt.date, to: Sequence[str], cc: Sequence[str],
               message: str | None, copy_to: str = "") -> str:
    """``statement-email:<customer>:<type>:<start>..<end>:<as-of>:<hash of to/cc/message>``."""
    start, end = statement.period
    digest = hashlib.sha256("\x1f".join([";".join(to), ";".join(cc), message or "", copy_to]).encode()).hexdigest()[:10]
    return (f"statement-email:{statement.customer.id}:{statement.type.lower()}:{start.isoformat()}.."
            f"{end.isoformat()}:{as_of.isoformat()}:{digest}")


def copy_address(book: Book, copy_me: bool) -> tuple[str, list[Problem]]:
    """Where "send me a copy" goes ('' when not asked), and a warning when no address is known."""
    if not copy_me:
        return "", []
    address = book.settings.copy_address
    if address:
        return address, []
    return "", [warning(schema.SETTINGS_SHEET.name, book.settings.cells.get("copy_to_me", ""),
                        "no address for the copy to you (copy_to_me and company_email are blank), no copy was sent",
                        "type your address in copy_to_me")]


def plan_email(book: Book, ledger: Ledger, customer_id: str, end: dt.date, as_of: dt.date, *,
               type: str = OUTSTANDING, start: dt.date | None = None, to: Sequence[str] = (),
               cc: Sequence[str] = (), copy_me: bool = False, message: str | None = None) -> Plan:
    """Email one customer's statement now (``statements email``); the same request twice a day sends once."""
    waiting = book.holds.sending()
    if waiting:
        return Plan(problems=(held("", "", f"no statement sent to {customer_id}", waiting),))
    made = build(book, ledger, customer_id, end, type=type, start=start)
    if isinstance(made, Problem):
        return Plan(problems=(made,))
    statement = made
    customer = statement.customer
    rcpt = recipients(customer, to)
    if not rcpt:
        return Plan(problems=(no_address(customer),))
    copy_to, problems = copy_address(book, copy_me)
    key = manual_key(statement, as_of, rcpt, cc, message, copy_to)
    start_day, end_day = statement.period
    log = LogEntry("statement email", customer.id, f"{statement.type} {start_day.isoformat()}..{end_day.isoformat()}")
    mail = Mail(statement, key, rcpt, tuple(cc), copy_to,
                message=(message, Source()) if message else None, log=log)
    made_emails, more = emails([mail], book)
    problems += more
    lines = tuple(f"statement for {customer.id} ({statement.type}, {end_day.isoformat()}) to {', '.join(rcpt)}"
                  for _ in made_emails)
    return Plan(emails=tuple(made_emails), problems=tuple(problems), lines=lines)


# --- check ----------------------------------------------------------------------------------------

def check(book: Book) -> list[Problem]:
    """Statement Schedules problems the reader cannot see (see addin.schedules.check)."""
    from .schedules import check as check_schedules

    return check_schedules(book)


def plan_scheduled(book: Book, ledger: Ledger, sent_keys: Iterable[str], as_of: dt.date, **kwargs: Any) -> Plan:
    """Every scheduled statement due on ``as_of`` and not sent yet (see addin.schedules.plan_scheduled)."""
    from .schedules import plan_scheduled as plan

    return plan(book, ledger, sent_keys, as_of, **kwargs)


# --- several at once (--all, --group) ---------------------------------------------------------------

ALL = "every customer with a balance"


@dataclass(frozen=True)
class Outcome:
    """What happens to one customer of a statement run for several customers.

    Attributes:
      statement: the statement to make (and send), or None.
      line: why there is none and that is fine (zero balance, already sent), else ''.
      problem: why there is none and someone must act (rows with errors, no address), else None.
    """

    customer: Customer
    statement: Statement | None = None
    line: str = ""
    problem: Problem | None = None


@dataclass(frozen=True)
class Several:
    """Statements for several customers: one outcome each, in sheet order (or the group's), and
    what stops them all (the books or Settings cannot be read, an unknown or held group: once)."""

    outcomes: tuple[Outcome, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def statements(self) -> list[Statement]:
        return [o.statement for o in self.outcomes if o.statement is not None]


def with_balance(book: Book, ledger: Ledger, end: dt.date, visible: frozenset[str] | None = None) -> list[Customer]:
    """``--all``: every Active customer (that the user may see) whose balance as of ``end`` is not zero."""
    seen = None if visible is None else {normalize(v) for v in visible}
    return [c for c in book.customers if c.active and (seen is None or normalize(c.id) in seen)
            and ledger.customer_balance(c.id, end) != 0]


def several(book: Book, ledger: Ledger, end: dt.date, as_of: dt.date, *, group: str | None = None,
            type: str = OUTSTANDING, start: dt.date | None = None, include_zero: bool = False,
            visible: frozenset[str] | None = None, sending: bool = False) -> Several:
    """One statement per customer: ``--all`` (every Active customer, ``visible`` to the user) or
    the current members of ``group`` (as of ``as_of``); a zero balance as of ``end`` is skipped
    unless ``include_zero``. ``sending``: emailed, so Settings must be readable too.

    A customer whose rows have errors gets a problem and the others go on; what holds everyone
    (the books, Settings, the group) is one problem and no outcome at all.
    """
    from .groups import find_group, held_group, members_of

    what = "no statement sent" if sending else "no statement made"
    waiting = (*book.holds.sending(), *book.holds.statements()) if sending else book.holds.statements()
    if waiting:
        return Several(problems=(held("", "", f"{what} to anyone", waiting),))
    begin = start or first_of_month(end)
    if type == ACTIVITY and begin > end:
        return Several(problems=(error("", "", f"the start date {begin.isoformat()} is after the end date "
                                               f"{end.isoformat()}", "give a start date on or before the end date"),))
    problems: list[Problem] = []
    if group is None:
        candidates = [c for c in book.customers if c.active]
    else:
        found = find_group(book, group)
        if found is None:
            known = ", ".join(g.name for g in book.groups) or "none yet"
            return Several(problems=(error(schema.GROUPS.name, "", f'group "{group}" is not on the Groups sheet',
                                           f"check the name (groups: {known})"),))
        hold = held_group(book, found, what, sending=sending)
        if hold is not None:
            return Several(problems=(hold,))
        candidates = members_of(book, ledger, found.name, as_of)
    if visible is not None:
        seen = {normalize(v) for v in visible}
        hidden = [c.id for c in candidates if normalize(c.id) not in seen]
        candidates = [c for c in candidates if normalize(c.id) in seen]
        if hidden and group is not None:
            problems.append(warning("", "", f'{len(hidden)} member(s) of group "{group}" are not in your group, '
                                            "so no statement was made for them", "ask someone with Full or Admin access"))
    outcomes: list[Outcome] = []
    for customer in candidates:
        refused = refusal(book, customer.id)
        if refused is not None:
            outcomes.append(Outcome(customer, problem=refused))
            continue
        if not include_zero and ledger.customer_balance(customer.id, end) == 0:
            outcomes.append(Outcome(customer, line=f"skipped {customer.id}: zero balance on {end.isoformat()}"))
            continue
        made = build(book, ledger, customer.id, end, type=type, start=start)
        if isinstance(made, Problem):
            outcomes.append(Outcome(customer, problem=made))
        else:
            outcomes.append(Outcome(customer, statement=made))
    return Several(tuple(outcomes), tuple(problems))


def period_key(statement: Statement) -> str:
    """``statement-email:<customer>:<type>:<start>..<end>``: what is emailed at most once by
    ``--all`` / ``--group`` (the start of every statement email's key, see manual_key)."""
    start, end = statement.period
    return f"statement-email:{statement.customer.id}:{statement.type.lower()}:{start.isoformat()}..{end.isoformat()}"


BULK = ":all"  # the end of an --all / --group key, after period_key


def emailed_periods(sent_keys: Iterable[str]) -> set[str]:
    """The period keys (see period_key) of the statement emails in ``sent_keys``, by any door:
    ``--all``/``--group`` keys end with BULK; one customer's (manual_key) with ``:<as-of>:<hash>``."""
    out: set[str] = set()
    for k in sent_keys:
        k = k.removesuffix(":copy")
        out.add(k.removesuffix(BULK) if k.endswith(BULK) else k.rsplit(":", 2)[0])
    return out


def plan_several_emails(book: Book, found: Several, sent_keys: Iterable[str], *, copy_me: bool = False,
                        message: str | None = None, scope: str = ALL) -> tuple[list[Mail], list[Outcome], list[Problem]]:
    """The emails of ``found`` not sent yet: each customer's statement goes out at most once per
    type and period, whichever door sent it (a rerun sends nothing new). Returns the mails, the
    outcomes (an already-sent or address-less customer gets its line or problem), and problems
    that concern every mail (no address for the copy to you)."""
    sent = emailed_periods(sent_keys)
    copy_to, problems = copy_address(book, copy_me)
    mails: list[Mail] = []
    outcomes: list[Outcome] = []
    for o in found.outcomes:
        statement = o.statement
        if statement is None:
            outcomes.append(o)
            continue
        customer = statement.customer
        start, end = statement.period
        span = end.isoformat() if statement.type == OUTSTANDING else f"{start.isoformat()}..{end.isoformat()}"
        if period_key(statement) in sent:
            outcomes.append(replace(o, statement=None,
                                    line=f"already sent {customer.id}: {statement.type} statement of {span}"))
            continue
        to = recipients(customer)
        if not to:
            outcomes.append(replace(o, statement=None, problem=no_address(customer)))
            continue
        log = LogEntry("statement email", customer.id,
                       f"{statement.type} {start.isoformat()}..{end.isoformat()} ({scope})")
        mails.append(Mail(statement, period_key(statement) + BULK, to, (), copy_to,
                          message=(message, Source()) if message else None, log=log))
        outcomes.append(o)
    return mails, outcomes, problems

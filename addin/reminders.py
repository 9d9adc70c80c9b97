"""Invoice reminders (SPEC §4): who gets which reminder on a day, and the messages. Pure.

Entry points (the CLI, the daemon, the ribbon and the demo all call these):

- ``decide(book, ledger, settings, history, as_of) -> Decision``: the automatic decision only.
- ``plan_automatic(book, ledger, history, as_of) -> Plan``: the messages due on ``as_of``.
- ``plan_manual(book, ledger, invoice_numbers, as_of, subject=None, message=None, history=()) -> Plan``.
- ``check(book) -> list[Problem]``: problems on the Reminders sheet (texts, groups).

``history`` is what the send journal says went out before: the keys ``reminder:<invoice>:<k>``,
``reminders:<customer>:<YYYY-MM-DD>:<invoice>=<k>,…`` (one message for several invoices, with
``reminder_grouping`` = customer) and ``manual-reminder:<invoice>:<YYYY-MM-DD>``, as a set, or as
a mapping key -> the day it was sent when that is known (so that an invoice never gets two
reminders on one day); and ``hold-skip:<invoice>:<k>:<YYYY-MM-DD>``, a hold already recorded as
skipped in the Log (``read_history`` finds those in the journal's Log rows).

A grouped message is ONE journal key, its invoices and their steps written in it: the journal
records it sending / sent / uncertain as a whole, its ``on_sent`` updates (every invoice's
Status, Last Reminder and Log row) are queued in the one transaction that records it sent, and
``History`` learns every invoice's step from the key alone — so a crash can never leave some of
its invoices marked and others not, and an uncertain message holds all of them until a person
releases or confirms it. The customer and day in the key keep a second message from going to
that customer the same day (a rerun sends nothing).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from .actions import AppendRows, Attachment, Cell, Email, LogEntry, Plan, SetCells, Update
from .holds import held
from .invoice_status import hold_words, manual_sent, reminder_sent
from .ledger import CustomerSummary, Ledger, OpenItem
from .model import Book, Customer, Invoice, ReminderStep, Settings
from .problems import Problem, error, sheet_ref, warning
from .workbook import schema
from .workbook.schema import normalize

AUTO_PREFIX = "reminder:"
GROUP_PREFIX = "reminders:"
MANUAL_PREFIX = "manual-reminder:"
HOLD_PREFIX = "hold-skip:"
INVOICE, CUSTOMER = schema.GROUPINGS

# --- history --------------------------------------------------------------------------------


def reminder_key(number: str, step: int) -> str:
    """Idempotency key of automatic reminder ``step`` for an invoice."""
    return f"{AUTO_PREFIX}{number.strip()}:{step}"


def manual_key(number: str, day: dt.date) -> str:
    """Idempotency key of a manual reminder for an invoice on a day."""
    return f"{MANUAL_PREFIX}{number.strip()}:{day.isoformat()}"


def _esc(text: str) -> str:
    """A customer ID or invoice number inside a grouped key (its separators escaped)."""
    return text.strip().replace("%", "%25").replace(":", "%3A").replace(",", "%2C").replace("=", "%3D")


def group_key(customer_id: str, day: dt.date, steps: Sequence[tuple[str, int]]) -> str:
    """Idempotency key of one message reminding a customer of several invoices on a day:
    ``reminders:C-0001:2026-04-07:INV-1=2,INV-7=1`` (invoice = step, most overdue first)."""
    listed = ",".join(f"{_esc(number)}={k}" for number, k in steps)
    return f"{GROUP_PREFIX}{_esc(customer_id)}:{day.isoformat()}:{listed}"


def parse_group_key(key: str) -> tuple[str, dt.date, tuple[tuple[str, int], ...]] | None:
    """(customer ID, day, ((invoice, step), …)) of a grouped key; None when it is not one."""
    from urllib.parse import unquote

    if not key.startswith(GROUP_PREFIX):
        return None
    customer, _, rest = key[len(GROUP_PREFIX):].partition(":")
    iso, _, listed = rest.partition(":")
    try:
        day = dt.date.fromisoformat(iso)
    except ValueError:
        return None
    steps = []
    for part in listed.split(","):
        number, _, k = part.rpartition("=")
        if not number or not k.isdigit():
            return None
        steps.append((unquote(number), int(k)))
    return unquote(customer), day, tuple(steps)


def hold_key(number: str, step: int, until: dt.date) -> str:
    """What History is told of a hold already recorded as skipped in the Log."""
    return f"{HOLD_PREFIX}{number.strip()}:{step}:{until.isoformat()}"


@dataclass(frozen=True)
class History:
    """Reminders sent before, per invoice (normalized number).

    Attributes:
      steps: invoice -> automatic steps ever sent.
      days: invoice -> days on which some reminder (automatic or manual) was sent, where known.
      manual: invoice -> days on which a manual reminder was sent.
      messages: customer (normalized ID) -> days on which a grouped message went to them.
      holds_logged: (invoice, step, hold until) already recorded as skipped in the Log.
    """

    steps: Mapping[str, frozenset[int]] = field(default_factory=dict)
    days: Mapping[str, frozenset[dt.date]] = field(default_factory=dict)
    manual: Mapping[str, frozenset[dt.date]] = field(default_factory=dict)
    messages: Mapping[str, frozenset[dt.date]] = field(default_factory=dict)
    holds_logged: frozenset[tuple[str, int, dt.date]] = frozenset()

    @classmethod
    def of(cls, sent: History | Iterable[str] | Mapping[str, dt.date | None] = ()) -> History:
        """From journal keys, or keys -> day sent (None: day unknown). Other keys are ignored."""
        if isinstance(sent, History):
            return sent
        when: Mapping[str, dt.date | None] = sent if isinstance(sent, Mapping) else dict.fromkeys(sent)
        steps: dict[str, set[int]] = {}
        days: dict[str, set[dt.date]] = {}
        manual: dict[str, set[dt.date]] = {}
        messages: dict[str, set[dt.date]] = {}
        holds: set[tuple[str, int, dt.date]] = set()
        for key, day in when.items():
            if key.startswith(GROUP_PREFIX):
                parsed = parse_group_key(key)
                if parsed is None:
                    continue
                customer, on, listed = parsed
                messages.setdefault(normalize(customer), set()).add(on)
                for number, step in listed:
                    steps.setdefault(normalize(number), set()).add(step)
                    days.setdefault(normalize(number), set()).update({on} if day is None else {on, day})
            elif key.startswith(HOLD_PREFIX):
                number, which, iso = (key[len(HOLD_PREFIX):].rsplit(":", 2) + ["", ""])[:3]
                try:
                    holds.add((normalize(number), int(which), dt.date.fromisoformat(iso)))
                except ValueError:
                    continue
            elif key.startswith(AUTO_PREFIX):
                number, _, k = key[len(AUTO_PREFIX):].rpartition(":")
                if not k.isdigit():
                    continue
                steps.setdefault(normalize(number), set()).add(int(k))
                if day is not None:
                    days.setdefault(normalize(number), set()).add(day)
            elif key.startswith(MANUAL_PREFIX):
                number, _, iso = key[len(MANUAL_PREFIX):].rpartition(":")
                try:
                    on = dt.date.fromisoformat(iso)
                except ValueError:
                    continue
                days.setdefault(normalize(number), set()).add(on)
                manual.setdefault(normalize(number), set()).add(on)
        return cls({k: frozenset(v) for k, v in steps.items()}, {k: frozenset(v) for k, v in days.items()},
                   {k: frozenset(v) for k, v in manual.items()}, {k: frozenset(v) for k, v in messages.items()},
                   frozenset(holds))

    def sent_steps(self, invoice: Invoice) -> frozenset[int]:
        return self.steps.get(invoice.key, frozenset())

    def sent_on(self, invoice: Invoice, day: dt.date) -> bool:
        """Whether the invoice already got a reminder that day (journal, or Last Reminder cell)."""
        return day in self.days.get(invoice.key, ()) or invoice.last_reminder == day


# --- the decision ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """Reminder ``step`` goes out for an invoice today.

    Attributes:
      item: the invoice as of the day (paid, balance, days overdue).
      recipients: the invoice's addresses, else the customer's.
      passed_over: lower steps that qualified too and are recorded as skipped.
    """

    item: OpenItem
    customer: Customer
    step: ReminderStep
    recipients: tuple[str, ...]
    passed_over: tuple[int, ...] = ()

    @property
    def invoice(self) -> Invoice:
        return self.item.invoice


@dataclass(frozen=True)
class Skip:
    """A step an invoice is in the window for but does not get today, and why.

    Attributes:
      on_hold: the invoice's Hold Until when that is why (recorded once in the Log).
    """

    invoice: Invoice
    step: int
    reason: str
    on_hold: dt.date | None = None


@dataclass(frozen=True)
class Decision:
    """The automatic reminders of one day.

    Attributes:
      enabled: the master switch (reminders_enabled); when off nothing is due.
      due: one entry per invoice getting a reminder, in Invoices sheet order.
      skipped: invoices in a step's window that do not get it today, with the reason.
      problems: invoices that would get a reminder but cannot (errors, no address, groups).
    """

    day: dt.date
    enabled: bool
    due: tuple[Due, ...] = ()
    skipped: tuple[Skip, ...] = ()
    problems: tuple[Problem, ...] = ()


Memberships = Mapping[str, Set[str]]  # group name -> customer IDs


def enabled_steps(book: Book) -> list[ReminderStep]:
    """Enabled steps 1–3 in order; a repeated step number keeps its first row."""
    seen: dict[int, ReminderStep] = {}
    for step in book.reminders:
        if step.number in (1, 2, 3) and step.number not in seen:
            seen[step.number] = step
    return [s for n, s in sorted(seen.items()) if s.enabled and 0 <= s.days <= 90]


def decide(book: Book, ledger: Ledger, settings: Settings, history: History | Iterable[str] | Mapping[str, Any],
           as_of: dt.date, *, groups: Memberships | None = None, visible: Set[str] | None = None) -> Decision:
    """Which invoice gets which automatic reminder on ``as_of`` (SPEC §4), and which are skipped.

    ``groups`` gives the members of the groups steps name (computed with addin.groups when
    not given). ``visible``: the customer IDs the user may act on (None: all, see addin.access).
    """
    if not settings.reminders_enabled:
        return Decision(as_of, False)
    hist = History.of(history)
    steps = enabled_steps(book)
    if not steps:
        return Decision(as_of, True)
    catch_up = max(settings.catch_up_days, 0)
    waiting = book.holds.automatic()
    if waiting:
        return Decision(as_of, True, problems=(held("", "", "automatic reminders: none sent", waiting),))
    problems: list[Problem] = []
    known: dict[str, Set[str]] = {normalize(name): frozenset(normalize(c) for c in ids)
                                  for name, ids in (groups or {}).items()}
    step_members: dict[int, Set[str] | None] = {}
    unknowable: set[int] = set()  # steps whose group's members cannot be told: their invoices wait
    for step in steps:
        causes = _group_waiting(book, step) if step.group else ()
        if causes:
            unknowable.add(step.number)
            problems.append(held(_sheet(step), step.origin.cell("Group"),
                                 f'reminder {step.number}: none sent, the members of group "{step.group}" '
                                 "cannot be told", causes))
        elif step.group:
            step_members[step.number] = _members(book, ledger, step, as_of, known, problems)
    # An invoice is in step k's window when due + offset <= T <= due + offset + catch_up.
    bounds = [(s, as_of - dt.timedelta(days=s.offset + catch_up), as_of - dt.timedelta(days=s.offset))
              for s in steps]
    due: list[Due] = []
    skipped: list[Skip] = []
    seen = None if visible is None else {normalize(v) for v in visible}
    for inv in book.invoices:
        in_window = [s for s, lo, hi in bounds if lo <= inv.due_date <= hi]
        if not in_window or (seen is not None and normalize(inv.customer_id) not in seen):
            continue
        sent = hist.sent_steps(inv)
        top = max(sent, default=0)
        candidates = [s for s in in_window if s.number not in sent and s.number > top]
        if not candidates:
            continue
        first = candidates[-1].number
        if inv.invoice_date > as_of:
            skipped.append(Skip(inv, first, f"the invoice is dated {inv.invoice_date.isoformat()}"))
            continue
        item = ledger.item(inv, as_of)
        if item.balance <= 0:
            continue
        if any(s.number in unknowable for s in candidates):
            continue
        waiting = book.holds.reminder(inv)
        if waiting:
            problems.append(held_invoice(inv, f"reminder {first}", waiting))
            continue
        customer = book.customer(inv.customer_id)
        reason = _customer_reason(customer, inv, as_of)
        if reason:
            skipped.append(Skip(inv, first, reason))
            continue
        if inv.held_on(as_of):
            assert inv.hold_until is not None
            skipped.append(Skip(inv, first, hold_words(inv.hold_until, inv.hold_reason), inv.hold_until))
            continue
        assert customer is not None
        cid = normalize(customer.id)
        qualifying = [s for s in candidates
                      if not s.group or cid in (step_members.get(s.number) or ())]
        if not qualifying:
            skipped.append(Skip(inv, first, f'customer {customer.id} is not in group "{candidates[-1].group}"'))
            continue
        step = qualifying[-1]
        if hist.sent_on(inv, as_of):
            skipped.append(Skip(inv, step.number, "the invoice already got a reminder today"))
            continue
        recipients = inv.emails or customer.emails
        if not recipients:
            problems.append(no_address_problem(inv, customer))
            continue
        lower = tuple(s.number for s in qualifying[:-1])
        due.append(Due(item, customer, step, tuple(recipients), lower))
        skipped.extend(Skip(inv, n, f"passed over: reminder {step.number} is sent instead") for n in lower)
    return Decision(as_of, True, tuple(due), tuple(skipped), tuple(problems))


def _customer_reason(customer: Customer | None, inv: Invoice, as_of: dt.date) -> str:
    """Why the invoice's customer gets no automatic reminder today ('' when they may)."""
    if customer is None:
        return f"customer {inv.customer_id} is not on the Customers sheet"
    if not customer.active:
        return f"customer {customer.id} is {customer.status or 'not Active'}"
    if customer.no_reminders:
        return f"customer {customer.id} is marked No Reminders"
    paused = customer.reminders_paused_until
    if paused is not None and paused >= as_of:
        return f"reminders for customer {customer.id} are paused until {paused.isoformat()}"
    return ""


def _members(book: Book, ledger: Ledger, step: ReminderStep, as_of: dt.date, groups: dict[str, Set[str]],
             problems: list[Problem]) -> Set[str] | None:
    """Customer IDs (normalized) of the step's group; None (and a problem) when it cannot be known."""
    key = normalize(step.group)
    if key in groups:
        return groups[key]
    if not any(normalize(g.name) == key for g in book.groups):
        problems.append(unknown_group_problem(step))
        groups[key] = frozenset()
        return None
    try:
        from .groups import members_of
    except ImportError:  # pragma: no cover - groups are part of the product
        problems.append(error(_sheet(step), step.origin.cell("Group"),
                              f'group "{step.group}" cannot be evaluated', "update the add-in"))
        return None
    found = frozenset(normalize(c.id) for c in members_of(book, ledger, step.group, as_of))
    groups[key] = found
    return found


def _group_waiting(book: Book, step: ReminderStep) -> tuple[Problem, ...]:
    """What keeps the members of the step's group from being told (addin.holds)."""
    from .groups import find_group, waiting

    group = find_group(book, step.group)
    return waiting(book, group) if group is not None else book.holds.groups()


def _sheet(step: ReminderStep) -> str:
    return step.origin.sheet or schema.REMINDERS.name


def unknown_group_problem(step: ReminderStep) -> Problem:
    return error(_sheet(step), step.origin.cell("Group"), f'group "{step.group}" does not exist',
                 "create it on the Groups sheet, or clear the cell so every customer gets this reminder")


def held_invoice(inv: Invoice, what: str, causes: tuple[Problem, ...]) -> Problem:
    """``Invoices!A2: invoice INV-1: reminder 1 not sent — Payments!D7 has an error — …``."""
    return held(inv.origin.sheet or schema.INVOICES.name, inv.origin.cell("Invoice No"),
                f"invoice {inv.number}: {what} not sent", causes, inv.customer_id)


def no_address_problem(inv: Invoice, customer: Customer) -> Problem:
    """``Invoices!F12: invoice INV-1042 has no valid email address (nor does customer C-0007) — …``."""
    inv_cell = inv.origin.cell("Email")
    inv_sheet = inv.origin.sheet or schema.INVOICES.name
    cust_ref = customer.origin.ref("Email") if customer.origin.sheet else sheet_ref(schema.CUSTOMERS.name, "D")
    return error(inv_sheet, inv_cell,
                 f"invoice {inv.number} has no valid email address (nor does customer {customer.id})",
                 f"add an address in {cust_ref} or {sheet_ref(inv_sheet, inv_cell)}", customer.id)


# --- texts ----------------------------------------------------------------------------------


def stage(invoice: Invoice, as_of: dt.date) -> str:
    """Wording by the invoice's state on the day: 'before' its due date, 'due' that day, 'after'."""
    if as_of < invoice.due_date:
        return "before"
    return "due" if as_of == invoice.due_date else "after"


@dataclass(frozen=True)
class Texts:
    """The texts of one reminder, each with the cell it comes from ('' = built-in)."""

    subject: tuple[str, str]
    message: tuple[str, str]
    greeting: bool = True
    salutation: tuple[str, str] = ("", "")


def step_texts(step: ReminderStep | None, language: str, when: str,
               subject: str | None = None, message: str | None = None) -> Texts:
    """A step's texts from the Reminders sheet (``step`` None: a manual reminder with the given
    subject and message); blank ones fall back to the built-in texts of the language."""
    from .render.texts import builtin

    lang = language if language in schema.LANGUAGES else "en"

    def own(text: str | None, cell: str, name: str) -> tuple[str, str]:
        if text is not None and text.strip():
            return text, cell
        return builtin(f"reminders/{lang}/{name}.txt"), ""

    if step is None:
        return Texts(own(subject, "--subject", "subject_manual"), own(message, "--message", f"message_{when}"),
                     True, own(None, "", "salutation"))
    return Texts(own(step.subject, step.origin.cell("Subject"), f"subject_{when}"),
                 own(step.message, step.origin.cell("Message"), f"message_{when}"),
                 step.greeting, own(step.salutation, step.origin.cell("Salutation"), "salutation"))


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_reminder(settings: Settings, customer: Customer, item: OpenItem, recipients: tuple[str, ...],
                    texts_: Texts, as_of: dt.date, *, sheet: str = schema.REMINDERS.name,
                    attachment: bool = False) -> Rendered:
    """Subject and bodies of one reminder; raises render.texts.TextError naming the faulty cell."""
    from .render import texts
    from .render.invoice_pdf import labels

    language = texts.language_of(customer, settings)
    ctx = texts.context(settings, customer, item=item, emails=recipients)
    ctx["attachment"] = attachment
    subject, body = _compose(texts_, ctx, sheet)
    lab = labels(language)
    details = _details(item, settings, language, lab)
    colon = " : " if language == "fr" else ": "  # French typography
    text = body + "\n\n" + "\n".join(f"{k}{colon}{v}" for k, v in details)
    html_body = _card(details, lab["balance_due"]) + "\n" + texts.to_html(body)
    return Rendered(subject, text, html_body)


def _compose(texts_: Texts, ctx: dict[str, Any], sheet: str) -> tuple[str, str]:
    """The subject (one line) and the body (greeting, message) of a reminder's texts."""
    from .render import texts

    def source(cell: str) -> texts.Source:
        return texts.Source(sheet, cell) if cell else texts.Source()

    subject = texts.render(texts_.subject[0], ctx, source(texts_.subject[1]))
    subject = " ".join(subject.split())  # one line, whatever the cell held
    message = texts.render(texts_.message[0], ctx, source(texts_.message[1]))
    greeting = ""
    if texts_.greeting:
        salutation = texts.render(texts_.salutation[0], ctx, source(texts_.salutation[1]))
        if "{{" in texts_.salutation[0] or salutation.endswith((",", ":", "!")):
            greeting = salutation  # the cell wrote the whole greeting line
        else:
            greeting = f"{salutation} {ctx['customer']['contact']},".strip()
    return subject, (f"{greeting}\n\n{message}" if greeting else message)


GROUP_LABELS = {
    "en": {"days_overdue": "Days overdue", "total": "Total balance due", "invoice": "Invoice", "dated": "dated",
           "due": "due", "amount": "amount", "balance": "balance", "overdue": "{} days overdue",
           "overdue_1": "1 day overdue", "not_overdue": "not yet overdue"},
    "fr": {"days_overdue": "Jours de retard", "total": "Solde dû total", "invoice": "Facture", "dated": "du",
           "due": "échéance", "amount": "montant", "balance": "solde", "overdue": "{} jours de retard",
           "overdue_1": "1 jour de retard", "not_overdue": "pas encore échue"},
}


def render_group(settings: Settings, customer: Customer, items: Sequence[OpenItem], step: int,
                 recipients: tuple[str, ...], texts_: Texts, as_of: dt.date, summary: CustomerSummary, *,
                 sheet: str = schema.REMINDERS.name, attachment: bool = False) -> Rendered:
    """One message reminding a customer of several invoices (``items``, most overdue first).

    Texts see ``invoices`` (each as ``invoice`` is), ``invoice`` (the most overdue), ``step``,
    ``total`` (the balances listed), ``customer.balance`` and ``customer.overdue_balance``.
    Raises render.texts.TextError naming the faulty cell.
    """
    from .render import fmt, texts
    from .render.invoice_pdf import labels

    language = texts.language_of(customer, settings)
    cur = settings.currency
    ctx = texts.context(settings, customer, item=items[0], emails=recipients)
    ctx["invoices"] = [texts.invoice_vars(i, settings, language) for i in items]
    ctx["step"] = step
    ctx["total"] = fmt.money(sum((i.balance for i in items), Decimal(0)), cur, language)
    ctx["customer"]["balance"] = fmt.money(summary.balance, cur, language)
    ctx["customer"]["overdue_balance"] = fmt.money(summary.overdue_balance, cur, language)
    ctx["attachment"] = attachment
    subject, body = _compose(texts_, ctx, sheet)
    lab, words = labels(language), GROUP_LABELS.get(language, GROUP_LABELS["en"])
    colon = " : " if language == "fr" else ": "
    if len(items) == 1:  # one invoice: its details as a reminder for it alone shows them
        details = _details(items[0], settings, language, lab)
        return Rendered(subject, body + "\n\n" + "\n".join(f"{k}{colon}{v}" for k, v in details),
                        _card(details, lab["balance_due"]) + "\n" + texts.to_html(body))
    lines = []
    for inv in ctx["invoices"]:
        days = inv["days_overdue"]
        late = (words["overdue_1"] if days == 1 else words["overdue"].format(days)) if days else words["not_overdue"]
        memo = f" ({' '.join(inv['memo'].split())})" if inv["memo"] else ""
        lines.append(f"{words['invoice']} {inv['number']}{memo} — {words['dated']} {inv['invoice_date']}, "
                     f"{words['due']} {inv['due_date']}, {words['amount']} {inv['amount']}, "
                     f"{words['balance']} {inv['balance']}, {late}")
    lines.append(f"{words['total']}{colon}{ctx['total']}")
    text = body + "\n\n" + "\n".join(lines)
    html_body = _group_table(ctx["invoices"], ctx["total"], lab, words) + "\n" + texts.to_html(body)
    return Rendered(subject, text, html_body)


def _group_table(invoices: Sequence[Mapping[str, Any]], total: str, lab: Mapping[str, str],
                 words: Mapping[str, str]) -> str:
    """The invoices of a grouped reminder at a glance, above the message."""
    pad = "padding:6px 10px;border-bottom:1px solid #e3e6ea;"
    memo = any(inv["memo"] for inv in invoices)
    heads = [lab["invoice_no"], *([lab["memo"]] if memo else []), lab["invoice_date"], lab["due_date"],
             lab["amount"], lab["balance_due"], words["days_overdue"]]
    right = {lab["amount"], lab["balance_due"], words["days_overdue"]}

    def cell(tag: str, text: object, head: str, extra: str = "") -> str:
        align = "text-align:right;" if head in right else ""
        return f'<{tag} style="{pad}{align}{extra}">{html.escape(str(text))}</{tag}>'

    rows = ["<tr>" + "".join(cell("th", h, h, "color:#555;font-weight:600") for h in heads) + "</tr>"]
    for inv in invoices:
        values = [inv["number"], *([" ".join(inv["memo"].split())] if memo else []), inv["invoice_date"],
                  inv["due_date"], inv["amount"], inv["balance"], inv["days_overdue"] or ""]
        rows.append("<tr>" + "".join(cell("td", v, h) for v, h in zip(values, heads, strict=True)) + "</tr>")
    span = len(heads) - 2
    rows.append(f'<tr><td colspan="{span}" style="{pad}font-weight:700">{html.escape(words["total"])}</td>'
                f'<td style="{pad}text-align:right;font-weight:700">{html.escape(total)}</td><td style="{pad}"></td></tr>')
    return ('<table role="presentation" style="border-collapse:collapse;border:1px solid #e3e6ea;'
            'margin:0 0 20px 0;min-width:300px">\n' + "\n".join(rows) + "\n</table>")


def _card(details: list[tuple[str, str]], emphasis: str) -> str:
    """The invoice at a glance, above the message (as accounting apps show it)."""
    cell = 'style="padding:6px 14px;border-bottom:1px solid #e3e6ea;{}"'
    rows = "\n".join(
        f'<tr><td {cell.format("color:#555")}>{html.escape(k)}</td>'
        f'<td {cell.format("text-align:right" + (";font-weight:700" if k == emphasis else ""))}>'
        f"{html.escape(v)}</td></tr>"
        for k, v in details
    )
    return ('<table role="presentation" style="border-collapse:collapse;border:1px solid #e3e6ea;'
            f'margin:0 0 20px 0;min-width:300px">\n{rows}\n</table>')


def _details(item: OpenItem, settings: Settings, language: str, lab: Mapping[str, str]) -> list[tuple[str, str]]:
    from .render import fmt

    inv, cur = item.invoice, settings.currency
    rows = [
        (lab["invoice_no"], inv.number),
        (lab["invoice_date"], fmt.date(inv.invoice_date, language)),
        (lab["due_date"], fmt.date(inv.due_date, language)),
        (lab["amount"], fmt.money(inv.amount, cur, language)),
        (lab["paid"], fmt.money(item.paid, cur, language)),
        (lab["balance_due"], fmt.money(item.balance, cur, language)),
    ]
    if inv.memo:
        rows.insert(1, (lab["memo"], " ".join(inv.memo.split())))
    return rows


def safe_filename(number: str) -> str:
    """``Invoice-<number>.pdf`` with anything but letters, digits, ``.``, ``_`` and ``-`` replaced."""
    safe = re.sub(r"[^\w.-]+", "-", number, flags=re.ASCII).strip(".-_") or "invoice"
    return f"Invoice-{safe[:80]}.pdf"


# --- plans ----------------------------------------------------------------------------------

PdfMaker = Callable[[Book, Customer, OpenItem, dt.date], bytes]


def _pdf(book: Book, customer: Customer, item: OpenItem, as_of: dt.date) -> bytes:
    from .render.invoice_pdf import render_invoice

    return render_invoice(book.settings, customer, item, as_of, base_dir=book.path.parent if book.path else None)


def _status_update(item: OpenItem, status: str, as_of: dt.date) -> SetCells:
    col = schema.INVOICES.column
    return SetCells(schema.INVOICES.name, col("Invoice No").header, item.invoice.number, (
        (col("Status").header, status),
        (col("Last Reminder").header, as_of),
        (col("Paid").header, float(item.paid)),
        (col("Balance").header, float(item.balance)),
    ))


def _email(book: Book, key: str, customer: Customer, item: OpenItem, recipients: tuple[str, ...],
           texts_: Texts, as_of: dt.date, status: str, log: LogEntry, pdf: PdfMaker | None) -> Email:
    from .render.texts import language_of

    settings = book.settings
    attach = bool(pdf) and settings.reminders_attach_pdf
    # Manual texts come from the command line ('--subject'), the others from the Reminders sheet.
    sheet = "" if key.startswith(MANUAL_PREFIX) else book.sheet_names.get(schema.REMINDERS.key, schema.REMINDERS.name)
    rendered = render_reminder(settings, customer, item, recipients, texts_, as_of, sheet=sheet, attachment=attach)
    attachments: tuple[Attachment, ...] = ()
    if attach and pdf is not None:
        attachments = (Attachment(safe_filename(item.invoice.number), pdf(book, customer, item, as_of),
                                  "application/pdf"),)
    return Email(key=key, to=recipients, subject=rendered.subject, text=rendered.text, html=rendered.html,
                 attachments=attachments, on_sent=(_status_update(item, status, as_of),), log=log,
                 language=language_of(customer, settings), customer=customer.id, customer_name=customer.name)


def _money(item: OpenItem, settings: Settings, customer: Customer) -> str:
    from .render import fmt
    from .render.texts import language_of

    return fmt.money(item.balance, settings.currency, language_of(customer, settings))


def plan_automatic(book: Book, ledger: Ledger, history: History | Iterable[str] | Mapping[str, Any],
                   as_of: dt.date, *, attach_pdf: bool = True, groups: Memberships | None = None,
                   visible: Set[str] | None = None, decision: Decision | None = None,
                   now: dt.datetime | None = None) -> Plan:
    """The automatic reminders due on ``as_of``: emails, skipped steps for the Log, problems.

    ``attach_pdf=False`` builds no PDF (for previews). A text with a template error is not
    sent (it stays due) and a problem names its cell. With ``reminder_grouping`` = customer the
    invoices due are grouped into one message per customer and recipient list (``messages``);
    ``now`` (the run's local time) stamps the Log rows of a grouped message's other invoices.
    A hold is recorded as skipped in the Log once (``History.holds_logged``).
    """
    settings = book.settings
    decision = decision or decide(book, ledger, settings, history, as_of, groups=groups, visible=visible)
    if not decision.enabled:
        cell = settings.cells.get("reminders_enabled", "")
        where = sheet_ref(schema.SETTINGS_SHEET.name, cell) + " " if cell else ""
        return Plan(lines=(f"Automatic reminders are off ({where}reminders_enabled is FALSE): nothing to send.",))
    hist = History.of(history)
    pdf = _pdf if attach_pdf else None
    if settings.reminder_grouping == CUSTOMER:
        plan = _plan_grouped(book, ledger, decision, hist, as_of, pdf, now)
    else:
        plan = _plan_each(book, decision, as_of, pdf)
    holds = tuple(LogEntry(f"reminder {skip.step}", skip.invoice.number, skip.reason, status="skipped")
                  for skip in decision.skipped if skip.on_hold is not None
                  and (skip.invoice.key, skip.step, skip.on_hold) not in hist.holds_logged)
    lines = list(plan.lines)
    for skip in decision.skipped:
        if not skip.reason.startswith("passed over"):
            lines.append(f"{skip.invoice.number}: reminder {skip.step} skipped — {skip.reason}")
    if not decision.due and not decision.problems:
        lines.append(f"No automatic reminder is due on {as_of.isoformat()}.")
    return replace(plan, logs=(*plan.logs, *holds), lines=tuple(lines))


def _plan_each(book: Book, decision: Decision, as_of: dt.date, pdf: PdfMaker | None) -> Plan:
    """One reminder per invoice (``reminder_grouping`` = invoice)."""
    from .render.texts import TextError

    settings = book.settings
    emails: list[Email] = []
    logs: list[LogEntry] = []
    problems = list(decision.problems)
    lines: list[str] = []
    for due in decision.due:
        inv, k = due.invoice, due.step.number
        language = due.customer.language or settings.language
        texts_ = step_texts(due.step, language, stage(inv, as_of))
        detail = f"{due.customer.id} · balance {_money(due.item, settings, due.customer)}"
        try:
            email = _email(book, reminder_key(inv.number, k), due.customer, due.item, due.recipients, texts_,
                           as_of, reminder_sent(k, as_of), LogEntry(f"reminder {k}", inv.number,
                                                                                      detail), pdf)
        except TextError as exc:
            if exc.problem not in problems:  # one faulty text is reported once, not once per invoice
                problems.append(exc.problem)
            lines.append(f"{inv.number}: reminder {k} NOT sent — its text has an error (see below)")
            continue
        emails.append(email)
        logs.extend(LogEntry(f"reminder {n}", inv.number, f"passed over: reminder {k} is sent instead (catch-up)",
                             status="skipped") for n in due.passed_over)
        passed = f" (reminder {', '.join(map(str, due.passed_over))} skipped)" if due.passed_over else ""
        lines.append(f"{inv.number}: reminder {k} to {', '.join(due.recipients)} — customer {due.customer.id} "
                     f"{due.customer.name}, balance {_money(due.item, settings, due.customer)}{passed}")
    return Plan(emails=tuple(emails), logs=tuple(logs), problems=tuple(problems), lines=tuple(lines))


@dataclass(frozen=True)
class Message:
    """One grouped reminder: a customer's invoices due today for one recipient list.

    Attributes:
      dues: most overdue first (then by due date, then as on the sheet).
      day: the run's day.
    """

    dues: tuple[Due, ...]
    day: dt.date

    @property
    def customer(self) -> Customer:
        return self.dues[0].customer

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.dues[0].recipients

    @property
    def step(self) -> ReminderStep:
        """The highest step among the invoices: its texts are used."""
        return max((d.step for d in self.dues), key=lambda s: s.number)

    @property
    def key(self) -> str:
        return group_key(self.customer.id, self.day, [(d.invoice.number, d.step.number) for d in self.dues])


def messages(decision: Decision) -> tuple[Message, ...]:
    """The day's reminders grouped per customer and recipient list (SPEC §4 "One reminder per
    customer"), in the order of each group's first invoice on the sheet. Pure."""
    found: dict[tuple[str, frozenset[str]], list[Due]] = {}
    for due in decision.due:
        found.setdefault((normalize(due.customer.id), frozenset(map(normalize, due.recipients))), []).append(due)
    return tuple(Message(tuple(sorted(dues, key=_most_overdue)), decision.day) for dues in found.values())


def _most_overdue(due: Due) -> tuple[int, dt.date]:
    return -due.item.days_overdue, due.invoice.due_date


def _plan_grouped(book: Book, ledger: Ledger, decision: Decision, hist: History, as_of: dt.date,
                  pdf: PdfMaker | None, now: dt.datetime | None) -> Plan:
    """One message per customer and recipient list (``reminder_grouping`` = customer).

    Each invoice still gets its own Status, Last Reminder and Log row, as ``on_sent`` updates of
    the one message: the lead invoice's Log row is the message's own (time, message ID, and a
    failure or doubt recorded on it); the others' are appended with it once it is sent.
    """
    from .mail.message import domain_of, message_id
    from .render.texts import TextError, language_of

    settings = book.settings
    emails: list[Email] = []
    logs: list[LogEntry] = []
    problems = list(decision.problems)
    lines: list[str] = []
    sheet = book.sheet_names.get(schema.REMINDERS.key, schema.REMINDERS.name)
    when = now.replace(tzinfo=None, microsecond=0) if now else dt.datetime.combine(as_of, dt.time())
    for msg in messages(decision):
        customer, step = msg.customer, msg.step
        numbers = ", ".join(d.invoice.number for d in msg.dues)
        if as_of in hist.messages.get(normalize(customer.id), ()):
            many = len(msg.dues) > 1
            lines.append(f"customer {customer.id}: {numbers} {'wait' if many else 'waits'} — the customer already got "
                         f"a reminder message on {as_of.isoformat()} (one a day); {'they go' if many else 'it goes'} "
                         "at the next run on another day")
            continue
        language = customer.language or settings.language
        attach = pdf is not None and settings.reminders_attach_pdf
        items = [d.item for d in msg.dues]
        try:
            rendered = render_group(settings, customer, items, step.number, msg.recipients,
                                    step_texts(step, language, "group"), as_of, ledger.summary(customer.id, as_of),
                                    sheet=sheet, attachment=attach)
        except TextError as exc:
            if exc.problem not in problems:
                problems.append(exc.problem)
            lines.append(f"customer {customer.id}: reminder message ({numbers}) NOT sent — its text has an error "
                         "(see below)")
            continue
        key = msg.key
        mid = message_id(key, domain_of(settings))
        on_sent: list[Update] = []
        others: list[tuple[tuple[str, Cell], ...]] = []
        col = schema.LOG.column
        for n, due in enumerate(msg.dues):
            inv, k = due.invoice, due.step.number
            on_sent.append(_status_update(due.item, reminder_sent(k, as_of), as_of))
            detail = _group_detail(due, msg, settings)
            if n:
                others.append(tuple((col(h).header, v) for h, v in (
                    ("Time", when), ("Action", f"reminder {k}"), ("Target", inv.number),
                    ("Recipients", "; ".join(msg.recipients)), ("Status", "sent"), ("Message ID", mid),
                    ("Detail", detail))))
            logs.extend(LogEntry(f"reminder {p}", inv.number, f"passed over: reminder {k} is sent instead (catch-up)",
                                 status="skipped") for p in due.passed_over)
        if others:
            on_sent.append(AppendRows(schema.LOG.name, tuple(others)))
        attachments: tuple[Attachment, ...] = ()
        if attach and pdf is not None:
            attachments = tuple(Attachment(safe_filename(d.invoice.number), pdf(book, customer, d.item, as_of),
                                           "application/pdf") for d in msg.dues)
        lead = msg.dues[0]
        emails.append(Email(key=key, to=msg.recipients, subject=rendered.subject, text=rendered.text,
                            html=rendered.html, attachments=attachments, on_sent=tuple(on_sent),
                            log=LogEntry(f"reminder {lead.step.number}", lead.invoice.number,
                                         _group_detail(lead, msg, settings)),
                            language=language_of(customer, settings), customer=customer.id,
                            customer_name=customer.name))
        count = len(msg.dues)
        lines.append(f"customer {customer.id} {customer.name}: one message to {', '.join(msg.recipients)} — "
                     f"{count} invoice{'s' if count > 1 else ''}, reminder {step.number}'s texts")
        for due in msg.dues:
            passed = f" (reminder {', '.join(map(str, due.passed_over))} skipped)" if due.passed_over else ""
            days = due.item.days_overdue
            late = f"{days} day{'s' if days > 1 else ''} overdue" if days else f"due {due.invoice.due_date.isoformat()}"
            lines.append(f"    {due.invoice.number}: reminder {due.step.number}, balance "
                         f"{_money(due.item, settings, customer)}, {late}{passed}")
    return Plan(emails=tuple(emails), logs=tuple(logs), problems=tuple(problems), lines=tuple(lines))


def _group_detail(due: Due, msg: Message, settings: Settings) -> str:
    """The Log Detail of one invoice of a grouped message: ``C1 · balance $10.00 · one message with INV-2``."""
    detail = f"{due.customer.id} · balance {_money(due.item, settings, due.customer)}"
    others = [d.invoice.number for d in msg.dues if d is not due]
    return detail + (f" · one message with {', '.join(others)}" if others else "")


def plan_manual(book: Book, ledger: Ledger, invoice_numbers: Sequence[str], as_of: dt.date,
                subject: str | None = None, message: str | None = None,
                history: History | Iterable[str] | Mapping[str, Any] = (), *, attach_pdf: bool = True,
                visible: Set[str] | None = None) -> Plan:
    """Manual reminders for the named invoices (sent even when automatic reminders are off).

    Refused, each with a problem, for an unknown or paid invoice, a customer with errors, or
    no address; the other invoices are still planned. The key ``manual-reminder:<invoice>:<day>``
    makes the same command twice on one day send nothing new.
    """
    from .render.texts import TextError

    hist = History.of(history)
    settings = book.settings
    emails: list[Email] = []
    problems: list[Problem] = []
    lines: list[str] = []
    seen: set[str] = set()
    pdf = _pdf if attach_pdf else None
    for number in invoice_numbers:
        if not number.strip() or normalize(number) in seen:
            continue
        seen.add(normalize(number))
        inv = book.invoice(number)
        if inv is None:
            problems.append(error(schema.INVOICES.name, "", f'invoice "{number.strip()}" is not on the Invoices sheet',
                                  "check the invoice number"))
            continue
        where = inv.origin.sheet or schema.INVOICES.name
        if as_of in hist.manual.get(inv.key, ()):
            lines.append(f"{inv.number}: a manual reminder was already sent on {as_of.isoformat()} — nothing new sent")
            continue
        item = ledger.item(inv, as_of)
        if inv.invoice_date > as_of:
            problems.append(error(where, inv.origin.cell("Invoice Date"),
                                  f"invoice {inv.number} is dated {inv.invoice_date.isoformat()}, after "
                                  f"{as_of.isoformat()}: no reminder sent",
                                  "send the reminder once the invoice is issued"))
            continue
        if item.balance <= 0:
            problems.append(error(where, inv.origin.cell("Invoice No"),
                                  f"invoice {inv.number} is paid (balance 0.00 as of {as_of.isoformat()}): "
                                  "no reminder sent", "choose an invoice with a balance due"))
            continue
        if visible is not None and normalize(inv.customer_id) not in {normalize(v) for v in visible}:
            problems.append(error(where, inv.origin.cell("Customer ID"),
                                  f"invoice {inv.number} is for customer {inv.customer_id}, who is not in your group: "
                                  "no reminder sent", "ask someone with Full or Admin access"))
            continue
        customer = book.customer(inv.customer_id)
        waiting = (*book.holds.sending(), *book.holds.books(), *book.holds.reminder(inv))
        if customer is None or waiting:
            problems.append(held_invoice(inv, "manual reminder", waiting))
            continue
        if hist.sent_on(inv, as_of):
            problems.append(warning(where, inv.origin.cell("Invoice No"),
                                    f"invoice {inv.number} already got a reminder on {as_of.isoformat()}: "
                                    "no second reminder sent the same day", "send it again tomorrow if needed"))
            continue
        recipients = tuple(inv.emails or customer.emails)
        if not recipients:
            problems.append(no_address_problem(inv, customer))
            continue
        language = customer.language or settings.language
        texts_ = step_texts(None, language, stage(inv, as_of), subject, message)
        log = LogEntry("manual reminder", inv.number, f"{customer.id} · balance {_money(item, settings, customer)}")
        try:
            email = _email(book, manual_key(inv.number, as_of), customer, item, recipients, texts_, as_of,
                           manual_sent(as_of), log, pdf)
        except TextError as exc:
            p = exc.problem
            text_problem = error("", "", f"{p.cell}: {p.message}", p.fix)
            if text_problem not in problems:  # reported once, not once per invoice
                problems.append(text_problem)
            lines.append(f"{inv.number}: manual reminder NOT sent — its text has an error (see below)")
            continue
        emails.append(email)
        if inv.held_on(as_of):
            assert inv.hold_until is not None
            problems.append(warning(where, inv.origin.cell("Hold Until"),
                                    f"invoice {inv.number} is {hold_words(inv.hold_until, inv.hold_reason)}: "
                                    "the manual reminder is sent all the same",
                                    "clear Hold Until once the hold is over"))
        lines.append(f"{inv.number}: manual reminder to {', '.join(recipients)} — customer {customer.id} "
                     f"{customer.name}, balance {_money(item, settings, customer)}")
    return Plan(emails=tuple(emails), problems=tuple(problems), lines=tuple(lines))


# --- check ----------------------------------------------------------------------------------

_SAMPLE_CUSTOMER = Customer("C-0001", "Sample Customer Ltd", "Active", ("ap@example.com",), contact="Sam Sample")
_SAMPLE_INVOICE = Invoice("INV-0001", "C-0001", dt.date(2026, 3, 1), dt.date(2026, 3, 31), Decimal("1234.50"),
                          memo="Sample")


def check(book: Book) -> list[Problem]:
    """Reminders sheet problems the reader cannot see: texts that do not render, unknown groups."""
    from .render import texts

    problems: list[Problem] = []
    names = {normalize(g.name) for g in book.groups}
    item = OpenItem(_SAMPLE_INVOICE, Decimal("234.50"), Decimal("1000.00"), 5)
    ctx = texts.context(book.settings, _SAMPLE_CUSTOMER, item=item)
    ctx["attachment"] = True
    if book.settings.reminder_grouping == CUSTOMER:  # what a grouped message's texts see (render_group)
        ctx.update(invoices=[ctx["invoice"]], step=1, total=ctx["invoice"]["balance"])
        ctx["customer"].update(balance=ctx["invoice"]["balance"], overdue_balance=ctx["invoice"]["balance"])
    for step in book.reminders:
        for header, text in (("Subject", step.subject), ("Salutation", step.salutation), ("Message", step.message)):
            if not text.strip():
                continue
            try:
                texts.render(text, ctx, texts.Source(_sheet(step), step.origin.cell(header)))
            except texts.TextError as exc:
                problems.append(exc.problem)
        if step.group and normalize(step.group) not in names:
            problems.append(unknown_group_problem(step))
    return problems

"""A statement as a PDF (bytes), on the shared base of addin.render.pdf, in the customer's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

from .. import statements as st
from ..ledger import BUCKETS
from ..money import ZERO
from ..statements import Statement
from . import fmt
from .pdf import Column, Company, Document

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "STATEMENT", "title_activity": "ACTIVITY STATEMENT", "date": "Statement date",
        "period": "Period", "customer_id": "Customer ID", "due": "Amount due", "to": "Statement for",
        "outstanding": "Outstanding invoices and credits", "activity": "Account activity",
        "col_date": "Date", "col_invoice": "Invoice No", "col_due": "Due Date", "col_amount": "Amount",
        "col_paid": "Paid", "col_balance": "Balance due", "col_activity": "Activity",
        "col_ref": "Reference", "col_charges": "Charges", "col_credits": "Credits",
        "col_running": "Balance",
        "invoice": "Invoice", "payment": "Payment", "credit note": "Credit note",
        "credit": "Credit", "opening": "Opening balance", "closing": "Closing balance",
        "unapplied": "unapplied", "overpayment": "overpayment", "prepayment": "prepayment",
        "total": "Total due", "opening_total": "Opening balance", "closing_total": "Closing balance",
        "ageing": "Ageing", "current": "Current", "days": "days", "ageing_total": "Total",
        "none": "Nothing is outstanding.", "no_activity": "No activity in this period.",
    },
    "fr": {
        "title": "RELEVÉ DE COMPTE", "title_activity": "RELEVÉ D'ACTIVITÉ", "date": "Date du relevé",
        "period": "Période", "customer_id": "N° client", "due": "Montant dû", "to": "Relevé pour",
        "outstanding": "Factures et crédits en cours", "activity": "Activité du compte",
        "col_date": "Date", "col_invoice": "N° facture", "col_due": "Échéance", "col_amount": "Montant",
        "col_paid": "Payé", "col_balance": "Solde dû", "col_activity": "Opération",
        "col_ref": "Référence", "col_charges": "Débits", "col_credits": "Crédits",
        "col_running": "Solde",
        "invoice": "Facture", "payment": "Paiement", "credit note": "Note de crédit",
        "credit": "Crédit", "opening": "Solde d'ouverture", "closing": "Solde de clôture",
        "unapplied": "non affecté", "overpayment": "trop-perçu", "prepayment": "paiement anticipé",
        "total": "Total dû", "opening_total": "Solde d'ouverture", "closing_total": "Solde de clôture",
        "ageing": "Échéancier", "current": "Courant", "days": "jours", "ageing_total": "Total",
        "none": "Aucun montant en cours.", "no_activity": "Aucune opération pendant cette période.",
    },
}


@lru_cache(maxsize=4096)
def _number(value: Decimal, language: str) -> str:
    return fmt.number(value, language)


@lru_cache(maxsize=4096)
def _date(value: dt.date, language: str) -> str:
    return fmt.date(value, language)


def labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


def bucket_labels(language: str) -> list[str]:
    """Current, 1–30 days, …, 91+ days in the language."""
    t = labels(language)
    return [t["current"], *(f"{b} {t['days']}" for b in BUCKETS[1:])]


def customer_lines(statement: Statement) -> list[str]:
    """Name, contact and address: Statement Contact / Statement Address when set, else Contact / Address."""
    c = statement.customer
    lines = [c.name]
    contact = c.statement_contact or c.contact
    if contact and contact != c.name:
        lines.append(contact)
    if c.statement_address.strip():
        lines += [ln.strip() for ln in c.statement_address.splitlines() if ln.strip()]
    else:
        lines += [ln.strip() for ln in c.address.splitlines() if ln.strip()]
        place = " ".join(p for p in (c.city, c.state, c.postal_code) if p)
        if place:
            lines.append(place)
        if c.country:
            lines.append(c.country)
    return [ln for i, ln in enumerate(lines) if i == 0 or ln.casefold() != lines[i - 1].casefold()]


def render(statement: Statement, company: Company, currency: str = "USD") -> bytes:
    """The statement as PDF bytes."""
    lang = statement.language
    t = labels(lang)

    def num(v: Decimal) -> str:
        return _number(v, lang)

    def day(d: dt.date | None) -> str:
        return _date(d, lang) if d else ""

    activity = statement.type == st.ACTIVITY
    doc = Document(company, lang, title=f"{t['title']} {statement.customer.name}")
    dated = [(t["date"], day(statement.end))]
    if activity:
        dated.append((t["period"], f"{day(statement.start)} – {day(statement.end)}"))
    doc.letterhead(t["title_activity"] if activity else t["title"],
                   [*dated, (t["customer_id"], statement.customer.id),
                    (t["due"], fmt.money(statement.total, currency, lang))])
    # every later page: whose statement, of which date (and period)
    doc.running_header(statement.customer.name, dated)
    doc.address_block(t["to"], customer_lines(statement))

    if activity:
        doc.heading(t["activity"], keep=doc.table_height(1))
        cols = [Column(t["col_date"], 26), Column(t["col_activity"], 42), Column(t["col_ref"], 36),
                Column(t["col_charges"], 25, "R"), Column(t["col_credits"], 25, "R"),
                Column(t["col_running"], 26, "R")]
        rows = []
        bold = set()
        for i, line in enumerate(statement.rows()):
            what = t[line.kind] + (f" {line.number}" if line.number else "")
            charge = num(line.amount) if line.amount > 0 else ""
            credit = num(-line.amount) if line.amount < 0 else ""
            if line.kind in (st.OPENING, st.CLOSING):
                bold.add(i)
            rows.append([day(line.date), what, line.reference, charge, credit, num(line.balance)])
        doc.table(cols, rows, bold_rows=frozenset(bold))
        if not statement.lines:
            doc.paragraph(t["no_activity"], 8.5)
        doc.totals([(t["opening_total"], fmt.money(statement.opening or ZERO, currency, lang)),
                    (t["closing_total"], fmt.money(statement.total, currency, lang))])
    else:
        doc.heading(t["outstanding"], keep=doc.table_height(1))
        cols = [Column(t["col_date"], 26), Column(t["col_invoice"], 40), Column(t["col_due"], 26),
                Column(t["col_amount"], 28, "R"), Column(t["col_paid"], 28, "R"),
                Column(t["col_balance"], 32, "R")]
        rows = []
        for line in statement.lines:
            if line.kind == st.INVOICE:
                rows.append([day(line.date), line.number, day(line.due_date), num(line.amount),
                             num(line.paid if line.paid is not None else ZERO), num(line.balance)])
            else:
                what = f"{t[line.kind]} {line.number}"
                if line.reference in t and line.kind == st.CREDIT:
                    what += f" ({t[line.reference]})"
                rows.append([day(line.date), what, "", num(line.amount), "", num(line.balance)])
        doc.table(cols, rows)
        if not statement.lines:
            doc.paragraph(t["none"], 8.5)
        doc.totals([(t["total"], fmt.money(statement.total, currency, lang))])

    # ageing: the heading, the buckets and their figures on one page
    doc.heading(t["ageing"], keep=doc.table_height(1))
    width = doc.epw / 6
    names = [*bucket_labels(lang), t["ageing_total"]]
    amounts = [*statement.ageing.amounts, statement.ageing.total]
    doc.table([Column(n, width, "R") for n in names], [[num(a) for a in amounts]], zebra=False)
    return doc.to_bytes()

"""The invoice PDF attached to reminders: built on the shared base (render/pdf.py), returns bytes.

The workbook holds one line per invoice (no item lines), so the PDF shows the invoice as the
books see it on the day: number, dates, memo, amount, paid and balance due, in the customer's
language. fpdf2 is imported only when a PDF is made (``labels`` needs nothing heavy).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..ledger import OpenItem
    from ..model import Customer, Settings

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "INVOICE",
        "invoice_no": "Invoice No",
        "invoice_date": "Invoice date",
        "due_date": "Due date",
        "memo": "Memo",
        "amount": "Amount",
        "paid": "Paid",
        "paid_as_of": "Paid as of {date}",
        "balance_due": "Balance due",
        "bill_to": "Bill to",
        "description": "Description",
        "default_description": "Invoice {number}",
        "status_due": "Balance due as of {date}: {balance}",
        "status_overdue": "{days} days past due as of {date}: {balance}",
        "status_overdue_1": "1 day past due as of {date}: {balance}",
        "status_paid": "Paid in full as of {date}",
        "note": "Payments received after {date} are not shown. Questions about this invoice? "
                "Reply to our email{contact}.",
        "contact": " or call {phone}",
    },
    "fr": {
        "title": "FACTURE",
        "invoice_no": "N° de facture",
        "invoice_date": "Date de facture",
        "due_date": "Échéance",
        "memo": "Objet",
        "amount": "Montant",
        "paid": "Payé",
        "paid_as_of": "Payé au {date}",
        "balance_due": "Solde dû",
        "bill_to": "Facturé à",
        "description": "Description",
        "default_description": "Facture {number}",
        "status_due": "Solde dû au {date}\u00a0: {balance}",
        "status_overdue": "En retard de {days} jours au {date}\u00a0: {balance}",
        "status_overdue_1": "En retard de 1 jour au {date}\u00a0: {balance}",
        "status_paid": "Payée en totalité au {date}",
        "note": "Les paiements reçus après le {date} ne figurent pas sur ce document. Une question sur "
                "cette facture\u00a0? Répondez à notre courriel{contact}.",
        "contact": " ou appelez le {phone}",
    },
}


def labels(language: str) -> dict[str, str]:
    """The invoice labels of a language (en when unknown)."""
    return LABELS.get(language, LABELS["en"])


def customer_lines(customer: Customer) -> list[str]:
    """The customer block: name, contact, address lines, city/state/postal code, country, email."""
    lines = [customer.name]
    if customer.contact and customer.contact != customer.name:
        lines.append(customer.contact)
    lines += [s.strip() for s in customer.address.splitlines() if s.strip()]
    place = " ".join(s for s in (customer.city + ("," if customer.city and customer.state else ""),
                                 customer.state, customer.postal_code) if s)
    if place:
        lines.append(place)
    if customer.country:
        lines.append(customer.country)
    if customer.emails:
        lines.append(", ".join(customer.emails))
    return lines


def render_invoice(settings: Settings, customer: Customer, item: OpenItem, as_of: dt.date, *,
                   base_dir: Path | None = None) -> bytes:
    """The invoice as of ``as_of`` as PDF bytes; ``base_dir`` resolves a relative logo_path."""
    from . import fmt, texts
    from .pdf import Column, Company, Document

    language = texts.language_of(customer, settings)
    lab = labels(language)
    inv, cur = item.invoice, settings.currency

    def money(value: object) -> str:
        return fmt.money(value, cur, language)  # type: ignore[arg-type]

    def date(value: dt.date) -> str:
        return fmt.date(value, language)

    doc = Document(Company.from_settings(settings, base_dir), language,
                   title=f"{lab['title'].title()} {inv.number}")
    doc.letterhead(lab["title"], [
        (lab["invoice_no"], inv.number),
        (lab["invoice_date"], date(inv.invoice_date)),
        (lab["due_date"], date(inv.due_date)),
        (lab["balance_due"], money(item.balance)),
    ])
    doc.address_block(lab["bill_to"], customer_lines(customer))
    if item.balance <= 0:
        status = lab["status_paid"].format(date=date(as_of))
    elif item.days_overdue > 0:
        key = "status_overdue_1" if item.days_overdue == 1 else "status_overdue"
        status = lab[key].format(days=item.days_overdue, date=date(as_of), balance=money(item.balance))
    else:
        status = lab["status_due"].format(date=date(as_of), balance=money(item.balance))
    doc.heading(status)
    doc.ln(1)
    memo = " ".join(inv.memo.split())
    doc.set_font("dejavu", "", 9)
    fits = bool(memo) and doc.get_string_width(memo) <= 82
    description = memo if fits else lab["default_description"].format(number=inv.number)
    doc.table(
        [Column(lab["description"], 84), Column(lab["invoice_date"], 32), Column(lab["due_date"], 32),
         Column(lab["amount"], 32, "R")],
        [[description, date(inv.invoice_date), date(inv.due_date), money(inv.amount)]],
        size=9, zebra=False,
    )
    if memo and not fits:  # a long memo is shown whole, never cut
        doc.set_font("dejavu", "B", 8.5)
        doc.cell(0, 5, lab["memo"], new_x="LMARGIN", new_y="NEXT")
        doc.paragraph(memo, size=8.5)
    doc.ln(2)
    doc.totals([
        (lab["amount"], money(inv.amount)),
        (lab["paid_as_of"].format(date=date(as_of)), "−" + money(item.paid) if item.paid else money(item.paid)),
        (lab["balance_due"], money(item.balance)),
    ], width=100)
    doc.ln(6)
    contact = lab["contact"].format(phone=settings.company_phone) if settings.company_phone else ""
    doc.set_text_color(110, 110, 110)
    doc.paragraph(lab["note"].format(date=date(as_of), contact=contact), size=8.5)
    return doc.to_bytes()

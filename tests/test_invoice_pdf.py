"""The invoice PDF attached to reminders: content, language, Unicode, page numbers (read back with pypdf)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pypdf

from addin.ledger import OpenItem
from addin.model import Customer, Invoice, Settings
from addin.render.invoice_pdf import customer_lines, render_invoice

SETTINGS = Settings(company_name="Maple Books Ltd", company_email="billing@maple.example",
                    company_phone="+1 514 555 0100", company_address="1200 rue Sainte-Catherine O.\nMontréal QC",
                    brand_color="#2E7D32", currency="EUR")


def customer(**kw) -> Customer:
    return Customer("C-0007", "Café Élégance & Fils", "Active", ("comptes@elegance.example",),
                    contact="Marie Tremblay", address="45 avenue des Érables\nBureau 300", city="Québec", state="QC",
                    postal_code="G1R 2J6", country="Canada", **kw)


def item(memo="Traiteur — 12 mars", paid="234.50", balance="1000.00", late=7) -> OpenItem:
    inv = Invoice("INV-1042", "C-0007", dt.date(2026, 3, 1), dt.date(2026, 3, 31), Decimal("1234.50"), memo=memo)
    return OpenItem(inv, Decimal(paid), Decimal(balance), late)


def text_of(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_english_invoice_shows_company_customer_dates_amounts_and_page_number():
    data = render_invoice(SETTINGS, customer(), item(), dt.date(2026, 4, 7))
    assert data.startswith(b"%PDF-")
    text = text_of(data)
    for expected in ("INVOICE", "Maple Books Ltd", "Montréal QC", "billing@maple.example", "Bill to".upper(),
                     "Café Élégance & Fils", "Marie Tremblay", "45 avenue des Érables", "Québec, QC G1R 2J6",
                     "INV-1042", "Mar 1, 2026", "Mar 31, 2026", "Traiteur — 12 mars", "€1,234.50", "€234.50",
                     "Balance due", "€1,000.00", "7 days past due as of Apr 7, 2026", "Page 1 of 1"):
        assert expected in text, expected


def test_french_customer_gets_a_french_invoice():
    text = text_of(render_invoice(SETTINGS, customer(language="fr"), item(), dt.date(2026, 4, 7)))
    for expected in ("FACTURE", "N° de facture", "Échéance", "31 mars 2026", "1 234,50 €", "Solde dû", "1 000,00 €",
                     "En retard de 7 jours", "Payé au 7 avr. 2026", "Page 1 sur 1"):
        assert expected in text, expected


def test_a_long_memo_is_shown_whole():
    memo = "Bookkeeping services for March 2026, including the reconciliation of three bank accounts and payroll"
    text = " ".join(text_of(render_invoice(SETTINGS, customer(), item(memo=memo), dt.date(2026, 4, 7))).split())
    assert memo in text
    assert "Invoice INV-1042" in text


def test_paid_invoice_says_paid_in_full():
    text = text_of(render_invoice(SETTINGS, customer(), item(paid="1234.50", balance="0.00", late=0),
                                  dt.date(2026, 4, 7)))
    assert "Paid in full as of Apr 7, 2026" in text


def test_a_missing_logo_is_left_out(tmp_path):
    settings = Settings(company_name="Maple Books Ltd", logo_path="no-such-logo.png")
    assert render_invoice(settings, customer(), item(), dt.date(2026, 4, 7), base_dir=tmp_path).startswith(b"%PDF-")


def test_logo_relative_to_the_workbook_is_drawn(tmp_path):
    from PIL import Image

    Image.new("RGB", (60, 60), (46, 125, 50)).save(tmp_path / "logo.png")
    settings = Settings(company_name="Maple Books Ltd", logo_path="logo.png")
    with_logo = render_invoice(settings, customer(), item(), dt.date(2026, 4, 7), base_dir=tmp_path)
    reader = pypdf.PdfReader(io.BytesIO(with_logo))
    assert list(reader.pages[0].images)


def test_customer_block_lines():
    assert customer_lines(customer()) == ["Café Élégance & Fils", "Marie Tremblay", "45 avenue des Érables",
                                          "Bureau 300", "Québec, QC G1R 2J6", "Canada", "comptes@elegance.example"]
    bare = Customer("C1", "Acme", "Active", ())
    assert customer_lines(bare) == ["Acme"]

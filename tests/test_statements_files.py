"""Statement PDF and CSV: what the customer reads, in their language; CSV safe to open in Excel."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pypdf
import pytest

from addin import statements as st
from addin.ledger import Ledger
from addin.model import CREDIT_NOTE, Book, Customer, Invoice, Origin, Payment
from addin.render import statement_csv, statement_pdf
from addin.render.pdf import Company

D = Decimal
E = dt.date(2026, 5, 31)


def the_book(**kw: object) -> Book:
    values: dict = {"name": "Maple Café", "status": "Active", "emails": ("ap@maple.example",),
                    "contact": "Jean Tremblay", "address": "1 Main St", "city": "Springfield", "state": "IL"}
    values.update(kw)
    c = Customer(id="C1", **values)
    return Book(
        customers=(c,),
        invoices=(Invoice("INV-100", "C1", dt.date(2026, 5, 1), dt.date(2026, 5, 31), D("1234.50"), origin=Origin("Invoices", 2)),
                  Invoice("INV-101", "C1", dt.date(2026, 5, 3), dt.date(2026, 6, 2), D("200.00"), origin=Origin("Invoices", 3))),
        payments=(Payment("P-1", "C1", dt.date(2026, 5, 10), D("34.50"), invoice_no="INV-100", origin=Origin("Payments", 2)),
                  Payment("P-1", "C1", dt.date(2026, 5, 10), D("200.00"), invoice_no="INV-101", origin=Origin("Payments", 3)),
                  Payment("=HYPERLINK(\"http://x\")", "C1", dt.date(2026, 5, 12), D("25.00"), CREDIT_NOTE,
                          reference="@SUM(A1)", origin=Origin("Payments", 4))),
    )


def statement(book: Book, **kw: object) -> st.Statement:
    made = st.build(book, Ledger.from_book(book), "C1", E, **kw)
    assert isinstance(made, st.Statement)
    return made


def text_of(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


# --- PDF ---------------------------------------------------------------------------------------------

def test_outstanding_pdf_in_english():
    book = the_book()
    data = statement_pdf.render(statement(book), Company("Maple Books Ltd", "9 Bay St\nToronto"), "USD")
    text = text_of(data)
    for expected in ("Maple Books Ltd", "9 Bay St", "STATEMENT", "Statement date", "May 31, 2026",
                     "Maple Café", "Jean Tremblay", "1 Main St", "Springfield IL", "INV-100", "1,234.50",
                     "1,200.00", "Credit note", "-25.00", "Total due", "$1,175.00", "Current", "1–30 days",
                     "Page 1 of 1"):
        assert expected in text, expected
    assert "INV-101" not in text  # paid in full


def test_statement_contact_and_address_override_contact_and_address():
    book = the_book(statement_contact="Accounts Payable", statement_address="PO Box 7\nStation A")
    text = text_of(statement_pdf.render(statement(book), Company("Maple"), "USD"))
    assert "Accounts Payable" in text and "PO Box 7" in text and "Station A" in text
    assert "Jean Tremblay" not in text and "1 Main St" not in text


def test_activity_pdf_in_french():
    book = the_book(language="fr")
    s = statement(book, type=st.ACTIVITY)
    text = text_of(statement_pdf.render(s, Company("Maple"), "CAD"))
    for expected in ("RELEVÉ D'ACTIVITÉ", "Solde d'ouverture", "Solde de clôture", "1 mai 2026", "31 mai 2026",
                     "Facture INV-100", "Paiement P-1", "1 234,50", "Page 1 sur 1", "Courant"):
        assert expected in text, expected


def test_long_statement_runs_over_several_pages():
    invoices = tuple(Invoice(f"INV-{i:04}", "C1", dt.date(2026, 1, 1) + dt.timedelta(days=i % 120),
                             dt.date(2026, 3, 1), D("10.00"), origin=Origin("Invoices", i + 2)) for i in range(160))
    book = Book(customers=(Customer("C1", "Big Buyer", "Active", ("b@x.example",)),), invoices=invoices)
    data = statement_pdf.render(statement(book), Company("Maple"), "USD")
    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]
    assert len(pages) >= 3
    assert all("Invoice No" in p for p in pages[:-1])
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert "$1,600.00" in pages[-1]


# --- CSV ---------------------------------------------------------------------------------------------

def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def test_outstanding_csv_has_one_row_per_line_iso_dates_plain_numbers():
    rows = read_csv(statement_csv.render(statement(the_book())))
    assert rows[0] == ["Date", "Type", "Number", "Due Date", "Amount", "Paid", "Balance Due", "Reference"]
    assert rows[1] == ["2026-05-01", "Invoice", "INV-100", "2026-05-31", "1234.50", "34.50", "1200.00", ""]
    assert rows[2] == ["2026-05-12", "Credit Note", "'=HYPERLINK(\"http://x\")", "", "-25.00", "", "-25.00", "unapplied"]
    assert len(rows) == 3


def test_activity_csv_opens_with_opening_and_closes_with_closing_balance():
    rows = read_csv(statement_csv.render(statement(the_book(), type=st.ACTIVITY)))
    assert rows[0] == ["Date", "Type", "Number", "Reference", "Due Date", "Amount", "Balance"]
    assert rows[1] == ["2026-05-01", "Opening Balance", "", "", "", "", "0.00"]
    assert rows[-1] == ["2026-05-31", "Closing Balance", "", "", "", "", "1175.00"]
    payment = [r for r in rows if r[1] == "Payment"]
    assert payment == [["2026-05-10", "Payment", "P-1", "INV-100, INV-101", "", "-234.50", "1200.00"]]


def test_csv_carries_no_live_formula():
    for kind in (st.OUTSTANDING, st.ACTIVITY):
        rows = read_csv(statement_csv.render(statement(the_book(), type=kind)))
        for row in rows:
            for cell in row:
                if cell and cell[0] in "=+@\t\r":
                    pytest.fail(f"live formula {cell!r}")
                if cell.startswith("-"):
                    Decimal(cell)  # only numbers may start with a minus


# --- batches -----------------------------------------------------------------------------------------

def test_a_big_batch_uses_worker_processes_and_keeps_the_order():
    customers = tuple(Customer(f"C{i}", f"Customer {i}", "Active", (f"c{i}@x.example",)) for i in range(st.POOL_THRESHOLD + 2))
    invoices = tuple(Invoice(f"INV-{i}", c.id, dt.date(2026, 5, 1), dt.date(2026, 5, 31), D(i + 1))
                     for i, c in enumerate(customers))
    book = Book(customers=customers, invoices=invoices)
    ledger = Ledger.from_book(book)
    statements = [st.build(book, ledger, c.id, E) for c in customers]
    seen: list[tuple[int, int]] = []
    files = st.render_files(statements, Company("Maple"), "USD", csv_for=[True] * len(statements),
                            progress=lambda done, total: seen.append((done, total)), workers=2)
    assert len(files) == len(statements)
    for i, f in enumerate(files):
        assert f"INV-{i}" in text_of(f.pdf)
        assert f.csv is not None and f"INV-{i}," in f.csv.decode("utf-8-sig")
    assert seen[-1] == (len(statements), len(statements))


def test_the_workers_make_each_whole_message_as_this_process_would():
    import email
    import re
    from email import policy

    from addin.mail.message import build_bytes
    from addin.model import Settings

    customers = tuple(Customer(f"C{i}", f"Customer {i}", "Active", (f"c{i}@x.example",)) for i in range(st.POOL_THRESHOLD + 2))
    invoices = tuple(Invoice(f"INV-{i}", c.id, dt.date(2026, 5, 1), dt.date(2026, 5, 31), D(i + 1))
                     for i, c in enumerate(customers))
    settings = Settings(company_name="Maple", company_email="billing@maple.example")
    book = Book(customers=customers, invoices=invoices, settings=settings)
    ledger = Ledger.from_book(book)
    mails = [st.Mail(st.build(book, ledger, c.id, E), f"statement-email:{c.id}", c.emails) for c in customers]
    now = dt.datetime(2026, 6, 1, 8, 30, tzinfo=dt.UTC)
    made = [m for batch, faults in st.email_batches(mails, book, 10, workers=2, now=now) for m in batch]
    assert [m.key for m in made] == [m.key for m in mails]

    def boundless(data: bytes) -> bytes:
        for n, b in enumerate(dict.fromkeys(re.findall(rb'boundary="([^"]+)"', data))):
            data = data.replace(b, b"B%d" % n)
        return data

    for m in made:
        assert m.mime and boundless(m.mime) == boundless(build_bytes(m, settings, now=now))
        back = email.message_from_bytes(m.mime, policy=policy.default)
        assert back["To"] == m.to[0] and back["Date"] == "Mon, 01 Jun 2026 08:30:00 +0000"
        assert next(back.iter_attachments()).get_content() == m.attachments[0].content
    without = [m for batch, _ in st.email_batches(mails[:2], book, 10) for m in batch]
    assert [m.mime for m in without] == [b"", b""]  # no Date given: made when sent

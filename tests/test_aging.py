"""The aged-receivables report: same buckets as the ledger, sorted by total, safe CSV."""

import csv
import datetime as dt
import io
from decimal import Decimal

from addin.aging import aging_report
from addin.ledger import Ledger
from addin.model import CREDIT_NOTE, Book, Customer, Invoice, Payment, Settings
from addin.render.aging_report import to_csv, to_pdf

d = dt.date.fromisoformat
AS_OF = d("2026-06-30")


def book():
    customers = (
        Customer("C1", "Alpha Ltd", "Active", ("a@x.com",)),
        Customer("C2", "=HYPERLINK(\"http://evil\")", "Active", ("b@x.com",)),
        Customer("C3", "Paid Up Inc", "Active", ("c@x.com",)),
    )
    invoices = (
        Invoice("A1", "C1", d("2026-06-01"), d("2026-07-01"), Decimal("100.00")),  # current
        Invoice("A2", "C1", d("2026-04-01"), d("2026-05-31"), Decimal("200.00")),  # 30 days: 1–30
        Invoice("A3", "C1", d("2026-01-01"), d("2026-03-31"), Decimal("300.00")),  # 91 days: 91+
        Invoice("B1", "C2", d("2026-04-01"), d("2026-04-30"), Decimal("50.00")),   # 61 days: 61–90
        Invoice("P1", "C3", d("2026-04-01"), d("2026-04-30"), Decimal("80.00")),
    )
    payments = (
        Payment("X1", "C3", d("2026-05-01"), Decimal("80.00"), "Payment", "P1"),
        Payment("CN", "C1", d("2026-06-15"), Decimal("25.00"), CREDIT_NOTE),
    )
    return Book(settings=Settings(company_name="Maple"), customers=customers, invoices=invoices, payments=payments)


def test_rows_use_the_ledger_buckets_and_totals_equal_customer_balances():
    b = book()
    ledger = Ledger.from_book(b)
    report = aging_report(b, ledger, AS_OF)
    assert [r.customer.id for r in report.rows] == ["C1", "C2"]  # C3 owes nothing; largest first
    c1 = report.rows[0]
    assert c1.ageing.amounts == (Decimal("75.00"), Decimal("200.00"), Decimal("0.00"), Decimal("0.00"),
                                 Decimal("300.00"))
    for row in report.rows:
        assert row.total == ledger.customer_balance(row.customer.id, AS_OF)
    assert report.totals.total == Decimal("625.00")
    assert sum(report.shares) == Decimal("1.0000")


def test_detail_lists_open_invoices_and_credits_under_each_customer():
    b = book()
    report = aging_report(b, Ledger.from_book(b), AS_OF, detail=True)
    refs = [(line.reference, line.amount, line.bucket) for line in report.rows[0].details]
    assert refs == [("A3", Decimal("300.00"), 4), ("A2", Decimal("200.00"), 1), ("A1", Decimal("100.00"), 0),
                    ("CN", Decimal("-25.00"), 0)]


def test_csv_has_plain_numbers_and_no_live_formula():
    b = book()
    data = to_csv(aging_report(b, Ledger.from_book(b), AS_OF, detail=True))
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Customer ID", "Customer"]
    evil = [r for r in rows if r[0] == "C2"][0]
    assert evil[1].startswith("'=")
    total = rows[-2]
    assert total[1] == "Total" and total[-1] == "625.00"


def test_pdf_is_a_pdf_with_the_title(tmp_path):
    b = book()
    pdf = to_pdf(aging_report(b, Ledger.from_book(b), AS_OF), b.settings)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 1000

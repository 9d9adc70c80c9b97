"""Statements over several pages: every page says whose statement it is and of which date, the
table's header is repeated, and no block (the totals, the ageing) is split from its heading."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest

from addin import statements as st
from addin.cli import main
from addin.ledger import Ledger
from addin.model import CREDIT_NOTE, Book, Customer, Invoice, Origin, Payment
from addin.render import fmt, statement_pdf
from addin.render.pdf import Company

D = Decimal
START = dt.date(2026, 5, 1)
END = dt.date(2026, 5, 31)
NAME = "Cedar Fitness LLC"
TYPES = {"outstanding": st.OUTSTANDING, "activity": st.ACTIVITY}

# What each page after the first says at its top, per type and language.
RUNNING = {
    ("outstanding", "en"): f"{NAME} Statement date May 31, 2026",
    ("outstanding", "fr"): f"{NAME} Date du relevé 31 mai 2026",
    ("activity", "en"): f"{NAME} Statement date May 31, 2026 Period May 1, 2026 – May 31, 2026",
    ("activity", "fr"): f"{NAME} Date du relevé 31 mai 2026 Période 1 mai 2026 – 31 mai 2026",
}
DATE_FACT = {"en": "Statement date May 31, 2026", "fr": "Date du relevé 31 mai 2026"}
TABLE_HEADER = {
    ("outstanding", "en"): "Date Invoice No Due Date Amount Paid Balance due",
    ("outstanding", "fr"): "Date N° facture Échéance Montant Payé Solde dû",
    ("activity", "en"): "Date Activity Reference Charges Credits Balance",
    ("activity", "fr"): "Date Opération Référence Débits Crédits Solde",
}
# An invoice's line in the table (an Activity payment's line names the invoices it paid, too).
INVOICE_LINE = {"outstanding": re.compile(r"^\S+ \S+ \S+ (INV-\d{4}) "),
                "activity": re.compile(r"^\S+ \S+ \S+ (?:Invoice|Facture) (INV-\d{4}) ")}
PAGE = {"en": "Page {n} of {m}", "fr": "Page {n} sur {m}"}

# 1, 40, 90 and 200 invoices, and the counts that put a heading at the foot of a page with the
# layout before the running header: 31 and 86 the Activity ageing heading (its figures went onto
# the next page), 37 and 92 the Outstanding one, 35 and 89 the Activity totals (the opening
# balance on one page, the closing balance on the next).
COUNTS = [1, 31, 35, 37, 40, 86, 89, 90, 92, 200]


def the_book(invoices: int, language: str) -> Book:
    """One customer with so many invoices in May 2026 (due 14 days later), a part payment and an unapplied credit note."""
    customer = Customer("C1", NAME, "Active", ("ap@cedar.example",), contact="Accounts Payable",
                        address="2652 Bay Street", city="Oakland", state="CA", language=language)
    rows = tuple(Invoice(f"INV-{i:04}", "C1", day, day + dt.timedelta(days=14), D("100.00") + i, origin=Origin("Invoices", i + 2))
                 for i in range(invoices) for day in [START + dt.timedelta(days=i % 28)])
    payments = (Payment("PMT-1", "C1", dt.date(2026, 5, 20), D("40.00"), invoice_no="INV-0000", origin=Origin("Payments", 2)),
                Payment("CN-1", "C1", dt.date(2026, 5, 21), D("15.00"), CREDIT_NOTE, origin=Origin("Payments", 3)))
    return Book(customers=(customer,), invoices=rows, payments=payments)


def statement_of(invoices: int, kind: str, language: str) -> st.Statement:
    book = the_book(invoices, language)
    made = st.build(book, Ledger.from_book(book), "C1", END, type=TYPES[kind])
    assert isinstance(made, st.Statement)
    return made


def pages_of(data: bytes) -> list[list[str]]:
    """Each page's text, as lines."""
    return [page.extract_text().splitlines() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def the_page(pages: list[list[str]], line: str) -> int:
    """The one page holding this exact line (it must appear exactly once in the document)."""
    found = [(n, i) for n, lines in enumerate(pages) for i, text in enumerate(lines) if text == line]
    assert len(found) == 1, (line, found)
    return found[0][0]


def assert_reads_well_over_pages(s: st.Statement, pages: list[list[str]], kind: str, language: str) -> None:
    t = statement_pdf.labels(language)
    m = len(pages)
    for n, lines in enumerate(pages, 1):
        # the page count line, at the foot
        assert lines[-1] == f"Maple Books Ltd {PAGE[language].format(n=n, m=m)}", (n, lines[-1])
        # whose statement, of which date
        if n == 1:
            assert NAME in lines and DATE_FACT[language] in lines, n
        else:
            assert lines[0] == RUNNING[kind, language], (n, lines[0])
        # the table's header above the first line of the table on this page
        rows = [i for i, text in enumerate(lines) if INVOICE_LINE[kind].match(text)]
        if rows:
            header = [i for i, text in enumerate(lines) if text == TABLE_HEADER[kind, language]]
            assert len(header) == 1 and header[0] < rows[0], (n, lines[:4])
    # every invoice exactly once
    seen = Counter(found.group(1) for lines in pages for text in lines if (found := INVOICE_LINE[kind].match(text)))
    assert seen == Counter({line.number: 1 for line in s.lines if line.kind == st.INVOICE})
    # the totals on one page
    money = [fmt.money(s.total, "USD", language)]
    if kind == "activity":
        assert s.opening is not None
        opening = the_page(pages, f"{t['opening_total']} {fmt.money(s.opening, 'USD', language)}")
        assert the_page(pages, f"{t['closing_total']} {money[0]}") == opening
    else:
        the_page(pages, f"{t['total']} {money[0]}")
    # the ageing heading, its buckets and its figures on one page, one after the other
    heading = the_page(pages, t["ageing"])
    lines = pages[heading]
    at = lines.index(t["ageing"])
    figures = [fmt.number(a, language) for a in (*s.ageing.amounts, s.ageing.total)]
    assert lines[at + 1:at + 3] == [" ".join([*statement_pdf.bucket_labels(language), t["ageing_total"]]),
                                    " ".join(figures)], (heading, lines[at:])


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("kind", ["outstanding", "activity"])
@pytest.mark.parametrize("invoices", COUNTS)
def test_a_statement_reads_well_on_every_page(invoices, kind, language):
    s = statement_of(invoices, kind, language)
    pages = pages_of(statement_pdf.render(s, Company("Maple Books Ltd", "9 Bay St"), "USD"))
    if invoices == 1:
        assert len(pages) == 1
    if invoices >= 40:
        assert len(pages) > 1
    assert_reads_well_over_pages(s, pages, kind, language)


def test_the_issue_s_ninety_invoices_through_the_cli(make_workbook, tmp_path, capsys):
    """Issue 19: 90 invoices ran to three pages, the ageing heading at the foot of page 2, its figures on page 3."""
    invoices = [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"]]
    invoices += [[f"INV-{i:04}", "C1", day, day + dt.timedelta(days=14), 100 + i]
                 for i in range(90) for day in [START + dt.timedelta(days=i % 28)]]
    wb = make_workbook({
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", NAME, "Active", "ap@cedar.example"]],
        "Invoices": invoices,
    })
    out = tmp_path / "out"
    assert main(["statements", "export", str(wb), "C1", "--end", "2026-05-31", "--type", "activity",
                 "--out", str(out)]) == 0
    path = Path(capsys.readouterr().out.strip().splitlines()[-1])
    pages = pages_of(path.read_bytes())
    assert len(pages) == 3
    assert [lines[0] for lines in pages[1:]] == [RUNNING["activity", "en"]] * 2
    ageing = the_page(pages, "Ageing")
    assert pages[ageing][pages[ageing].index("Ageing") + 2].endswith("13,005.00")
    assert the_page(pages, "Opening balance $0.00") == the_page(pages, "Closing balance $13,005.00")

"""Reminders: the day's decision against the load time, and invoice PDFs against naive fpdf2.

1. Every reminder due on one day for the benchmark workbook (5,000 customers, 100,000
   invoices): ``Ledger.from_book`` + ``reminders.decide``, against the workbook's load time in
   the same run (with ``--grouping customer``: + ``reminders.messages``, the grouping per
   customer). Target: at most 0.5x the load time. The full plan (texts rendered, no PDF) is
   printed too.
2. Invoice PDFs, one process, on the same invoices: the naive way (``FPDF()`` + ``add_font``
   of the TTF per document + fpdf2's ``table()`` helper, the same content) against
   addin.render.invoice_pdf (fonts parsed once per process, pre-cut subset, cell table).
   Target: at least 5x the documents per second.

Run ``python bench/reminders.py [--sample N] [--day YYYY-MM-DD] [--grouping invoice|customer]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT.parent) not in sys.path:
    sys.path.insert(0, str(ROOT.parent))

from addin import reminders  # noqa: E402
from addin.ledger import Ledger, OpenItem  # noqa: E402
from addin.model import Customer, Settings  # noqa: E402
from addin.render import fmt  # noqa: E402
from addin.render.invoice_pdf import customer_lines, labels, render_invoice  # noqa: E402
from addin.render.pdf import FONTS_DIR, Company  # noqa: E402
from addin.workbook.reader import load  # noqa: E402
from bench.data import bench_workbook  # noqa: E402

DAY = dt.date(2026, 3, 20)
DECIDE_TARGET = 0.5
PDF_TARGET = 5.0


def naive_pdf(settings: Settings, customer: Customer, item: OpenItem, as_of: dt.date, company: Company) -> bytes:
    """The same invoice the way the fpdf2 docs show it: fonts added per document, table() helper."""
    from fpdf import FPDF

    lang = customer.language or settings.language
    lab, inv, cur = labels(lang), item.invoice, settings.currency
    pdf = FPDF()
    pdf.add_font("DejaVu", "", str(FONTS_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS_DIR / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    if company.logo:
        pdf.image(str(company.logo), h=16)
    pdf.set_font("DejaVu", "B", 13)
    pdf.set_text_color(*company.color)
    pdf.cell(0, 6, company.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8.5)
    pdf.set_text_color(110, 110, 110)
    pdf.multi_cell(100, 4, "\n".join([company.address, company.email, company.phone]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 8, lab["title"], align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(33, 33, 33)
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(col_widths=(40, 40), first_row_as_headings=False, width=80, align="RIGHT") as table:
        for label, value in ((lab["invoice_no"], inv.number), (lab["invoice_date"], fmt.date(inv.invoice_date, lang)),
                             (lab["due_date"], fmt.date(inv.due_date, lang)),
                             (lab["balance_due"], fmt.money(item.balance, cur, lang))):
            table.row([label, value])
    pdf.set_font("DejaVu", "B", 8)
    pdf.cell(0, 5, lab["bill_to"].upper(), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(110, 5, "\n".join(customer_lines(customer)), new_x="LMARGIN", new_y="NEXT")
    with pdf.table(col_widths=(84, 32, 32, 32), text_align=("LEFT", "LEFT", "LEFT", "RIGHT")) as table:
        table.row([lab["description"], lab["invoice_date"], lab["due_date"], lab["amount"]])
        table.row([inv.memo or inv.number, fmt.date(inv.invoice_date, lang), fmt.date(inv.due_date, lang),
                   fmt.money(inv.amount, cur, lang)])
    with pdf.table(col_widths=(55, 45), width=100, align="RIGHT", first_row_as_headings=False) as table:
        table.row([lab["amount"], fmt.money(inv.amount, cur, lang)])
        table.row([lab["paid_as_of"].format(date=fmt.date(as_of, lang)), fmt.money(item.paid, cur, lang)])
        table.row([lab["balance_due"], fmt.money(item.balance, cur, lang)])
    pdf.set_y(-13)
    pdf.set_font("DejaVu", "", 8)
    pdf.cell(0, 5, f"Page {pdf.page_no()} of {{nb}}", align="R")
    return bytes(pdf.output())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=100, help="invoices in the PDF comparison")
    parser.add_argument("--day", type=dt.date.fromisoformat, default=DAY, help="the run day")
    parser.add_argument("--repeat", type=int, default=3, help="decision runs (the median is kept)")
    parser.add_argument("--grouping", choices=("invoice", "customer"), default="invoice",
                        help="reminder_grouping for the run (customer: the decision includes the grouping)")
    args = parser.parse_args()
    day = args.day

    path = bench_workbook()
    t0 = time.perf_counter()
    book = load(path)
    load_s = time.perf_counter() - t0
    book = dataclasses.replace(book, settings=dataclasses.replace(book.settings, reminder_grouping=args.grouping))

    # --- 1. the decision of one day -----------------------------------------------------------
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ledger = Ledger.from_book(book)
        decision = reminders.decide(book, ledger, book.settings, (), day)
        grouped = reminders.messages(decision) if args.grouping == "customer" else ()
        times.append(time.perf_counter() - t0)
    decide_s = statistics.median(times)
    t0 = time.perf_counter()
    plan = reminders.plan_automatic(book, ledger, (), day, attach_pdf=False, decision=decision)
    plan_s = time.perf_counter() - t0
    ratio = decide_s / load_s
    print(f"workbook: {len(book.customers)} customers, {len(book.invoices)} invoices, {len(book.payments)} payments;"
          f" load {load_s:.2f}s")
    print(f"decision for {day}: {len(decision.due)} due, {len(decision.skipped)} skipped, {len(decision.problems)}"
          f" problems{f', {len(grouped)} grouped messages' if grouped else ''} in {decide_s * 1000:.0f} ms"
          f" (ledger + decide{' + grouping' if grouped else ''}, median of {args.repeat}) = {ratio:.3f}x the"
          f" load time  (target <= {DECIDE_TARGET}x) {'OK' if ratio <= DECIDE_TARGET else 'TOO SLOW'}")
    print(f"texts of the {len(plan.emails)} messages (no PDF): {plan_s * 1000:.0f} ms")

    # --- 2. invoice PDFs, one process -------------------------------------------------------------
    company = Company.from_settings(book.settings, path.parent)
    sample = [(due.customer, due.item) for due in decision.due][: args.sample]
    if len(sample) < args.sample:  # a quiet day: top up with open invoices
        for inv in book.invoices[: args.sample * 3]:
            customer = book.customer(inv.customer_id)
            if customer is not None and len(sample) < args.sample:
                sample.append((customer, ledger.item(inv, day)))
    render_invoice(book.settings, sample[0][0], sample[0][1], day, base_dir=path.parent)  # fonts parsed once
    t0 = time.perf_counter()
    for customer, item in sample:
        render_invoice(book.settings, customer, item, day, base_dir=path.parent)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for customer, item in sample:
        naive_pdf(book.settings, customer, item, day, company)
    naive_s = time.perf_counter() - t0
    speed = naive_s / ours_s
    print(f"invoice PDFs, one process, {len(sample)} invoices: ours {len(sample) / ours_s:.1f}/s"
          f" ({1000 * ours_s / len(sample):.1f} ms each), naive fpdf2 {len(sample) / naive_s:.1f}/s"
          f" ({1000 * naive_s / len(sample):.1f} ms each): {speed:.1f}x"
          f"  (target >= {PDF_TARGET:.0f}x) {'OK' if speed >= PDF_TARGET else 'TOO SLOW'}")
    return 0 if ratio <= DECIDE_TARGET and speed >= PDF_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

"""Statement PDFs: ours against the naive fpdf2 baseline, and 5,000 statements from the benchmark workbook.

1. Speed per statement, one process, on the same sample of statements: the naive way
   (``FPDF()`` + ``add_font`` per document + fpdf2's ``table()`` helper, the same content)
   against addin.render.statement_pdf (fonts parsed once per process, pre-cut font subset,
   cell-based table). Target: at least 5× faster.
2. Every customer of the benchmark workbook (5,000): statements built from the ledger and
   rendered to PDF with every core. Target: at most 60 s on a 2-core machine. The workbook's
   load time in the same run is printed for comparison.
3. ``receivables statements email WB --all`` on a copy of the benchmark workbook, to an outbox
   folder, end to end in this process: read, plan, PDFs (every core), the .eml files, the
   journal and the Log rows written back. Target: at most 60 s on a 2-core machine.

Run ``python bench/statements.py [--sample N] [--all N] [--email-only]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT.parent) not in sys.path:
    sys.path.insert(0, str(ROOT.parent))

from addin import statements as st  # noqa: E402
from addin.ledger import Ledger  # noqa: E402
from addin.render import fmt  # noqa: E402
from addin.render.pdf import FONTS_DIR, Company  # noqa: E402
from addin.render.statement_pdf import bucket_labels, customer_lines, labels  # noqa: E402
from addin.workbook.reader import load  # noqa: E402
from bench.data import bench_workbook  # noqa: E402

AS_OF = dt.date(2026, 4, 15)
SPEED_TARGET = 5.0
BATCH_TARGET_S = 60.0
EMAIL_TARGET_S = 60.0


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its finished children."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def email_all(path: Path) -> tuple[float, int, int]:
    """``statements email --all`` of a copy of ``path`` to an outbox: (seconds, .eml files, exit status)."""
    import contextlib
    import io
    import shutil
    import tempfile

    from addin.cli import main as cli

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / path.name
        shutil.copyfile(path, copy)
        outbox = Path(folder) / "outbox"
        printed = io.StringIO()
        os.environ["RECEIVABLES_USER"] = "admin"  # the workbook's Users sheet lists admin, clerk, agent
        t0 = time.perf_counter()
        cpu0 = _cpu()
        with contextlib.redirect_stdout(printed):
            code = cli(["statements", "email", str(copy), "--all", "--end", AS_OF.isoformat(),
                        "--as-of", AS_OF.isoformat(), "--outbox", str(outbox)])
        seconds = time.perf_counter() - t0
        main_s, workers_s = (b - a for a, b in zip(cpu0, _cpu(), strict=True))
        # on a machine shared with other work the wall time says little: the CPU time says what
        # 2 free cores would need at best
        print(f"  CPU: this process {main_s:.1f}s + PDF workers {workers_s:.1f}s;"
              f" load average {os.getloadavg()[0]:.1f}")
        tail = printed.getvalue().splitlines()[-4:]
        print("  " + "\n  ".join(tail))
        return seconds, len(list(outbox.glob("*.eml"))), code


def naive_pdf(statement: st.Statement, company: Company, currency: str) -> bytes:
    """The same statement the way the fpdf2 docs show it: fonts added per document, table() helper."""
    from fpdf import FPDF

    lang = statement.language
    t = labels(lang)
    pdf = FPDF()
    pdf.add_font("DejaVu", "", str(FONTS_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS_DIR / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(100, 6, company.name)
    pdf.cell(0, 8, t["title"], align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8.5)
    for line in [*company.address.splitlines(), company.email, company.phone]:
        pdf.cell(100, 4, line, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, f"{t['date']}: {fmt.date(statement.end, lang)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for line in customer_lines(statement):
        pdf.cell(100, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 8.5)
    with pdf.table(col_widths=(26, 40, 26, 28, 28, 32), text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT")) as table:
        table.row([t["col_date"], t["col_invoice"], t["col_due"], t["col_amount"], t["col_paid"], t["col_balance"]])
        for line in statement.lines:
            table.row([fmt.date(line.date, lang), line.number, fmt.date(line.due_date, lang),
                       fmt.number(line.amount, lang), fmt.number(line.paid, lang) if line.paid is not None else "",
                       fmt.number(line.balance, lang)])
    pdf.cell(0, 6, f"{t['total']}: {fmt.money(statement.total, currency, lang)}", align="R",
             new_x="LMARGIN", new_y="NEXT")
    with pdf.table() as table:
        table.row([*bucket_labels(lang), t["ageing_total"]])
        table.row([fmt.number(a, lang) for a in (*statement.ageing.amounts, statement.ageing.total)])
    return bytes(pdf.output())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=60, help="statements in the one-process comparison")
    parser.add_argument("--all", type=int, default=0, help="statements in the batch (default: every customer)")
    parser.add_argument("--email-only", action="store_true", help="only `statements email --all` (3.)")
    args = parser.parse_args()

    path = bench_workbook()
    email_s, sent, code = email_all(path)
    print(f"statements email --all: {sent} messages to the outbox in {email_s:.2f}s on {os.cpu_count()} cores"
          f" (exit {code})  (target <= {EMAIL_TARGET_S:.0f}s) {'OK' if email_s <= EMAIL_TARGET_S else 'TOO SLOW'}")
    if args.email_only:
        return 0 if email_s <= EMAIL_TARGET_S else 1
    t0 = time.perf_counter()
    book = load(path)
    load_s = time.perf_counter() - t0
    company = Company.from_settings(book.settings, path.parent)
    currency = book.settings.currency

    # --- 2. the batch -------------------------------------------------------------------------
    t0 = time.perf_counter()
    ledger = Ledger.from_book(book)
    customers = [c for c in book.customers if not book.is_blocked(c.id)]
    if args.all:
        customers = customers[: args.all]
    statements = [s for s in (st.build(book, ledger, c.id, AS_OF) for c in customers) if isinstance(s, st.Statement)]
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    files = st.render_files(statements, company, currency)
    render_s = time.perf_counter() - t0
    batch_s = build_s + render_s
    lines = sum(len(s.lines) for s in statements)
    size = sum(len(f.pdf) for f in files)
    print(f"workbook: {len(book.customers)} customers, {len(book.invoices)} invoices, {len(book.payments)} payments;"
          f" load {load_s:.2f}s")
    print(f"batch: {len(statements)} statements ({lines} lines, {size / 1e6:.1f} MB of PDF) on {os.cpu_count()} cores:"
          f" lines {build_s:.2f}s + PDFs {render_s:.2f}s = {batch_s:.2f}s"
          f" = {len(statements) / batch_s:.0f} statements/s; {batch_s / load_s:.2f}x the load time"
          f"  (target <= {BATCH_TARGET_S:.0f}s) {'OK' if batch_s <= BATCH_TARGET_S else 'TOO SLOW'}")

    # --- 1. one process, same sample ----------------------------------------------------------
    sample = statements[: args.sample]
    from addin.render import statement_pdf

    statement_pdf.render(sample[0], company, currency)  # warm: fonts parsed once per process
    t0 = time.perf_counter()
    for s in sample:
        statement_pdf.render(s, company, currency)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in sample:
        naive_pdf(s, company, currency)
    naive_s = time.perf_counter() - t0
    ratio = naive_s / ours_s
    print(f"one process, {len(sample)} statements: ours {len(sample) / ours_s:.1f}/s"
          f" ({1000 * ours_s / len(sample):.1f} ms each), naive fpdf2 {len(sample) / naive_s:.1f}/s"
          f" ({1000 * naive_s / len(sample):.1f} ms each): {ratio:.1f}x"
          f"  (target >= {SPEED_TARGET:.0f}x) {'OK' if ratio >= SPEED_TARGET else 'TOO SLOW'}")
    return 0 if ratio >= SPEED_TARGET and batch_s <= BATCH_TARGET_S and email_s <= EMAIL_TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())

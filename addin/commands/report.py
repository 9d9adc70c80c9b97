"""`receivables report aging …`: who owes what, and how late."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import (
    OK,
    CommandError,
    add_as_of,
    add_workbook,
    as_of,
    exit_code,
    read_book,
)


def register(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="reports: aged receivables")
    reports = report.add_subparsers(dest="report", metavar="REPORT", required=True)
    p = reports.add_parser("aging", help="aged receivables: Current, 1–30, 31–60, 61–90, 91+ days",
                           description="Aged receivables as of a date, one row per customer "
                                       "(--detail: every open invoice and credit under it).")
    add_workbook(p)
    add_as_of(p)
    p.add_argument("--group", metavar="NAME", help="only the customers of this group")
    p.add_argument("--detail", action="store_true", help="list every open invoice and unapplied credit")
    p.add_argument("--format", choices=("pdf", "csv"), help="write a file instead of printing")
    p.add_argument("--out", type=Path, metavar="DIR", help="folder for the file (default: reports/ beside the workbook)")
    p.set_defaults(func=handle_aging)


def handle_aging(args: argparse.Namespace) -> int:
    from ..aging import aging_report
    from ..ledger import Ledger
    from ..render import fmt

    book = read_book(args)
    day = as_of(args, book)
    ledger = Ledger.from_book(book)
    customers = list(book.customers)
    if args.group:
        from ..groups import find_group, members_of

        if find_group(book, args.group) is None:
            raise CommandError(f'no group named "{args.group}" — see the Groups sheet for the names')
        customers = list(members_of(book, ledger, args.group, day))
    from ..access import visible_customer_ids

    visible = visible_customer_ids(book, ledger, day)
    if visible is not None:
        customers = [c for c in customers if c.id in visible]
    report = aging_report(book, ledger, day, customers=customers, detail=args.detail, group=args.group or "")
    if args.format:
        from ..render.aging_report import to_csv, to_pdf
        from ..workbook.files import write_file

        content = to_pdf(report, book.settings, args.workbook.parent) if args.format == "pdf" else to_csv(report)
        folder = args.out or args.workbook.parent / "reports"
        path = write_file(folder, f"Aged-receivables-{day.isoformat()}.{args.format}", content)
        print(f"wrote {path}")
        return exit_code(book.problems)
    lang, cur = book.settings.language, book.settings.currency
    print(f"Aged receivables as of {day.isoformat()}" + (f" — group {args.group}" if args.group else ""))
    print(f"{'Customer':<32}" + "".join(f"{b:>13}" for b in ("Current", "1–30", "31–60", "61–90", "91+", "Total")))
    for row in report.rows:
        print(f"{row.customer.name[:31]:<32}" + "".join(f"{fmt.number(a, lang):>13}" for a in row.ageing.amounts)
              + f"{fmt.number(row.total, lang):>13}")
        for line in row.details:
            print(f"   {line.reference:<29}" + "".join(
                f"{(fmt.number(line.amount, lang) if i == line.bucket else ''):>13}" for i in range(5)))
    print(f"{'Total':<32}" + "".join(f"{fmt.number(a, lang):>13}" for a in report.totals.amounts)
          + f"{fmt.money(report.totals.total, cur, lang):>13}")
    return OK if not any(p.is_error for p in book.problems) else exit_code(book.problems)

"""`receivables init PATH [--demo] [--language en|fr] [--force]`: a new workbook from the template."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import OK, CommandError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create a new workbook from the template (--demo: with sample data)",
                       description=__doc__)
    p.add_argument("path", type=Path, metavar="PATH", help="the workbook to create (.xlsx)")
    p.add_argument("--demo", action="store_true", help="fill it with the demo's sample customers and invoices")
    p.add_argument("--language", choices=("en", "fr"), default="en",
                   help="language of the texts and the Settings default (default: en)")
    p.add_argument("--force", action="store_true", help="replace PATH if it already exists")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    path: Path = args.path
    _check_target(path, args.force)
    from ..workbook.template import build_template, save

    if args.demo:
        from ..demo_data import DEMO_DATE, build_demo

        wb = build_demo(args.language)
    else:
        wb = build_template(args.language)
    try:
        save(wb, path)
    except PermissionError:
        raise CommandError(f"{path}: cannot be written (is it open in Excel or LibreOffice?) — close it and run the "
                           f"command again") from None
    except OSError as exc:
        raise CommandError(f"{path}: cannot be written ({exc.strerror or exc}) — choose another path") from None
    quoted = _quote(str(path))
    if args.demo:
        day = DEMO_DATE.isoformat()
        print(f"Wrote the demo workbook {path} (language {args.language}, demo day {day}).")
        print(f"Next: receivables check {quoted}")
        print(f"      receivables reminders due {quoted} --as-of {day}")
    else:
        print(f"Wrote a new workbook {path} (language {args.language}).")
        print("Next: open it in Excel, fill in Settings, Customers and Invoices (see the Start here sheet), "
              f"then run: receivables check {quoted}")
    return OK


def _check_target(path: Path, force: bool) -> None:
    """Refuse what would lose data or cannot work, before building anything."""
    if path.suffix.lower() != ".xlsx":
        raise CommandError(f"{path}: a workbook name must end in .xlsx — e.g. receivables init "
                           f"{_quote(str(path.with_suffix('.xlsx')))}")
    if path.is_dir():
        raise CommandError(f"{path}: is a folder — give a file name, e.g. {_quote(str(path / 'receivables.xlsx'))}")
    if path.exists() and not force:
        raise CommandError(f"{path}: already exists; nothing was written — choose another name, "
                           f"or add --force to replace it")
    if not path.parent.is_dir():
        raise CommandError(f"{path.parent}: no such folder — create it first, or choose another path")


def _quote(text: str) -> str:
    return f'"{text}"' if any(ch.isspace() for ch in text) else text

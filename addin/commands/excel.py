"""`receivables excel build-addin | install | press`: the Excel add-in, from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .common import USAGE, CommandError, add_as_of, add_outbox, add_workbook


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("excel", help="the Excel add-in: build, install, press a ribbon button")
    sub = parser.add_subparsers(dest="excel_command", metavar="COMMAND")
    parser.set_defaults(func=lambda args: parser.print_help() or USAGE)

    build = sub.add_parser("build-addin", help="build Receivables.xlam with Excel (Windows)")
    build.add_argument("--out", type=Path, default=Path("Receivables.xlam"), metavar="FILE",
                       help="where to write the add-in (default: Receivables.xlam)")
    build.set_defaults(func=build_addin)

    install = sub.add_parser("install", help="install the add-in for this user and this Python (Windows, macOS)")
    install.add_argument("--addin", type=Path, default=Path("Receivables.xlam"), metavar="FILE",
                         help="the add-in to install (default: Receivables.xlam)")
    install.set_defaults(func=install_addin)

    press = sub.add_parser("press", help="run a ribbon button's handler on a saved workbook, as Excel would")
    add_workbook(press)
    press.add_argument("button", metavar="BUTTON_ID", help="a button id, e.g. send_reminder (see docs/excel.md)")
    press.add_argument("--select", metavar="SHEET!RANGE",
                       help="the selection, as Excel writes it: Invoices!A2:A3,A5 or 'Group Members'!4:6")
    press.add_argument("--answer", action="append", default=[], metavar="NAME=VALUE",
                       help="the answer to a question (subject, message, group, customer, end, copy_me); "
                            "NAME= alone answers Cancel")
    press.add_argument("--no", action="store_true", help="answer No to confirmations")
    add_as_of(press)
    add_outbox(press)
    press.set_defaults(func=press_button)


def build_addin(args: argparse.Namespace) -> int:
    from ..excel.build import build_addin as build

    return _excel_step(lambda: build(args.out))


def install_addin(args: argparse.Namespace) -> int:
    from ..excel.build import install

    return _excel_step(lambda: install(args.addin))


def _excel_step(step: Callable[[], list[str]]) -> int:
    """Run a step that needs Excel and print what it did; without Excel, say so (exit 2)."""
    from ..excel.build import ExcelUnavailable

    try:
        lines = step()
    except ExcelUnavailable as exc:
        raise CommandError(str(exc)) from None
    print("\n".join(lines))
    return 0


def press_button(args: argparse.Namespace) -> int:
    from ..excel.handlers import dispatch
    from ..excel.port import FilePort, Selection, parse_selection
    from ..excel.ribbon import BUTTONS

    if args.button not in BUTTONS:
        raise CommandError(f'no button "{args.button}" — choose one of: {", ".join(BUTTONS)}')
    try:
        chosen = parse_selection(args.select) if args.select else Selection()
    except ValueError as exc:
        raise CommandError(f"--select: {exc}") from None
    answers: dict[str, str | None] = {}
    for item in args.answer:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CommandError(f'--answer "{item}": write it as NAME=VALUE, e.g. --answer subject=Hello')
        answers[name.strip()] = value if value else None
    if not args.workbook.exists():
        raise CommandError(f"{args.workbook}: no such workbook — check the path")
    port = FilePort(args.workbook, chosen, answers, confirm_answer=not args.no, outbox=args.outbox,
                    as_of=args.as_of, echo=print)
    code = dispatch(args.button, port)
    return code if code in (0, 1) else USAGE

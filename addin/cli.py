"""The command line: argument parsing and exit codes only (SPEC §6)."""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import traceback
from pathlib import Path

from .commands import MODULES
from .commands.common import PROBLEMS, USAGE, CommandError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="receivables",
        description="Accounts receivable for Excel workbooks: customer groups, invoice reminders, statements.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in MODULES:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith(f"commands.{name}"):
                continue  # a command group not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return USAGE
    try:
        status = int(args.func(args))
        # An error in the workbook was reported: done as far as possible (SPEC §6).
        return max(status, PROBLEMS) if getattr(args, "workbook_errors", False) else status
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - no traceback reaches a user
        crash = Path(tempfile.gettempdir()) / "receivables-crash.log"
        crash.write_text(traceback.format_exc(), encoding="utf-8")
        print(f"internal error: {type(exc).__name__}: {exc} — this is a bug; details are in {crash}; "
              "nothing after the error was done", file=sys.stderr)
        return USAGE


def run() -> None:
    sys.exit(main())

"""The command line: argument parsing and exit codes only (SPEC §6)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import traceback
from pathlib import Path

from . import procs
from .commands import MODULES
from .commands.common import PROBLEMS, USAGE, CommandError, writable_workbook


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
    procs.set_doing(command_words(sys.argv[1:] if argv is None else argv))
    try:
        if getattr(args, "writes_workbook", False):
            writable_workbook(args.workbook)  # before anything is read, sent or written
        code = int(args.func(args))
        sys.stdout.flush()  # a reader that went away is found here, not at the interpreter's exit
        # An error in the workbook was reported: done as far as possible (SPEC §6).
        return max(code, PROBLEMS) if getattr(args, "workbook_errors", False) else code
    except BrokenPipeError:  # our output (the transports turn a broken socket into their own failures)
        _silence_stdout()
        return CLOSED_OUTPUT
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - no traceback reaches a user
        from .journal import JournalError

        if isinstance(exc, JournalError):  # the message says what to do
            print(f"error: {exc}", file=sys.stderr)
            return USAGE
        return _internal_error()


# The reader of our output went away (`receivables reminders due WB | head -1`): the command ends
# quietly, with the status of a Unix tool that SIGPIPE ended (128 + 13), as `cat` or `grep` give:
# a script with `set -o pipefail` sees the output was cut, and never mistakes it for 1 (errors were
# reported) or 2 (bad usage). What was sent or written before stays done.
CLOSED_OUTPUT = 141


def _silence_stdout() -> None:
    """Point standard output, a pipe nobody reads any more, at the null device, so that Python's
    own last flush stays quiet (as the ``signal`` module's documentation recommends)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor (a StringIO): nothing to flush at exit
        pass


def _internal_error() -> int:
    exc = sys.exc_info()[1]
    crash = Path(tempfile.gettempdir()) / "receivables-crash.log"
    crash.write_text(traceback.format_exc(), encoding="utf-8")
    print(f"internal error: {type(exc).__name__}: {exc} — this is a bug; details are in {crash}; "
          "nothing after the error was done", file=sys.stderr)
    return USAGE


def command_words(argv: list[str]) -> str:
    """The command's words (``reminders run``), for the lock files that name who holds them."""
    words = []
    for token in argv[:2]:
        if not token.isalpha():
            break
        words.append(token)
    return " ".join(words)


def run() -> None:
    sys.exit(main())

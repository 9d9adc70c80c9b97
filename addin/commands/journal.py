"""``receivables journal list|release|confirm WB``: what the journal beside the workbook remembers."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import OK, PROBLEMS, CommandError, add_workbook


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("journal", help="messages sent, failed or uncertain; release an uncertain one",
                                   description="The send journal kept beside the workbook.")
    sub = parser.add_subparsers(dest="journal_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="every message the journal knows, most recent first")
    add_workbook(p)
    p.add_argument("--state", choices=("sending", "sent", "failed", "uncertain", "released"),
                   help="only messages in this state")
    p.set_defaults(func=list_sends)

    p = sub.add_parser("release", help="an uncertain message did NOT arrive: allow sending it again")
    add_workbook(p, writes=True)
    p.add_argument("key", metavar="KEY", help="the message key, as `journal list` shows it")
    p.set_defaults(func=release)

    p = sub.add_parser("confirm", help="an uncertain message DID arrive: record it as sent")
    add_workbook(p, writes=True)
    p.add_argument("key", metavar="KEY", help="the message key, as `journal list` shows it")
    p.set_defaults(func=confirm)


def _open(path: Path):  # noqa: ANN202
    from ..journal import Journal, JournalError, journal_path

    if not Journal.exists(path):
        raise CommandError(f"{journal_path(path)}: no journal beside {path.name} — nothing was sent from it yet")
    try:
        return Journal.open(path)
    except JournalError as exc:
        raise CommandError(str(exc)) from None


def list_sends(args: argparse.Namespace) -> int:
    with _open(args.workbook) as journal:
        records = journal.sends(args.state)
    if not records:
        print("No messages" + (f" in state {args.state}." if args.state else "."))
        return OK
    print(f"{'When (UTC)':<17} {'State':<9} {'Tries':>5}  {'Key':<40} Recipients / last error")
    for r in records:
        extra = r.recipients + (f" — {r.last_error}" if r.last_error and r.state != "sent" else "")
        print(f"{r.updated:%Y-%m-%d %H:%M} {r.state:<9} {r.attempts:>5}  {r.key:<40} {extra}")
    uncertain = sum(1 for r in records if r.state == "uncertain")
    if uncertain:
        print(f"{uncertain} uncertain: check the recipient's mailbox, then `receivables journal release "
              f"{args.workbook} KEY` (it did not arrive: send again) or `... journal confirm` (it arrived)")
    return OK


def release(args: argparse.Namespace) -> int:
    from ..journal import JournalError

    with _open(args.workbook) as journal:
        try:
            old = journal.release(args.key)
        except JournalError as exc:
            print(f"error: {exc}")
            return PROBLEMS
    print(f"{args.key}: released (was {old}) — the next run that plans it sends it again")
    return OK


def confirm(args: argparse.Namespace) -> int:
    from ..journal import JournalError

    with _open(args.workbook) as journal:
        try:
            journal.confirm(args.key)
        except JournalError as exc:
            print(f"error: {exc}")
            return PROBLEMS
    print(f"{args.key}: recorded as sent — its workbook updates are written at the next run")
    return OK

"""``receivables sent WB [--since D] [--until D] [--customer ID] [--kind K]``: what went out (SPEC §4).

The kept files are the index: their names give the time, kind and customer, so the filters
open no file; only the headers of the messages listed are read (recipients, subject).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import OK, add_workbook, load_settings, parse_date

if TYPE_CHECKING:
    from ..mail.archive import Kept


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..mail.archive import KINDS

    p = subparsers.add_parser(
        "sent", help="list the messages that went out (kept in sent_dir)",
        description="List the messages kept in the sent folder (Settings sent_dir), one line each, "
                    "sorted by time: time (the workbook's time zone), kind, customer, recipients, subject, "
                    "file. Every message sent, by any transport, is kept there exactly as sent.")
    add_workbook(p)
    p.add_argument("--since", type=parse_date, metavar="YYYY-MM-DD", help="sent on or after this day")
    p.add_argument("--until", type=parse_date, metavar="YYYY-MM-DD", help="sent on or before this day")
    p.add_argument("--customer", metavar="ID", help="only the messages for this customer")
    p.add_argument("--kind", choices=KINDS, help="only this kind of message")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    for line in sent_lines(args.workbook, since=args.since, until=args.until, customer=args.customer,
                           kind=args.kind):
        print(line)
    return OK


def sent_lines(workbook: Path, **filters: object) -> list[str]:
    """The listing as the command prints it (a CommandError when the workbook cannot be read)."""
    from ..mail.archive import folder_of, listing, read_head

    workbook = Path(workbook)
    settings = load_settings(workbook)
    folder = workbook.resolve().parent
    root = folder_of(settings, folder)
    if root is None:
        cell = settings.cells.get("sent_dir", "")
        return [f"No copies are kept: sent_dir is blank in Settings{f' ({cell})' if cell else ''} — "
                "type a folder (e.g. sent) to keep a copy of every message sent from now on"]
    kept = listing(root, **filters)  # type: ignore[arg-type]
    confirmed, uncertain = _handed_over(workbook, listing(root, suffix=".part", **filters))  # type: ignore[arg-type]
    if confirmed:
        kept = sorted([*kept, *confirmed], key=lambda k: (k.time, k.path.stem))
    lines: list[str] = []
    for k in kept:
        try:
            head = read_head(k.path)
        except OSError as exc:
            lines.append(f"{k.time:%Y-%m-%d %H:%M:%S}  {_kind(k.kind, k.copy)}  {k.customer}  "
                         f"(unreadable: {exc.strerror or exc})  {_shown(k.path, folder)}")
            continue
        lines.append(f"{k.time:%Y-%m-%d %H:%M:%S}  {_kind(k.kind, k.copy)}  {k.customer}  "
                     f"{', '.join(head.recipients)}  {head.subject}  {_shown(k.path, folder)}")
    if not kept:
        lines.append(f"No messages kept in {_shown(root, folder)}" + (" that match" if any(filters.values()) else ""))
    for k in uncertain:
        lines.append(f"uncertain: {_shown(k.path, folder)} — handed to the mail server at "
                     f"{k.time:%Y-%m-%d %H:%M:%S} without an answer; see `receivables journal list` "
                     "(kept as .part, not listed above)")
    return lines


def _handed_over(workbook: Path, parts: list[Kept]) -> tuple[list[Kept], list[Kept]]:
    """The ``.part`` files (bytes handed over without an answer) the journal says arrived
    (`journal confirm`), and those still uncertain; a part whose message was released (and
    not sent again yet) or is unknown to the journal is neither."""
    if not parts:
        return [], []
    from ..journal import SENDING, SENT, UNCERTAIN, Journal, JournalError
    from ..mail.archive import PART_MARK, key_hash

    if not Journal.exists(workbook):
        return [], parts
    try:
        with Journal.open(workbook) as journal:
            states = {key_hash(r.key): r.state for r in journal.sends()}
    except JournalError:
        return [], parts
    confirmed, uncertain = [], []
    for k in parts:
        state = states.get(k.path.name.split(PART_MARK, 1)[0].rpartition("_")[2])
        if state == SENT:
            confirmed.append(k)
        elif state in (UNCERTAIN, SENDING):
            uncertain.append(k)
    return confirmed, uncertain


def _kind(kind: str, copy: bool) -> str:
    return f"{kind} (copy)" if copy else kind


def _shown(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)

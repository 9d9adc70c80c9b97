"""`receivables groups build|show|email|export|delete` (SPEC §6): thin doors into addin.groups."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..problems import Problem, error
from ..workbook import schema
from ..workbook.files import write_atomically
from ..workbook.schema import normalize
from .common import (
    OK,
    PROBLEMS,
    CommandError,
    add_as_of,
    add_outbox,
    add_workbook,
    as_of,
    execute,
    exit_code,
    now,
    print_problems,
    read_book,
)

if TYPE_CHECKING:
    from ..ledger import Ledger
    from ..model import Book, Group


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("groups", help="customer groups: build, show, email, export, delete",
                                   description="Customer groups defined by rules, with manual additions and removals.")
    sub = parser.add_subparsers(dest="groups_command", metavar="ACTION", required=True)

    p = sub.add_parser("build", help="compute members, write Group Members Rule rows, Members and Updated")
    add_workbook(p, writes=True)
    p.add_argument("--group", metavar="NAME", help="build only this group (also rebuilds a frozen group)")
    add_as_of(p)
    p.set_defaults(func=build_command)

    p = sub.add_parser("show", help="the group's summary line and its members")
    add_workbook(p)
    p.add_argument("name", metavar="NAME", help="the group")
    add_as_of(p)
    p.set_defaults(func=show_command)

    p = sub.add_parser("email", help="one separate email to each member of the group")
    add_workbook(p, writes=True)
    p.add_argument("name", metavar="NAME", help="the group")
    p.add_argument("--subject", required=True, help="subject; may use placeholders such as {{ customer.name }}")
    p.add_argument("--message", required=True, help="message; may use placeholders such as {{ customer.first_name }}")
    p.add_argument("--only", metavar="ID,ID", help="only these members (customer IDs separated by commas)")
    add_as_of(p)
    add_outbox(p)
    p.set_defaults(func=email_command)

    p = sub.add_parser("export", help="the group's members as a mailing-list CSV")
    add_workbook(p)
    p.add_argument("name", metavar="NAME", help="the group")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.csv", help="the CSV file to write")
    add_as_of(p)
    p.set_defaults(func=export_command)

    p = sub.add_parser("delete", help="delete a group with its rules and members (Admin only)")
    add_workbook(p, writes=True)
    p.add_argument("name", metavar="NAME", help="the group")
    p.set_defaults(func=delete_command)


# --- helpers -----------------------------------------------------------------------------------

_SHEETS = (schema.GROUPS, schema.GROUP_RULES, schema.GROUP_MEMBERS, schema.USERS, schema.CUSTOMERS)


def _group(book: Book, name: str) -> Group:
    from ..groups import find_group

    group = find_group(book, name)
    if group is None:
        known = ", ".join(g.name for g in book.groups) or "none yet"
        raise CommandError(f'group "{name}" is not on the Groups sheet — check the name (groups: {known})')
    return group


def _refused(problem: Problem | None) -> bool:
    if problem is None:
        return False
    print_problems([problem])
    return True


def _split_ids(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [t.strip() for t in re.split(r"[,;]", text) if t.strip()]



# --- handlers ----------------------------------------------------------------------------------

def build_command(args: argparse.Namespace) -> int:
    from ..access import LIMITED, access_for
    from ..groups import build

    book = read_book(args)
    access = access_for(book)
    if _refused(access.refusal(book)):
        return PROBLEMS
    names = [args.group] if args.group else None
    if args.group:
        _group(book, args.group)
    if access.role == LIMITED:
        if names and normalize(names[0]) != normalize(access.group):
            return _print_refusal(error(
                access.origin.sheet, access.origin.cell("Group"),
                f'user "{access.user}" is Limited to group "{access.group}" and may not build group "{args.group}"',
                "build your own group, or ask an Admin or a Full user"))
        names = [access.group]
    # Computed fields come from groups.summaries_of (one pass over the books): no Ledger index needed.
    plan = build(book, None, as_of(args, book), names, now=now(book.settings))
    return execute(plan, book, args)


def _print_refusal(problem: Problem) -> int:
    print_problems([problem])
    return PROBLEMS


@dataclass
class _Opened:
    """A group command's starting point: the book, the group, the day and what this user may see."""

    book: Book
    group: Group
    ledger: Ledger
    day: dt.date
    visible: frozenset[str] | None

    def members(self) -> list[Any]:
        from ..groups import visible_members

        return visible_members(self.book, self.ledger, self.group, self.day, self.visible)


def _open(args: argparse.Namespace) -> _Opened | None:
    """Read the workbook and find the group; None (refusal printed) when this user has no access."""
    from ..access import access_for, visible_for
    from ..ledger import Ledger

    book = read_book(args)
    group = _group(book, args.name)
    access = access_for(book)
    if _refused(access.refusal(book)):
        return None
    ledger, day = Ledger.from_book(book), as_of(args, book)
    return _Opened(book, group, ledger, day, visible_for(book, ledger, day, access))


def show_command(args: argparse.Namespace) -> int:
    from ..groups import check_rules, held_group, is_vendor_group, rules_of, summary_line
    from ..model import Customer
    from ..render import fmt

    opened = _open(args)
    if opened is None:
        return PROBLEMS
    book, group, ledger, day = opened.book, opened.group, opened.ledger, opened.day
    members = opened.members()
    language = book.settings.language or "en"
    line = summary_line(rules_of(book, group), language) or "no rules: only the members added by hand"
    print(f"{group.name}: {line}")
    sums = ledger.summaries(day, [m.id for m in members if isinstance(m, Customer)])
    rows = [("ID", "Name", "Email", "Balance")]
    for m in members:
        balance = fmt.money(sums[m.id].balance, book.settings.currency, language) if m.id in sums else ""
        rows.append((m.id, m.name, ", ".join(m.emails), balance))
    for r in _aligned(rows):
        print(r)
    kind = "vendor" if is_vendor_group(group) else "member"
    print(f"{len(members)} {kind}{'' if len(members) == 1 else 's'} as of {day.isoformat()}")
    hold = held_group(book, group, "these members cannot be trusted")
    problems = [*check_rules(book, group)[1], *([hold] if hold else [])]
    print_problems(problems, args)
    return exit_code(problems)


def _aligned(rows: Sequence[Sequence[str]]) -> Iterable[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r[:-1], widths[:-1], strict=True)]
        yield "  ".join([*cells, r[-1].rjust(widths[-1])]).rstrip()


def email_command(args: argparse.Namespace) -> int:
    from ..groups import campaign, campaign_prefix, email_group

    opened = _open(args)
    if opened is None:
        return PROBLEMS
    book, group, day = opened.book, opened.group, opened.day
    prefix = campaign_prefix(group, campaign(day, args.subject, args.message))
    plan = email_group(book, opened.ledger, group.name, args.subject, args.message, day,
                       only=_split_ids(args.only), visible=opened.visible, sent=_sent_keys(book, prefix))
    if not plan.emails:
        for line in plan.lines:
            print(line)
        print_problems(plan.problems, args)
        return exit_code(plan.problems)
    return execute(plan, book, args)


def _sent_keys(book: Book, prefix: str) -> set[str]:
    """Keys of this campaign the journal holds as sent (none when there is no journal yet)."""
    from ..journal import Journal

    if book.path is None or not Journal.exists(book.path):
        return set()
    with Journal.open(book.path) as journal:
        return journal.sent_keys(prefix)


def export_command(args: argparse.Namespace) -> int:
    from ..groups import export_rows, held_group
    from ..render.csvsafe import write_csv

    opened = _open(args)
    if opened is None:
        return PROBLEMS
    hold = held_group(opened.book, opened.group, "not exported")
    if hold is not None:  # a mailing list of members nobody can tell
        print_problems([hold], args)
        return PROBLEMS
    group, members = opened.group, opened.members()
    out: Path = args.out
    try:
        write_atomically(out, write_csv(export_rows(members)))
    except OSError as exc:
        raise CommandError(f"{out}: cannot write the file ({exc.strerror or exc}) — close it in Excel "
                           "or choose another --out path") from None
    print(f'wrote {len(members)} members of group "{group.name}" to {out}')
    return OK


def delete_command(args: argparse.Namespace) -> int:
    from ..access import access_for
    from ..groups import delete_group

    book = read_book(args)
    group = _group(book, args.name)
    plan = delete_group(book, group.name, access_for(book))
    if plan.problems:
        print_problems(plan.problems, args)
        for line in plan.lines:
            print(line)
        return PROBLEMS
    return execute(plan, book, args)

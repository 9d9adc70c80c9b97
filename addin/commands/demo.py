"""`receivables demo [DIR]`: make the demo workbook and run every capability on the demo day.

The demo is a script of real commands, printed before each runs, so a newcomer sees what to type.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from .common import OK, CommandError

MARKER = ".receivables-demo"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="create the demo workbook and run everything on the demo day",
                       description=__doc__)
    p.add_argument("dir", nargs="?", type=Path, default=Path("demo"), metavar="DIR",
                   help="folder for the demo workbook, outbox and statements (default: ./demo)")
    p.set_defaults(func=handle)


def _prepare(folder: Path) -> Path:
    """An empty demo folder; a previous demo there is replaced, anything else is refused."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise CommandError(f"{folder} is not empty and is not a demo folder — choose another DIR, "
                               f"e.g. `receivables demo demo-receivables`")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by `receivables demo`; the next demo run replaces this folder\n")
    return folder / "demo.xlsx"


def steps(wb: Path, day: str) -> list[list[str]]:
    """The demo's commands, in order (also the README's tour)."""
    w = str(wb)
    return [
        ["check", w],
        ["groups", "build", w, "--as-of", day],
        ["groups", "show", w, "CA mid balance", "--as-of", day],
        ["groups", "email", w, "CA mid balance", "--subject", "Our new opening hours, {{ customer.name }}",
         "--message", "Hello {{ customer.first_name }},\n\nFrom July we are open on Saturdays.\n\n{{ company.name }}",
         "--as-of", day],
        ["groups", "export", w, "CA mid balance", "--out", str(wb.parent / "ca-mid-balance.csv"), "--as-of", day],
        ["reminders", "due", w, "--as-of", day],
        ["reminders", "run", w, "--as-of", day],
        ["reminders", "run", w, "--as-of", day],
        ["statements", "export", w, "C-0001", "--end", day, "--format", "pdf"],
        ["statements", "export", w, "C-0001", "--end", day, "--type", "activity", "--format", "csv"],
        ["statements", "run", w, "--as-of", day],
        ["report", "aging", w, "--as-of", day, "--format", "pdf"],
        ["refresh", w, "--as-of", day],
    ]


def handle(args: argparse.Namespace) -> int:
    from ..cli import build_parser, main
    from ..demo_data import DEMO_DATE, build_demo

    wb = _prepare(args.dir)
    build_demo().save(wb)
    day = DEMO_DATE.isoformat()
    print(f"Demo workbook: {wb}  (demo day {day})\n")
    known = set(build_parser()._subparsers._group_actions[0].choices or ())  # type: ignore[union-attr]
    worst = OK
    for argv in steps(wb, day):
        if argv[0] not in known:
            continue  # a capability not built yet
        print("$ receivables " + " ".join(f'"{a}"' if (" " in a or "\n" in a) else a for a in argv).replace("\n", "\\n"))
        status = main(argv)
        print(f"  (exit status {status})\n")
        worst = max(worst, status)
    folder = wb.parent
    print("Files to look at:")
    for sub in ("outbox", "statements", "reports"):
        if (folder / sub).exists():
            print(f"  {folder / sub}/  ({sum(1 for _ in (folder / sub).rglob('*') if _.is_file())} files)")
    for extra in sorted(folder.glob("*.csv")):
        print(f"  {extra}")
    print(f"  {wb}  (open it in Excel: Log, Group Members, Dashboard and the invoice Status columns were written)")
    return worst

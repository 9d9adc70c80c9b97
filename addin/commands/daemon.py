"""`receivables daemon …`: the background service, one tick, its status, its installation."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from .common import OK, PROBLEMS, CommandError, load_book, now, parse_date, today, writable_workbook

ACTIONS = ("status", "install", "uninstall")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "daemon", help="the background service (reminders and statements on their own)",
        description="Serve one or several workbooks: `receivables daemon WB [WB…]`; "
                    "`daemon WB --once [--as-of D]` runs one complete tick for day D; "
                    "`daemon status WB`, `daemon install WB`, `daemon uninstall WB`.")
    p.add_argument("words", nargs="+", metavar="WB", help="workbook(s), or status|install|uninstall WB")
    p.add_argument("--once", action="store_true", help="run one complete tick and exit")
    p.add_argument("--as-of", type=parse_date, metavar="YYYY-MM-DD", help="with --once: the day to act for")
    p.add_argument("--outbox", type=Path, metavar="DIR", help="write messages as .eml files into DIR")
    p.add_argument("--dry-run", action="store_true", help="with install/uninstall: only say what would be done")
    p.add_argument("--quiet", action="store_true", help="log to the file only, not the console")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    first, *rest = args.words
    for word in rest if first in ACTIONS else args.words:
        writable_workbook(Path(word))  # the daemon sends and writes; its status and service are of no use
    if first in ACTIONS:
        if len(rest) != 1:
            raise CommandError(f"usage: receivables daemon {first} WB")
        workbook = Path(rest[0])
        if not workbook.exists():
            raise CommandError(f"{workbook}: no such workbook — check the path")
        return {"status": status, "install": install, "uninstall": uninstall}[first](workbook, args)
    workbooks = [Path(w) for w in args.words]
    for wb in workbooks:
        if not wb.exists():
            raise CommandError(f"{wb}: no such workbook — check the path")
    if args.once:
        return once(workbooks, args)
    return serve(workbooks, args)


def once(workbooks: list[Path], args: argparse.Namespace) -> int:
    """One complete tick for the day: what the daemon would do that day."""
    from ..daemon import tick

    worst = OK
    for wb in workbooks:
        book = load_book(wb)
        day = args.as_of or today(book.settings)
        result = tick(wb, day, now(book.settings), outbox=args.outbox)
        print(f"{wb.name}: tick for {day.isoformat()}")
        for line in result.lines:
            print(f"  {line}")
        for line in result.problems:
            print(line)
        if any(not p.startswith(("warning:", "notice:")) for p in result.problems):
            worst = PROBLEMS
    return worst


def serve(workbooks: list[Path], args: argparse.Namespace) -> int:
    from ..daemon import AlreadyRunning, Daemon, setup_logging

    for wb in workbooks:
        load_book(wb)  # unreadable -> exit 2 now, not in the night
    log_file = setup_logging(workbooks[0], verbose=not args.quiet)
    daemon = Daemon(workbooks)
    try:
        daemon.start()
    except AlreadyRunning as exc:
        raise CommandError(str(exc)) from None
    daemon.install_signal_handlers()
    print(f"serving {', '.join(w.name for w in workbooks)}; log: {log_file}; stop with Ctrl+C")
    try:
        daemon.run_forever()
    finally:
        daemon.close()
    print("stopped")
    return OK


def status(workbook: Path, _args: argparse.Namespace) -> int:
    from ..daemon import TICK, InstanceLock, log_path, next_check, zone
    from ..journal import Journal
    from ..procs import pid_alive

    book = load_book(workbook)
    owner = InstanceLock(workbook).owner()
    running = bool(owner and pid_alive(int(owner.get("pid", 0))))
    state = f"running (pid {owner['pid']}, since {owner.get('since')})" if running and owner else "not running"
    print(f"daemon: {state}")
    tz = zone(book.settings.timezone)
    current = dt.datetime.now(dt.UTC)
    with Journal.open(workbook) as journal:
        last = journal.last_run(TICK)
        stats = journal.stats(since=dt.datetime.combine(today(book.settings), dt.time(), tzinfo=tz))
        pending = len(journal.pending_updates())
    print(f"last check: {last.astimezone(tz).isoformat(sep=' ', timespec='minutes') if last else 'never'}")
    print(f"next check: {next_check(current, book.settings.reminder_check_times, tz).isoformat(sep=' ', timespec='minutes')}")
    print(f"sent today: {stats.get('sent_today', 0)}")
    print(f"pending workbook updates: {pending}")
    print(f"failed: {stats.get('failed', 0)}")
    print(f"uncertain: {stats.get('uncertain', 0)}" + (" — check them: `receivables journal list WB`"
                                                         if stats.get("uncertain") else ""))
    log_file = log_path(workbook)
    print(f"log file: {log_file}{'' if log_file.exists() else ' (not yet written)'}")
    return OK


def install(workbook: Path, args: argparse.Namespace) -> int:
    from ..service import carry_out, install_steps

    lines = carry_out(install_steps(workbook), dry_run=args.dry_run)
    print("\n".join(lines))
    return PROBLEMS if any(line.startswith("failed") for line in lines) else OK


def uninstall(workbook: Path, args: argparse.Namespace) -> int:
    from ..service import carry_out, uninstall_steps

    lines = carry_out(uninstall_steps(workbook), dry_run=args.dry_run, uninstall=True)
    print("\n".join(lines))
    return PROBLEMS if any(line.startswith("failed") for line in lines) else OK

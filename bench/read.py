"""Read benchmark: our full load against the raw python-calamine parse and pandas + openpyxl.

Times, in one run, on the benchmark workbook (bench/data.py: 5,000 customers, 100,000 invoices,
60,000 payments):

- raw: python-calamine ``to_python()`` of each sheet the reader reads;
- ours: ``addin.workbook.reader.load`` plus ``Ledger.from_book(book).summaries(as_of)`` (the
  reader's checks make the book's ledger). Raw and ours run in turn, 5 pairs: the ratio is the
  median of the pairs' ratios (the machine's speed drifts between runs), with the best of
  each beside it. Also shown (best of 5): the load alone, and a ledger made anew from the
  records with its summaries (what the ledger costs on its own);
- a first load: raw and ours once each in a fresh process (5 pairs), as a command reads its
  workbook: every cache empty (the figure above is of loads after the first);
- pandas: ``pandas.read_excel(engine="openpyxl")`` of the same sheets (1 run).

Prints the ratios (targets: ours <= 1.5x raw, >= 8x faster than pandas) and the peak RSS of
our load, measured in a child process (target <= 400 MB).

    python bench/read.py [--skip-pandas] [--shared-strings]

``--shared-strings``: the same workbook with its texts in a shared-strings table, as Excel and
xlsxwriter save by default (bench/.cache/bench-v1-shared.xlsx); without it, inline strings.
"""

from __future__ import annotations

import datetime as dt
import gc
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT.parent) not in sys.path:
    sys.path.insert(0, str(ROOT.parent))

from bench.data import bench_workbook  # noqa: E402

AS_OF = dt.date(2026, 3, 31)
RUNS = 5  # best of: on a shared 2-core machine, one run in three is slowed by other work


def sheets_read(path: Path) -> list[str]:
    """The workbook's names of the sheets our reader reads."""
    from python_calamine import CalamineWorkbook

    from addin.workbook import reader, schema

    wanted = {s.key for s in reader.READ}
    with CalamineWorkbook.from_path(str(path)) as wb:
        return [n for n in wb.sheet_names if schema.normalize(n) in wanted]


def raw_parse(path: Path, names: list[str]) -> list[object]:
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as wb:
        return [wb.get_sheet_by_name(n).to_python() for n in names]


def our_load(path: Path) -> tuple[object, object]:
    from addin.workbook.reader import load

    return load(path), None


def ledger(book) -> object:
    """Every customer's summary as of AS_OF, as the commands get it (the reader made the ledger)."""
    from addin.ledger import Ledger

    return Ledger.from_book(book).summaries(AS_OF)


def fresh_ledger(book) -> object:
    """The same from a ledger made anew (its columns too): what the ledger costs on its own."""
    from addin.ledger import Ledger

    return Ledger(book.invoices, book.payments).summaries(AS_OF)


def pandas_read(path: Path, names: list[str]) -> object:
    import pandas as pd

    return pd.read_excel(path, sheet_name=names, engine="openpyxl")


def forget_ledgers() -> None:
    """Let go the ledgers kept by ``Ledger.from_book`` (the last two books'), before the clock
    starts: a command loads one book, and freeing the books of earlier runs is not its cost."""
    from addin.ledger import _MADE

    _MADE.clear()


def best_of(runs: int, work) -> tuple[float, object]:
    """Best wall time of ``runs`` calls; the result is kept alive while timing (no teardown timed)."""
    best = float("inf")
    result = None
    for _ in range(runs):
        result = None
        forget_ledgers()
        gc.collect()
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def peak_rss_mb(path: Path) -> float | None:
    """Peak RSS of a child process doing our full load (None where ``resource`` is missing).

    Run before this process holds anything big: a forked child briefly counts its parent's pages.
    """
    try:
        import resource
    except ImportError:  # Windows
        return None
    subprocess.run([sys.executable, __file__, "--child", str(path)], check=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def first_load(which: str, path: Path, names: list[str]) -> float:
    """Seconds of one ``which`` ("raw" or "ours") in a fresh process, its modules imported
    before the clock starts: a command reads its workbook once, with every cache empty."""
    done = subprocess.run([sys.executable, __file__, "--first", which, str(path), *names],
                          check=True, capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        book, _ = our_load(Path(argv[1]))
        ledger(book)
        return
    if argv[:1] == ["--first"]:
        import numpy  # noqa: F401 - imported before the clock, as the add-in's modules are
        import python_calamine  # noqa: F401

        import addin.ledger
        import addin.workbook.reader  # noqa: F401

        which, path, names = argv[1], Path(argv[2]), argv[3:]
        started = time.perf_counter()
        if which == "raw":
            raw_parse(path, names)
        else:
            ledger(our_load(path)[0])
        print(time.perf_counter() - started)
        return
    path = bench_workbook(shared_strings="--shared-strings" in argv)
    names = sheets_read(path)
    print(f"workbook: {path} ({path.stat().st_size / 1e6:.1f} MB), sheets: {', '.join(names)}")
    rss = peak_rss_mb(path)

    # raw and ours in turn, pair by pair: the machine's speed drifts between runs (a shared
    # 2-core machine: +-25 %), and a ratio taken within a pair keeps its meaning
    pairs = [(best_of(1, lambda: raw_parse(path, names))[0], best_of(1, lambda: ledger(our_load(path)[0]))[0])
             for _ in range(RUNS)]
    raw_s, full_s = min(r for r, _ in pairs), min(f for _, f in pairs)
    ratios = sorted(f / r for r, f in pairs)
    load_s, book = best_of(RUNS, lambda: our_load(path)[0])
    ledger_s, _ = best_of(RUNS, lambda: fresh_ledger(book))
    print(f"raw calamine parse          {raw_s:7.3f} s")
    print(f"ours: load                  {load_s:7.3f} s   {load_s / raw_s:5.2f}x raw")
    print(f"  (a ledger made anew       {ledger_s:7.3f} s   {ledger_s / raw_s:5.2f}x raw)")
    print(f"ours: load + ledger         {full_s:7.3f} s   {full_s / raw_s:5.2f}x raw (best of each)")
    print(f"  pair by pair: median {statistics.median(ratios):.2f}x raw (target <= 1.5x); "
          f"pairs {', '.join(f'{r:.2f}' for r in ratios)}")
    firsts = [(first_load("raw", path, names), first_load("ours", path, names)) for _ in range(RUNS)]
    print(f"  a first load, each in a fresh process: median {statistics.median(o for _, o in firsts):.3f} s, "
          f"median of pairs {statistics.median(o / r for r, o in firsts):.2f}x raw "
          f"(pairs {', '.join(f'{o / r:.2f}' for r, o in sorted(firsts, key=lambda p: p[1] / p[0]))})")
    counts = ", ".join(f"{len(getattr(book, k))} {k}" for k in ("customers", "invoices", "payments"))
    print(f"  read {counts}; {len(book.problems)} problems ({len(book.errors)} errors)")

    if "--skip-pandas" not in argv:
        pandas_s, _ = best_of(1, lambda: pandas_read(path, names))
        print(f"pandas + openpyxl           {pandas_s:7.3f} s   ours is {pandas_s / full_s:5.1f}x faster "
              "(target >= 8x)")
    if rss is not None:
        print(f"peak RSS of our load+ledger {rss:7.0f} MB  (target <= 400 MB)")


if __name__ == "__main__":
    main(sys.argv[1:])

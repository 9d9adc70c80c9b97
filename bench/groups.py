"""Rebuilding 50 groups over the benchmark workbook, against its load time in the same run.

Target: the build (every group, frozen ones named) takes at most 0.5× the load time. The
ledger figures of all customers are computed once per build in one pass over the books
(groups.summaries_of), then each rule is one pass over a cached column. Run ``python bench/groups.py``.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT.parent) not in sys.path:
    sys.path.insert(0, str(ROOT.parent))

from addin.groups import build  # noqa: E402
from addin.ledger import Ledger  # noqa: E402
from addin.workbook.reader import load  # noqa: E402
from bench.data import bench_workbook  # noqa: E402

AS_OF = dt.date(2026, 4, 15)
TARGET = 0.5


def main(repeat: int = 3) -> int:
    path = bench_workbook()
    loads, builds = [], []
    plan = None
    for _ in range(repeat):
        start = time.perf_counter()
        book = load(path)
        loads.append(time.perf_counter() - start)
        start = time.perf_counter()
        plan = build(book, None, AS_OF, names=[g.name for g in book.groups], now=dt.datetime(2026, 4, 15, 8))
        builds.append(time.perf_counter() - start)
    assert plan is not None
    load_s, build_s = min(loads), min(builds)
    ratio = build_s / load_s
    rows = sum(len(u.rows) for u in plan.updates if hasattr(u, "rows"))
    print(f"customers: {len(book.customers)}  invoices: {len(book.invoices)}  groups: {len(book.groups)}"
          f"  rule rows written: {rows}  problems: {len(plan.problems)}")
    start = time.perf_counter()
    Ledger(book.invoices, book.payments).summaries(AS_OF, [c.id for c in book.customers])
    naive = time.perf_counter() - start
    print(f"load {load_s:.3f}s (the reader makes the ledger)  build 50 groups (all ledger figures included) "
          f"{build_s:.3f}s  [for scale: a ledger made anew + 5,000 Ledger.summary() {naive:.3f}s]")
    print(f"ratio build / load = {ratio:.3f}  (target <= {TARGET}) {'OK' if ratio <= TARGET else 'TOO SLOW'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: `receivables refresh` on the 100,000-invoice workbook against openpyxl load + save.

The benchmark workbook (bench/data.py) plus the template's Dashboard sheet (labels, formats,
charts; added once with openpyxl and cached) is refreshed three ways, each in its own
subprocess so that its peak RSS (``ru_maxrss``) is its own:

- ours, first refresh: every add-in cell is written (Paid, Balance, Status of 100,000 invoices,
  Balance and Overdue of 5,000 customers, the Dashboard) — the whole ``dashboard.refresh``:
  read, ledger, journal, guarded write (temp copy, verify, backup, atomic replace).
- ours, next day: the refreshed workbook one day later (only changed cells are written).
- openpyxl: load_workbook, set the cells of the first refresh, save (the cell values are
  computed before the clock starts, so openpyxl is timed for load + set + save only).

    python bench/refresh.py [--no-openpyxl] [--repeat N]

The machine's speed moves between runs (a shared 2-core build machine: ±25 %), so each side
runs ``--repeat`` times, interleaved; printed are the best of each compared, and the median of
the ratios taken run by run (each openpyxl run against the refresh just before it). The add-in's modules
are compiled to bytecode first, as an installed package's are (pip compiles them; this
machine sets PYTHONDONTWRITEBYTECODE, which would otherwise have every run of ours compile
17,000 lines again, ~0.25 s, while openpyxl and numpy come compiled from site-packages).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

AS_OF = dt.date(2026, 3, 31)
VERSION = 1

CHILD = r"""
import datetime as dt, json, resource, sys, time
from pathlib import Path
mode, path, day = sys.argv[1], Path(sys.argv[2]), dt.date.fromisoformat(sys.argv[3])
out = {}
if mode == "openpyxl":
    from addin.actions import SetAt, SetColumn
    from addin.dashboard import plan_refresh
    from addin.ledger import Ledger
    from addin.workbook.reader import load
    book = load(path)
    plan = plan_refresh(book, Ledger.from_book(book), day, 0)
    t = time.perf_counter()
    import openpyxl
    wb = openpyxl.load_workbook(path)
    for u in plan.derived:
        if isinstance(u, SetAt):
            for ref, value in u.cells:
                wb[u.sheet][ref] = value
    for sheet in ("Customers", "Invoices"):
        ws = wb[sheet]
        head = {c.value: c.column for c in ws[1]}
        rows = {}
        for r, key in enumerate(ws.iter_rows(min_row=2, max_col=1, values_only=True), 2):
            rows.setdefault(str(key[0]).casefold(), r)
        for u in plan.derived:
            if isinstance(u, SetColumn) and u.sheet == sheet:
                col = head[u.header]
                for key, value in zip(u.keys, u.values):
                    ws.cell(rows[key.casefold()], col).value = value
    wb.save(path)
    out["cells"] = sum(len(u.values) if isinstance(u, SetColumn) else len(u.cells) for u in plan.derived)
else:
    t = time.perf_counter()
    from addin.dashboard import refresh
    out["lines"] = refresh(path, day)
out["seconds"] = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out["rss_mb"] = rss / (1 << 20) if sys.platform == "darwin" else rss / 1024
print(json.dumps(out))
"""


def run(mode: str, path: Path, day: dt.date) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), day.isoformat()], cwd=ROOT.parent,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def workbook_with_dashboard() -> Path:
    """bench_workbook() plus the template's Dashboard sheet, cached (openpyxl, once: about a minute).

    Made in a child process: on Linux a process's peak RSS (``ru_maxrss``) starts at its
    parent's, so openpyxl's ~500 MB here would show as every later run's peak.
    """
    from data import CACHE

    path = CACHE / f"refresh-v{VERSION}.xlsx"
    if not path.exists():
        print("adding the Dashboard to the benchmark workbook (once)…", flush=True)
        subprocess.run([sys.executable, __file__, "--add-dashboard", str(path)], check=True)
    return path


def add_dashboard(path: Path) -> None:
    import openpyxl
    from data import bench_workbook

    from addin.workbook import template
    from addin.workbook.schema import DASHBOARD

    wb = openpyxl.load_workbook(bench_workbook())
    template._dashboard(wb.create_sheet(DASHBOARD.name), "en")
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=path.parent)
    os.close(fd)
    wb.save(tmp)
    os.replace(tmp, path)


def main() -> None:
    if sys.argv[1:2] == ["--add-dashboard"]:
        add_dashboard(Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-openpyxl", action="store_true", help="skip the (slow) openpyxl side")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each side, interleaved; the best of each is compared (default 3)")
    args = parser.parse_args()
    src = workbook_with_dashboard()
    import compileall

    compileall.compile_dir(ROOT.parent / "addin", quiet=1)  # as installed: see the docstring
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for k in range(args.repeat):
            ours = folder / f"ours{k}" / "bench.xlsx"
            ours.parent.mkdir()
            shutil.copyfile(src, ours)
            runs.setdefault("first", []).append(run("ours", ours, AS_OF))
            runs.setdefault("again", []).append(run("ours", ours, AS_OF))
            runs.setdefault("next", []).append(run("ours", ours, AS_OF + dt.timedelta(days=1)))
            if not args.no_openpyxl:
                other = folder / f"openpyxl{k}" / "bench.xlsx"
                other.parent.mkdir()
                shutil.copyfile(src, other)
                runs.setdefault("openpyxl", []).append(run("openpyxl", other, AS_OF))
    results = {key: min(found, key=lambda r: r["seconds"]) for key, found in runs.items()}
    print(f"workbook: {src.name}, 100,000 invoices, 5,000 customers, {src.stat().st_size / 1e6:.1f} MB; "
          f"as of {AS_OF.isoformat()}; best of {args.repeat} runs of each, interleaved")
    labels = {"first": "ours, first refresh", "again": "ours, same day again", "next": "ours, next day",
              "openpyxl": "openpyxl load+set+save"}
    for key, label in labels.items():
        if key in results:
            r = results[key]
            detail = "; ".join(r.get("lines", [])[:3]) or f"{r.get('cells', 0):,} cells"
            every = ", ".join(f"{x['seconds']:.2f}" for x in runs[key])
            print(f"{label:24} {r['seconds']:7.2f} s   peak RSS {r['rss_mb']:5.0f} MB   (runs: {every})   {detail}")
    if "openpyxl" in results:
        base = results["openpyxl"]["seconds"]
        for key, target in (("first", "target >= 8x"), ("again", ""), ("next", "")):
            pairs = sorted(o["seconds"] / r["seconds"] for o, r in zip(runs["openpyxl"], runs[key], strict=True))
            print(f"ratio openpyxl / {labels[key]:22} {base / results[key]['seconds']:5.1f}x best of each; "
                  f"pair by pair: median {statistics.median(pairs):.1f}x ({', '.join(f'{p:.1f}' for p in pairs)})"
                  + (f"  ({target})" if target else ""))


if __name__ == "__main__":
    main()

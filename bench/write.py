"""Benchmark: write 500 Invoice Status cells into the 100,000-invoice workbook.

Ours (``addin.workbook.writer.apply`` alone, and the whole guarded ``store.write_updates``:
journal, write, verify with calamine, backup, atomic replace) against openpyxl load + change +
save of the same cells, in the same run. Each side runs in its own subprocess so its peak RSS
(``ru_maxrss``) is its own. Prints seconds, peak RSS and the ratio.

    python bench/write.py [--cells 500] [--no-openpyxl] [--shared-strings]

``--shared-strings`` runs on the same workbook with its texts in a shared-strings table, as
Excel and xlsxwriter save by default (bench/.cache/bench-v1-shared.xlsx).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

STATUS = "Reminder 1 sent 2026-04-07"

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, path, keys = sys.argv[1], Path(sys.argv[2]), json.loads(Path(sys.argv[3]).read_text())
STATUS = "Reminder 1 sent 2026-04-07"
t = time.perf_counter()
if mode == "openpyxl":
    import openpyxl
    wb = openpyxl.load_workbook(path)
    ws = wb["Invoices"]
    wanted = set(keys)
    head = [c.value for c in ws[1]]
    key_col, status_col = head.index("Invoice No") + 1, head.index("Status") + 1
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, key_col).value in wanted:
            ws.cell(r, status_col).value = STATUS
    wb.save(path.with_name("openpyxl.xlsx"))
else:
    from addin.actions import SetCells
    updates = [SetCells("Invoices", "Invoice No", k, (("Status", STATUS),)) for k in keys]
    if mode == "apply":
        from addin.workbook.writer import apply
        report = apply(path, path.with_name("applied.xlsx"), updates)
        assert len(report.changed["Invoices"]) == len(keys), report.problems[:3]
    else:
        from addin.journal import Journal
        from addin.workbook import store
        with Journal.open(path) as journal:
            result = store.write_updates(path, updates, journal)
        assert result.written, result.problems
seconds = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rss_mb = rss / (1 << 20) if sys.platform == "darwin" else rss / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss_mb}))
"""


def run(mode: str, path: Path, keys_file: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), str(keys_file)], cwd=ROOT.parent,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--no-openpyxl", action="store_true", help="skip the (slow) openpyxl side")
    parser.add_argument("--shared-strings", action="store_true",
                        help="the workbook with shared strings, as Excel saves it (default: inline strings)")
    args = parser.parse_args()

    from data import bench_workbook
    from python_calamine import CalamineWorkbook

    src = bench_workbook(shared_strings=args.shared_strings)
    with CalamineWorkbook.from_path(str(src)) as wb:
        numbers = [r[0] for r in wb.get_sheet_by_name("Invoices").iter_rows()][1:]
    step = max(1, len(numbers) // args.cells)
    keys = [str(k) for k in numbers[::step][:args.cells]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        keys_file = folder / "keys.json"
        keys_file.write_text(json.dumps(keys))
        results = {}
        for mode in ("apply", "store", *(() if args.no_openpyxl else ("openpyxl",))):
            path = folder / mode / "bench.xlsx"
            path.parent.mkdir()
            shutil.copyfile(src, path)
            results[mode] = run(mode, path, keys_file)
        size = src.stat().st_size / 1e6
    texts = "shared strings" if args.shared_strings else "inline strings"
    print(f"workbook: {src.name} ({texts}), {len(numbers):,} invoices, {size:.1f} MB; {len(keys)} Status cells")
    for mode, label in (("apply", "ours, writer.apply"), ("store", "ours, store.write_updates"),
                        ("openpyxl", "openpyxl load+save")):
        if mode in results:
            r = results[mode]
            print(f"{label:28} {r['seconds']:7.2f} s   peak RSS {r['rss_mb']:6.0f} MB")
    if "openpyxl" in results:
        base = results["openpyxl"]["seconds"]
        print(f"ratio openpyxl / writer.apply:        {base / results['apply']['seconds']:5.1f}x (target >= 10x)")
        print(f"ratio openpyxl / store.write_updates: {base / results['store']['seconds']:5.1f}x")
    print(f"peak RSS of store.write_updates: {results['store']['rss_mb']:.0f} MB (target <= 400 MB)")


if __name__ == "__main__":
    main()

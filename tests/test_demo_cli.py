"""`receivables demo`: the newcomer's first command runs every capability on the demo day."""

import subprocess
import sys


def demo(*args):
    return subprocess.run([sys.executable, "-m", "addin", "demo", *args], capture_output=True, text=True, timeout=300)


def test_demo_runs_everything_and_leaves_files_to_look_at(tmp_path):
    folder = tmp_path / "demo"
    done = demo(str(folder))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert "$ receivables reminders run" in done.stdout
    assert "No automatic reminder is due on 2026-06-10." in done.stdout  # the second run sends nothing
    names = [p.name for p in (folder / "outbox").glob("*.eml")]
    assert sum("-reminders-" in n for n in names) == 11  # 14 invoices: one message per customer
    assert sum("-group-CA-mid-balance-" in n for n in names) == 5
    assert sum("-statement-" in n for n in names) == 1
    assert sorted(p.suffix for p in (folder / "statements").iterdir()) == [".csv", ".pdf"]
    assert [p.suffix for p in (folder / "reports").iterdir()] == [".pdf"]
    assert (folder / "ca-mid-balance.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_demo_replaces_an_earlier_demo_but_refuses_any_other_folder(tmp_path):
    mine = tmp_path / "books"
    mine.mkdir()
    (mine / "accounts.xlsx").write_bytes(b"precious")
    refused = demo(str(mine))
    assert refused.returncode == 2
    assert "is not empty and is not a demo folder" in refused.stderr
    assert (mine / "accounts.xlsx").read_bytes() == b"precious"

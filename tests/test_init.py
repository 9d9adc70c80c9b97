"""`receivables init`: a new workbook from the template, never over an existing file by accident."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from addin.cli import main
from addin.workbook import schema


def settings_of(path: Path) -> dict:
    ws = load_workbook(path)[schema.SETTINGS_SHEET.name]
    return {row[0]: row[1] for row in ws.iter_rows(min_row=2, values_only=True)}


def test_init_writes_the_template_and_says_what_to_do_next(tmp_path: Path, capsys) -> None:
    path = tmp_path / "books.xlsx"
    assert main(["init", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Wrote a new workbook {path} (language en)." in out
    assert f"receivables check {path}" in out
    book = load_workbook(path)
    assert book.sheetnames[0] == schema.START_HERE
    assert schema.INVOICES.name in book.sheetnames
    assert book[schema.CUSTOMERS.name].max_row <= 2  # no records
    assert settings_of(path)["language"] == "en"


def test_init_refuses_to_overwrite_an_existing_file(tmp_path: Path, capsys) -> None:
    path = tmp_path / "books.xlsx"
    path.write_bytes(b"my precious books")
    assert main(["init", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {path}: already exists; nothing was written — choose another name, "
                   f"or add --force to replace it\n")
    assert path.read_bytes() == b"my precious books"


def test_init_force_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "books.xlsx"
    path.write_bytes(b"old")
    assert main(["init", str(path), "--force"]) == 0
    assert schema.SETTINGS_SHEET.name in load_workbook(path).sheetnames
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file is gone


def test_init_language_fr_sets_settings_language_fr(tmp_path: Path) -> None:
    path = tmp_path / "livres.xlsx"
    assert main(["init", str(path), "--language", "fr"]) == 0
    assert settings_of(path)["language"] == "fr"
    assert load_workbook(path)[schema.START_HERE]["A1"].value == "Comptes clients — commencez ici"


def test_init_demo_writes_sample_data_and_the_demo_day(tmp_path: Path, capsys) -> None:
    path = tmp_path / "demo.xlsx"
    assert main(["init", str(path), "--demo"]) == 0
    out = capsys.readouterr().out
    assert "demo day 2026-06-10" in out
    assert f"receivables reminders due {path} --as-of 2026-06-10" in out
    assert load_workbook(path)[schema.CUSTOMERS.name].max_row > 40
    assert settings_of(path)["reminders_enabled"] is True


@pytest.mark.parametrize(("name", "message"), [
    ("books.csv", "a workbook name must end in .xlsx — e.g. receivables init "),
    ("missing/books.xlsx", "no such folder — create it first, or choose another path"),
])
def test_init_rejects_unusable_paths(tmp_path: Path, capsys, name: str, message: str) -> None:
    assert main(["init", str(tmp_path / name)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / name).exists()


def test_init_rejects_an_unknown_language(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["init", str(tmp_path / "x.xlsx"), "--language", "de"])
    assert exc.value.code == 2


def test_init_as_a_real_command_and_help_stays_light(tmp_path: Path) -> None:
    path = tmp_path / "my books.xlsx"
    done = subprocess.run([sys.executable, "-m", "addin", "init", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f'receivables check "{path}"' in done.stdout
    again = subprocess.run([sys.executable, "-m", "addin", "init", str(path)], capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr
    probe = ("import sys; from addin.cli import build_parser; build_parser(); "
             "print(sorted(m for m in ('openpyxl', 'addin.workbook.template', 'addin.demo_data') if m in sys.modules))")
    light = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert light.stdout.strip() == "[]", light.stderr

"""docs/workbook.md: generated from the schema, committed, describing every sheet and column."""

from __future__ import annotations

from pathlib import Path

from addin.workbook import schema
from addin.workbook.docs import DOCS, workbook_markdown, write_docs

ROOT = Path(__file__).resolve().parents[1]


def test_the_committed_docs_are_what_the_schema_makes_now():
    assert DOCS == ROOT / "docs" / "workbook.md"
    assert DOCS.read_text(encoding="utf-8") == workbook_markdown(), (
        "docs/workbook.md is stale: run `python -m addin.workbook.docs`")


def test_every_sheet_column_and_setting_is_described():
    text = workbook_markdown()
    for sheet in (*schema.SHEETS, schema.DASHBOARD):
        assert f"\n## {sheet.name}\n" in text
        for col in sheet.columns:
            assert f"| **{col.header}** | yes |" in text if col.required else f"| {col.header} |  |" in text
    for setting in schema.SETTINGS:
        assert f"| `{setting.key}` |" in text


def test_a_row_says_required_writer_kind_default_choices_and_note():
    text = workbook_markdown()
    assert "| **Status** | yes | you | one of a list |  | `Active`, `Inactive` |  |" in text
    assert "| Balance |  | add-in | money |  |  | Written by the add-in |" in text
    assert "| Auto Update |  | you | TRUE/FALSE | TRUE | `TRUE`, `FALSE` |  |" in text
    assert "| `smtp_port` | whole number | `587` |  |  |" in text
    assert "| Time |  | add-in | date and time |  |  |  |" in text  # the Log sheet is the add-in's


def test_write_docs_writes_the_markdown(tmp_path: Path):
    path = write_docs(tmp_path / "workbook.md")
    assert path.read_text(encoding="utf-8") == workbook_markdown()

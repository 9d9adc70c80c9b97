"""docs/workbook.md, generated from the schema: ``workbook_markdown()`` and ``write_docs()``.

Every sheet, column and Settings key, with whether it is required, written by the add-in, its
kind, default and allowed values, comes from addin/workbook/schema.py; only the one-line words
for people about each sheet live here. ``python -m addin.workbook.docs`` rewrites
docs/workbook.md at the repository root; a test proves the committed file is what this makes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import schema
from .schema import Column, Kind, Sheet

DOCS = Path(__file__).resolve().parents[2] / "docs" / "workbook.md"

KIND_WORDS = {
    Kind.TEXT: "text",
    Kind.DATE: "date",
    Kind.MONEY: "money",
    Kind.BOOL: "TRUE/FALSE",
    Kind.INT: "whole number",
    Kind.NUMBER: "number",
    Kind.CHOICE: "one of a list",
    Kind.EMAILS: "email addresses (`;` or `,` between)",
    Kind.DATETIME: "date and time",
}

SHEET_WORDS = {
    "settings": "One row per setting: the key, its value, and a description for people.",
    "customers": "One row per customer.",
    "invoices": "One row per invoice.",
    "payments": "One row per payment or credit note; a payment split across invoices is several rows with one "
                "Payment ID.",
    "groups": "One row per group of customers (or vendors).",
    "group rules": "The rules of each group: all the rules of a group must hold. Field is a Customers header or a "
                   "computed field (" + ", ".join(f"`{f}`" for f in schema.COMPUTED_FIELDS) + ").",
    "group members": "Rule rows are written by the add-in at each build; Added and Removed rows are yours and "
                     "never touched.",
    "reminders": "Up to three automatic reminders; blank texts use the built-in wording in the customer's "
                 "language. Texts may use placeholders.",
    "statement schedules": "Monthly statements for a customer or a group.",
    "users": "Who may do what; an empty sheet means everyone is Admin.",
    "vendors": "Vendors, for vendor groups (Kind Vendor).",
    "log": "What the add-in did: appended, never rewritten.",
}


def workbook_markdown() -> str:
    """The whole of docs/workbook.md."""
    lines = [
        "# The workbook",
        "",
        "<!-- Generated from addin/workbook/schema.py by `python -m addin.workbook.docs`: do not edit by hand. -->",
        "",
        "Every sheet the add-in reads, in the template's order. Sheet names and headers are matched "
        "ignoring case and surrounding spaces; columns may be in any order and extra columns are left alone. "
        "Headers in row 1, records from row 2. A sheet without a required column's header (in bold) cannot "
        "be read. Columns written by the add-in have a grey header in the template: do not type in them.",
        "",
    ]
    for sheet in schema.SHEETS:
        lines.extend(_sheet(sheet))
        if sheet is schema.SETTINGS_SHEET:
            lines.extend(_settings())
    lines.extend([
        f"## {schema.DASHBOARD.name}",
        "",
        "Written by the add-in: key figures, the ageing table and the top overdue customers, with charts "
        "that read those cells.",
        "",
    ])
    return "\n".join(lines)


def _sheet(sheet: Sheet) -> list[str]:
    status = ("required" if sheet.required else "optional: a missing sheet counts as empty") + (
        "; written by the add-in" if sheet.addin else "")
    words = sheet.note or SHEET_WORDS.get(sheet.key, "")
    lines = [f"## {sheet.name}", "", f"{words} *Sheet {status}.*".strip(), "",
             "| Column | Required | Written by | Kind | Default | Allowed values | Notes |",
             "|---|---|---|---|---|---|---|"]
    lines.extend(_row(col, sheet.addin) for col in sheet.columns)
    lines.append("")
    return lines


def _row(col: Column, addin_sheet: bool) -> str:
    cells = (f"**{col.header}**" if col.required else col.header, "yes" if col.required else "",
             "add-in" if col.addin or addin_sheet else "you", KIND_WORDS[col.kind],
             _value(col.default), _choices(col.choices), col.note)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _settings() -> list[str]:
    own_blank = ", ".join(f"`{s.key}`" for s in schema.SETTINGS if s.blank is not None)
    lines = ["### Settings keys", "",
             "A key absent from the sheet, or with a blank Value, takes its default"
             + (f" (except {own_blank}: see its description for what blank means)." if own_blank else "."), "",
             "| Key | Kind | Default | Allowed values | Description |", "|---|---|---|---|---|"]
    for s in schema.SETTINGS:
        cells = (f"`{s.key}`", KIND_WORDS[s.kind], _value(s.default), _choices(s.choices), s.description)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines.append("")
    return lines


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return f"`{value}`"


def _choices(choices: tuple[str, ...]) -> str:
    return ", ".join(f"`{c}`" for c in choices)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def write_docs(path: Path = DOCS) -> Path:
    path.write_text(workbook_markdown(), encoding="utf-8", newline="\n")
    return path


if __name__ == "__main__":  # pragma: no cover - a maintenance script
    print(write_docs(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS))

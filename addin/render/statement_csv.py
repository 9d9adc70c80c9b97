"""A statement as CSV bytes: one row per line, UTF-8 with BOM, ISO dates, plain numbers.

Headers and line types are in English whatever the customer's language: a CSV is for importing
into a spreadsheet or another program, which wants stable column names. Text cells that Excel
could run as a formula are neutralised by addin.render.csvsafe.
"""

from __future__ import annotations

from .. import statements as st
from ..statements import Statement
from .csvsafe import write_csv

KIND = {st.INVOICE: "Invoice", st.PAYMENT: "Payment", st.CREDIT_NOTE: "Credit Note", st.CREDIT: "Credit",
        st.OPENING: "Opening Balance", st.CLOSING: "Closing Balance"}

OUTSTANDING_HEADERS = ("Date", "Type", "Number", "Due Date", "Amount", "Paid", "Balance Due", "Reference")
ACTIVITY_HEADERS = ("Date", "Type", "Number", "Reference", "Due Date", "Amount", "Balance")


def rows(statement: Statement) -> list[tuple[object, ...]]:
    """The CSV table, headers first (Activity: opening-balance row first, closing-balance row last)."""
    if statement.type == st.ACTIVITY:
        out: list[tuple[object, ...]] = [ACTIVITY_HEADERS]
        for line in statement.rows():
            amount = None if line.kind in (st.OPENING, st.CLOSING) else line.amount
            out.append((line.date, KIND[line.kind], line.number, line.reference, line.due_date, amount,
                        line.balance))
        return out
    out = [OUTSTANDING_HEADERS]
    for line in statement.lines:
        out.append((line.date, KIND[line.kind], line.number, line.due_date, line.amount, line.paid,
                    line.balance, line.reference))
    return out


def render(statement: Statement) -> bytes:
    """The statement as CSV bytes."""
    return write_csv(rows(statement))

"""Where each figure lives on the Dashboard sheet: the one contract between template and refresh.

The template writes the labels, number formats and the native charts; the refresh writes values
into the cells named here (through the surgical writer) and never touches the charts, which read
these cells. Moving a cell here means regenerating the template. Pure constants and one pure
helper; no openpyxl.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
DAYS_FORMAT = "0.0"
COUNT_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"

TITLE = "A1"
AS_OF_LABEL = "A2"
AS_OF = "B2"  # the date the figures are computed for


@dataclass(frozen=True)
class Figure:
    """One key figure: its label in column A, its value in ``cell``.

    Attributes:
      key: the name the refresh uses (``total_receivable``).
      cell: where the value goes (``B5``).
      number_format: Excel format of the value cell.
      en / fr: the label.
      labelled_by_refresh: the refresh writes the label too (a figure added after workbooks were
        made from an older template, whose Dashboard lacks the label).
    """

    key: str
    cell: str
    number_format: str
    en: str
    fr: str
    labelled_by_refresh: bool = False

    @property
    def label_cell(self) -> str:
        return "A" + self.cell[1:]


FIGURES_TITLE = "A4"
FIGURES: tuple[Figure, ...] = (
    Figure("total_receivable", "B5", MONEY_FORMAT, "Total receivable", "Total à recevoir"),
    Figure("overdue", "B6", MONEY_FORMAT, "Overdue", "En retard"),
    Figure("percent_overdue", "B7", PERCENT_FORMAT, "% overdue", "% en retard"),
    Figure("dso_90", "B8", DAYS_FORMAT, "DSO (90 days)", "DSO (90 jours)"),
    Figure("reminders_sent_30", "B9", COUNT_FORMAT, "Reminders sent (30 days)", "Relances envoyées (30 jours)"),
    Figure("customers_on_hold", "B10", COUNT_FORMAT, "Customers on hold", "Clients en attente"),
    Figure("invoices_reminded_30", "B11", COUNT_FORMAT, "Invoices reminded (30 days)", "Factures relancées (30 jours)",
           labelled_by_refresh=True),
)
FIGURES_BY_KEY = {f.key: f for f in FIGURES}

# Ageing table: a header row, one row per bucket (ledger.BUCKETS order), then a total row.
AGEING_TITLE = "A12"
AGEING_HEADER_ROW = 13
AGEING_FIRST_ROW = 14
BUCKET_LABELS_EN = ("Current", "1–30", "31–60", "61–90", "91+")
BUCKET_LABELS_FR = ("À échoir", "1–30", "31–60", "61–90", "91+")
AGEING_LABEL_COL, AGEING_AMOUNT_COL, AGEING_PERCENT_COL = "A", "B", "C"
AGEING_LAST_ROW = AGEING_FIRST_ROW + len(BUCKET_LABELS_EN) - 1  # 18
AGEING_TOTAL_ROW = AGEING_LAST_ROW + 1  # 19
AGEING_HEADERS_EN = ("Ageing bucket", "Amount", "% of total")
AGEING_HEADERS_FR = ("Tranche d'âge", "Montant", "% du total")

# Top overdue customers: a header row then TOP_COUNT rows, largest overdue balance first.
TOP_TITLE = "A21"
TOP_HEADER_ROW = 22
TOP_FIRST_ROW = 23
TOP_COUNT = 10
TOP_LAST_ROW = TOP_FIRST_ROW + TOP_COUNT - 1  # 32
TOP_ID_COL, TOP_NAME_COL, TOP_OVERDUE_COL, TOP_DAYS_COL = "A", "B", "C", "D"
TOP_HEADERS_EN = ("Customer ID", "Name", "Overdue", "Days overdue")
TOP_HEADERS_FR = ("N° client", "Nom", "En retard", "Jours de retard")
TOP_FORMATS = ("@", "@", MONEY_FORMAT, COUNT_FORMAT)

COLUMN_WIDTHS = {"A": 30, "B": 34, "C": 14, "D": 14, "E": 3}

# Native charts (anchored top-left cell, size in cm); they read the cells above.
AGEING_CHART_ANCHOR = "F2"
TOP_CHART_ANCHOR = "F21"
CHART_WIDTH_CM, CHART_HEIGHT_CM = 17.0, 8.5

TEXTS = {
    "en": {
        "title": "Receivables dashboard",
        "as_of": "As of",
        "figures": "Key figures",
        "ageing": "Ageing",
        "top": "Top 10 overdue customers",
        "total": "Total",
        "ageing_chart": "Receivables by age",
        "top_chart": "Top 10 overdue customers",
        "amount_axis": "Amount",
    },
    "fr": {
        "title": "Tableau de bord des comptes clients",
        "as_of": "Au",
        "figures": "Chiffres clés",
        "ageing": "Ancienneté",
        "top": "Les 10 clients les plus en retard",
        "total": "Total",
        "ageing_chart": "Comptes clients par ancienneté",
        "top_chart": "Les 10 clients les plus en retard",
        "amount_axis": "Montant",
    },
}


def bucket_cells(index: int) -> tuple[str, str]:
    """(amount cell, percent cell) of ageing bucket ``index`` (0 = Current)."""
    row = AGEING_FIRST_ROW + index
    return f"{AGEING_AMOUNT_COL}{row}", f"{AGEING_PERCENT_COL}{row}"


def top_cells(index: int) -> tuple[str, str, str, str]:
    """(ID, name, overdue, days) cells of the ``index``-th top overdue customer (0-based)."""
    row = TOP_FIRST_ROW + index
    return tuple(f"{c}{row}" for c in (TOP_ID_COL, TOP_NAME_COL, TOP_OVERDUE_COL, TOP_DAYS_COL))  # type: ignore[return-value]


Value = str | int | float | dt.date | None


def cell_values(
    as_of: dt.date,
    figures: Mapping[str, Decimal | int | float | None],
    ageing: Sequence[Decimal],
    top: Sequence[tuple[str, str, Decimal, int]],
    language: str = "en",
) -> dict[str, Value]:
    """Every Dashboard value cell -> what to write, for the refresh.

    ``figures`` is keyed by Figure.key (percent as a fraction, 0.25 = 25 %); ``ageing`` holds the
    five bucket amounts; ``top`` the (customer ID, name, overdue, days overdue) rows, largest
    first; ``language`` the labels the refresh writes (``Figure.labelled_by_refresh``). Unused top rows and missing figures come back as None so stale values are cleared.
    Money becomes float here, at the edge.
    """
    out: dict[str, Value] = {AS_OF: as_of}
    for f in FIGURES:
        out[f.cell] = _number(figures.get(f.key))
        if f.labelled_by_refresh:
            out[f.label_cell] = f.fr if language == "fr" else f.en
    total = sum(ageing, Decimal(0))
    for i in range(len(BUCKET_LABELS_EN)):
        amount_cell, percent_cell = bucket_cells(i)
        amount = ageing[i] if i < len(ageing) else Decimal(0)
        out[amount_cell] = float(amount)
        out[percent_cell] = float(amount / total) if total else None
    out[f"{AGEING_AMOUNT_COL}{AGEING_TOTAL_ROW}"] = float(total)
    out[f"{AGEING_PERCENT_COL}{AGEING_TOTAL_ROW}"] = 1.0 if total else None
    for i in range(TOP_COUNT):
        cells = top_cells(i)
        if i < len(top):
            cid, name, overdue, days = top[i]
            values: tuple[Value, ...] = (cid, name, float(overdue), int(days))
        else:
            values = (None, None, None, None)
        out.update(zip(cells, values, strict=True))
    return out


def _number(value: Decimal | int | float | None) -> int | float | None:
    if value is None or isinstance(value, int):
        return value
    return float(value)

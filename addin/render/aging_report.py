"""The aged-receivables report as PDF (with a bar chart of the buckets) and CSV. Returns bytes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from ..ledger import BUCKETS
from . import fmt

if TYPE_CHECKING:
    from ..aging import AgingReport
    from ..model import Settings

TEXTS = {
    "en": {"title": "Aged receivables", "as_of": "As of", "group": "Group", "customer": "Customer",
           "total": "Total", "share": "% of total", "current": "Current", "ref": "Reference", "date": "Date",
           "due": "Due", "days": "Days late", "none": "Nobody owes anything on this date.",
           "chart": "Balance by age", "credit": "credit"},
    "fr": {"title": "Comptes clients par ancienneté", "as_of": "Au", "group": "Groupe", "customer": "Client",
           "total": "Total", "share": "% du total", "current": "Courant", "ref": "Référence", "date": "Date",
           "due": "Échéance", "days": "Jours de retard", "none": "Personne ne doit rien à cette date.",
           "chart": "Solde par ancienneté", "credit": "crédit"},
}


def bucket_labels(language: str) -> list[str]:
    t = TEXTS.get(language, TEXTS["en"])
    return [t["current"], *BUCKETS[1:]]


def to_csv(report: AgingReport) -> bytes:
    """Summary rows (and detail rows when the report has them), then a totals row."""
    from .csvsafe import write_csv

    header: list[object] = ["Customer ID", "Customer", "Reference", "Date", "Due Date", "Days Overdue",
                            *bucket_labels("en"), "Total"]
    rows: list[list[object]] = [header]
    for row in report.rows:
        rows.append([row.customer.id, row.customer.name, "", None, None, None, *row.ageing.amounts, row.total])
        for line in row.details:
            buckets: list[object] = [None] * len(BUCKETS)
            buckets[line.bucket] = line.amount
            rows.append([row.customer.id, row.customer.name, line.reference, line.date, line.due_date,
                         line.days_overdue, *buckets, line.amount])
    rows.append(["", "Total", "", None, None, None, *report.totals.amounts, report.totals.total])
    rows.append(["", "% of total", "", None, None, None, *(s * 100 for s in report.shares), Decimal(100)])
    return write_csv(rows)


def to_pdf(report: AgingReport, settings: Settings, base_dir: Path | None = None) -> bytes:
    from .pdf import FAMILY, Column, Company, Document

    language = settings.language if settings.language in TEXTS else "en"
    t = TEXTS[language]
    cur = settings.currency
    doc = Document(Company.from_settings(settings, base_dir), language, title=t["title"])
    facts = [(t["as_of"], fmt.date(report.as_of, language))]
    if report.group:
        facts.append((t["group"], report.group))
    doc.letterhead(t["title"], facts)
    if not report.rows:
        doc.paragraph(t["none"])
        return doc.to_bytes()
    _chart(doc, report, t["chart"], bucket_labels(language), cur, language)
    width = [44.0, 21, 21, 21, 21, 21, 31]
    columns = [Column(t["customer"], width[0])] + [
        Column(label, w, "R") for label, w in zip([*bucket_labels(language), t["total"]], width[1:], strict=True)
    ]
    rows: list[list[str]] = []
    bold: set[int] = set()
    for row in report.rows:
        bold.add(len(rows))
        rows.append([row.customer.name, *(_amount(a, language) for a in row.ageing.amounts),
                     fmt.money(row.total, cur, language)])
        for line in row.details:
            cells = [""] * len(BUCKETS)
            cells[line.bucket] = _amount(line.amount, language)
            label = f"   {line.reference}" + (f" ({t['credit']})" if line.amount < 0 else f" · {line.days_overdue} d")
            rows.append([label, *cells, ""])
    bold.add(len(rows))
    rows.append([t["total"], *(_amount(a, language) for a in report.totals.amounts),
                 fmt.money(report.totals.total, cur, language)])
    rows.append([t["share"], *(fmt.percent(s, language) for s in report.shares), fmt.percent(Decimal(1), language)])
    doc.table(columns, rows, size=7.5, bold_rows=frozenset(bold))
    doc.set_font(FAMILY, "", 7)
    return doc.to_bytes()


def _amount(amount: Decimal, language: str) -> str:
    return fmt.number(amount, language) if amount else ""


def _chart(doc, report: AgingReport, title: str, labels: list[str], cur: str, language: str) -> None:  # noqa: ANN001
    """A bar per bucket, drawn with rectangles: no chart library needed."""
    from .pdf import FAMILY, GREY, INK

    doc.heading(title)
    top = doc.get_y() + 2
    height, bar_w, gap = 38.0, 22.0, 9.0
    amounts = report.totals.amounts
    peak = max((a for a in amounts if a > 0), default=Decimal(1))
    x = doc.l_margin + 4
    base = top + height
    doc.set_draw_color(*GREY)
    doc.line(doc.l_margin, base, doc.l_margin + 5 * (bar_w + gap) + 4, base)
    for i, (label, amount) in enumerate(zip(labels, amounts, strict=True)):
        h = float(max(amount, Decimal(0)) / peak) * (height - 8)
        shade = doc.company.color if i else (150, 190, 150)
        doc.set_fill_color(*shade)
        if h > 0:
            doc.rect(x, base - h, bar_w, h, style="F")
        doc.set_font(FAMILY, "", 7)
        doc.set_text_color(*INK)
        doc.set_xy(x - 4, base - h - 5)
        doc.cell(bar_w + 8, 4, fmt.money(amount, cur, language), align="C")
        doc.set_xy(x - 4, base + 1)
        doc.cell(bar_w + 8, 4, label, align="C")
        x += bar_w + gap
    doc.set_y(base + 9)

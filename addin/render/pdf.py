"""The shared PDF base (fpdf2): branded A4 documents that are fast to make by the thousand.

Use it like this (the invoice PDF and the statement PDF both do)::

    from addin.render.pdf import Column, Company, Document

    doc = Document(Company.from_settings(settings, workbook_dir), language="fr")
    doc.letterhead("FACTURE", [("Date", "15 mars 2026"), ("N°", "INV-001")])
    doc.address_block("Facturé à", ["Société Générale", "12 rue de la Paix", "Paris"])
    doc.table([Column("Date", 25), Column("Montant", 30, "R")], [["15 mars 2026", "1 234,50 $"]])
    doc.totals([("Total", "1 234,50 $")])
    pdf_bytes = doc.to_bytes()

Every page gets the brand-coloured band and "Page N of M" (in the document's language);
the first page the company block (logo, name, address, email, phone). ``running_header``
names what every later page repeats at its top (whose document it is, its date). ``table``
repeats its header on every page it runs onto. A block is never split from its heading:
``heading(text, keep=...)`` starts a new page unless the heading and the first ``keep`` mm of
its block fit (``table_height`` and ``totals_height`` say how tall a block is), and
``totals`` keeps its rows together. The document is an ``fpdf.FPDF``: anything fpdf2 offers
(``cell``, ``multi_cell``, ``set_font("dejavu", "B", 9)``) is there too.

Page breaks are decided with fpdf2's ``will_page_break`` on heights known in advance: fpdf2's
``unbreakable()`` copies the whole document to measure a block and forbids ``get_y()``, which
the fast table needs.

Why it is fast: the DejaVu fonts are parsed ONCE per process (``warm_up()``; a process pool
calls it in each worker) and every document gets a cheap clone of the parsed font that shares
its metrics. At output, fpdf2 subsets the font from a small pre-cut copy (Latin, punctuation,
currency; extended on the fly, and cached, when a text needs more) instead of the whole 700 kB
file. The logo is decoded once per process too. Text stays Unicode-safe: every character DejaVu
has is printed with its glyph.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import OutputProducer

if TYPE_CHECKING:
    from ..model import Settings

FONTS_DIR = Path(__file__).resolve().parents[1] / "fonts"
FAMILY = "dejavu"
_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

NEUTRAL = (31, 111, 178)  # #1F6FB2, the default brand colour
INK = (33, 33, 33)
GREY = (110, 110, 110)
RULE = (200, 200, 200)
ZEBRA = (244, 246, 248)

PAGE_OF = {"en": "Page {n} of {m}", "fr": "Page {n} sur {m}"}

# Characters found in almost every en/fr document: cut once from the full font.
_BASE_CODEPOINTS = frozenset(
    [*range(0x20, 0x7F), *range(0xA0, 0x180), 0x2013, 0x2014, 0x2018, 0x2019, 0x201A, 0x201C,
     0x201D, 0x201E, 0x2022, 0x2026, 0x2030, 0x2039, 0x203A, 0x20AC, 0x2116, 0x2122, 0x2212]
)
# Tables a PDF never uses (fpdf2 drops the same ones, plus kern).
_DROP_TABLES = ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix", "CBDT", "CBLC",
                "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR", "kern"]


# --- fonts parsed once per process ------------------------------------------------------------

class _Face:
    """One font file: parsed once, cloned into every document, subset from a small pre-cut copy."""

    def __init__(self, style: str, path: Path) -> None:
        self.style = style
        self.path = path
        scratch = FPDF()
        scratch.add_font(FAMILY, style, str(path))
        self.proto: TTFFont = scratch.fonts[FAMILY + style]  # type: ignore[assignment]
        self.proto.ttfont.close()
        cmap = self.proto.cmap
        self.base_names = frozenset(cmap[c] for c in _BASE_CODEPOINTS if c in cmap)
        self.ascii_names = frozenset(cmap[c] for c in range(0x20, 0x7F) if c in cmap)
        self._cuts: dict[frozenset[str], bytes] = {}
        self._embedded: dict[frozenset[str], _Embedded] = {}

    def clone(self, index: int) -> TTFFont:
        """A font object for one document, sharing the parsed metrics (read-only) with the prototype."""
        font = TTFFont.__new__(TTFFont)
        for name in TTFFont.__slots__:
            if hasattr(self.proto, name):
                setattr(font, name, getattr(self.proto, name))
        font.i = index
        font.ttfont = None  # set at output, see _Producer
        font._hbfont = None
        font.biggest_size_pt = 0
        font.missing_glyphs = []
        font.color_font = None
        font.subset = SubsetMap(font)
        return font

    def embedded(self, glyph_names: Iterable[str]) -> _Embedded:
        """The font file to embed for these glyphs (plus printable ASCII), cached by what is beyond ASCII."""
        names = frozenset(glyph_names)
        extra = names - self.ascii_names
        found = self._embedded.get(extra)
        if found is None:
            found = self._subset(names | self.ascii_names)
            if len(self._embedded) > 256:
                self._embedded.clear()
            self._embedded[extra] = found
        return found

    def _subset(self, names: frozenset[str]) -> _Embedded:
        """What fpdf2 does at output (same options), from the small pre-cut copy instead of the full file."""
        from fontTools import subset

        font = self._source(names)
        options = subset.Options(notdef_outline=True, recommended_glyphs=True)
        options.drop_tables += _DROP_TABLES
        subsetter = subset.Subsetter(options)
        subsetter.populate(glyphs=sorted(names))
        subsetter.subset(font)
        gids = {name: font.getGlyphID(name) for name in names}
        out = io.BytesIO()
        font.save(out)
        font.close()
        return _Embedded(out.getvalue(), gids)

    def _source(self, names: frozenset[str]) -> Any:
        """A small TTFont holding at least these glyphs."""
        from fontTools import ttLib

        extra = names - self.base_names
        data = self._cuts.get(extra)
        if data is None:
            data = self._cut(self.base_names | extra)
            if len(self._cuts) > 64:
                self._cuts.clear()
            self._cuts[extra] = data
        # recalcBBoxes=False: glyphs are copied as they are instead of being decoded and re-encoded.
        return ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False, lazy=True)

    def _cut(self, names: frozenset[str]) -> bytes:
        from fontTools import subset, ttLib

        full = ttLib.TTFont(str(self.path), recalcTimestamp=False, lazy=True)
        options = subset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True)
        options.drop_tables += _DROP_TABLES
        subsetter = subset.Subsetter(options)
        subsetter.populate(glyphs=sorted(names))
        subsetter.subset(full)
        out = io.BytesIO()
        full.save(out)
        full.close()
        return out.getvalue()


@lru_cache(maxsize=1)
def _faces() -> dict[str, _Face]:
    return {style: _Face(style, FONTS_DIR / name) for style, name in _FILES.items()}


def warm_up() -> None:
    """Parse the fonts now (once per process); a process pool calls this in each worker."""
    _faces()


class _Embedded:
    """A font already subset (and cached): what fpdf2's output reads from ``font.ttfont``."""

    def __init__(self, data: bytes, gids: dict[str, int]) -> None:
        self.data = data
        self.gids = gids

    def getGlyphID(self, name: str) -> int:  # noqa: N802 - fontTools' name
        return self.gids[name]

    def save(self, out: Any) -> None:
        out.write(self.data)

    def close(self) -> None:
        pass

    def __contains__(self, table: str) -> bool:
        return False


class _Subsetter:
    """fontTools' Subsetter, except that a font already subset (``_Embedded``) is left as it is."""

    def __init__(self, options: Any) -> None:
        from fontTools import subset

        self._real = subset.Subsetter(options)
        self._glyphs: Any = None

    def populate(self, **kwargs: Any) -> None:
        self._populate = kwargs

    def subset(self, font: Any) -> None:
        if isinstance(font, _Embedded):
            return
        self._real.populate(**self._populate)
        self._real.subset(font)


class _Producer(OutputProducer):
    """fpdf2's producer, embedding each shared font from the per-process cache.

    fpdf2 subsets every font at output with fontTools (the bulk of a small document's time).
    Here a shared font's ``ttfont`` is an ``_Embedded`` (subset once per glyph set and
    process), and fpdf2's call to the subsetter leaves it as it is. Every other font goes
    through fontTools as usual.
    """

    def _add_fonts(self, *args: Any, **kwargs: Any) -> Any:
        import types

        from fpdf import output

        faces: dict[str, _Face] = getattr(self.fpdf, "_shared_faces", {})
        for key, face in faces.items():
            font = self.fpdf.fonts.get(key)
            if isinstance(font, TTFFont) and font.ttfont is None:
                font.ttfont = face.embedded(font.subset.get_all_glyph_names())
        real = output.ftsubset
        output.ftsubset = types.SimpleNamespace(Options=real.Options, Subsetter=_Subsetter)  # type: ignore[assignment]
        try:
            return super()._add_fonts(*args, **kwargs)
        finally:
            output.ftsubset = real


# --- the company ------------------------------------------------------------------------------

def parse_color(text: str) -> tuple[int, int, int] | None:
    """``#1F6FB2`` (or ``1F6FB2``, ``#16B``) as an RGB triple; None when it is not a colour."""
    m = re.fullmatch(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})", (text or "").strip())
    if not m:
        return None
    h = m.group(1)
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


@dataclass(frozen=True)
class Company:
    """Who sends the document.

    Attributes:
      address: multi-line text.
      logo: an existing PNG/JPEG file, or None.
      color: the brand colour as RGB.
    """

    name: str
    address: str = ""
    email: str = ""
    phone: str = ""
    logo: Path | None = None
    color: tuple[int, int, int] = NEUTRAL

    @classmethod
    def from_settings(cls, settings: Settings, base_dir: Path | None = None) -> Company:
        """From Settings; logo_path is relative to ``base_dir`` (the workbook's folder); a missing logo is left out."""
        logo = None
        if settings.logo_path:
            path = Path(settings.logo_path)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            if path.suffix.lower() in (".png", ".jpg", ".jpeg") and path.is_file():
                logo = path
        return cls(
            name=settings.company_name,
            address=settings.company_address,
            email=settings.company_email,
            phone=settings.company_phone,
            logo=logo,
            color=parse_color(settings.brand_color) or NEUTRAL,
        )


_logos: dict[tuple[str, float], Any] = {}


# --- the document -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A table column: header text, width in mm, alignment ``L``/``R``/``C``."""

    title: str
    width: float
    align: str = "L"


class Document(FPDF):
    """A branded A4 portrait document in mm, with the shared fonts; see the module docstring."""

    MARGIN = 15.0

    def __init__(self, company: Company, language: str = "en", *, title: str = "") -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.company = company
        self.language = language if language in PAGE_OF else "en"
        self.set_margins(self.MARGIN, 22, self.MARGIN)
        self.set_auto_page_break(True, margin=18)
        self.set_creator("receivables")
        if title:
            self.set_title(title)
        self._shared_faces: dict[str, _Face] = {}
        for style, face in _faces().items():
            key = FAMILY + style
            self.fonts[key] = face.clone(len(self.fonts) + 1)
            self._shared_faces[key] = face
        self._table_header: tuple[Sequence[Column], float] | None = None
        self._running: tuple[str, tuple[tuple[str, str], ...]] | None = None
        self.add_page()

    # --- page furniture -----------------------------------------------------------------------

    HEADING_H = 7.0
    TOTALS_ROW_H = 6.0

    def header(self) -> None:
        self.set_fill_color(*self.company.color)
        self.rect(0, 0, self.w, 6, style="F")
        if self.page == 1:
            return
        table_top = 14.0
        if self._running is not None:
            self._draw_running_header(*self._running)
            table_top = 16.5
            self.set_y(self.t_margin)
        if self._table_header is not None:
            self.set_y(table_top)
            columns, size = self._table_header
            self._draw_table_header(columns, size)

    def running_header(self, title: str, facts: Sequence[tuple[str, str]] = ()) -> None:
        """What every page after the first shows at its top: ``title`` (whose document) on the left, facts on the right."""
        self._running = (title, tuple(facts))

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*GREY)
        name = self.company.name
        if name:
            self.cell(self.epw / 2, 5, name, align="L")
        text = PAGE_OF[self.language].format(n=self.page_no(), m="{nb}")
        self.set_x(self.l_margin + self.epw / 2)
        self.cell(self.epw / 2, 5, text, align="R")
        self.set_text_color(*INK)

    # --- blocks -------------------------------------------------------------------------------

    def letterhead(self, title: str, facts: Sequence[tuple[str, str]] = ()) -> None:
        """Company block on the left (logo, name, address, email, phone); title and facts on the right."""
        top = 12.0
        x = self.l_margin
        y = top
        if self.company.logo is not None:
            h = self._logo(x, y, 16)
            y += h + 2
        self.set_xy(x, y)
        self.set_font(FAMILY, "B", 13)
        self.set_text_color(*self.company.color)
        self.cell(100, 6, self.company.name)
        y += 6.5
        self.set_font(FAMILY, "", 8.5)
        self.set_text_color(*GREY)
        lines = [*_lines(self.company.address), *(s for s in (self.company.email, self.company.phone) if s)]
        for line in lines:
            self.set_xy(x, y)
            self.cell(100, 4, line)
            y += 4
        left_bottom = y
        # right: title and facts
        right = self.w - self.r_margin
        self.set_xy(right - 80, top)
        self.set_font(FAMILY, "B", 16)
        self.set_text_color(*self.company.color)
        self.cell(80, 8, title, align="R")
        fy = top + 10
        self.set_font(FAMILY, "B", 8.5)
        value_w = min(max([self.get_string_width(v) for _, v in facts] or [0]) + 1, 70)
        for label, value in facts:
            self.set_xy(right - value_w - 62, fy)
            self.set_font(FAMILY, "", 8.5)
            self.set_text_color(*GREY)
            self.cell(60, 5, _fit(self, label, 60), align="R")
            self.set_xy(right - value_w, fy)
            self.set_font(FAMILY, "B", 8.5)
            self.set_text_color(*INK)
            self.cell(value_w, 5, _fit(self, value, value_w), align="R")
            fy += 5
        self.set_text_color(*INK)
        self.set_y(max(left_bottom, fy) + 4)

    def address_block(self, heading: str, lines: Sequence[str]) -> None:
        """A labelled address (the customer), then some space."""
        self.set_font(FAMILY, "B", 8)
        self.set_text_color(*GREY)
        self.cell(0, 5, heading.upper(), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)
        for i, line in enumerate(lines):
            self.set_font(FAMILY, "B" if i == 0 else "", 10 if i == 0 else 9)
            self.cell(110, 5, _fit(self, line, 110), new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def heading(self, text: str, *, keep: float = 0.0) -> None:
        """A block's heading; on a new page unless it and the next ``keep`` mm (its block, or its first lines) fit here."""
        self.keep_together(self.HEADING_H + keep)
        self.set_font(FAMILY, "B", 10.5)
        self.set_text_color(*self.company.color)
        self.cell(0, self.HEADING_H, text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)

    def keep_together(self, height: float) -> None:
        """Start a new page unless the next ``height`` mm fit on this one."""
        if self.will_page_break(height):
            self.add_page()

    @staticmethod
    def table_height(rows: int, size: float = 8.5) -> float:
        """The height of a ``table`` of so many rows (its header included) on one page."""
        return _header_h(size) + rows * _row_h(size)

    @classmethod
    def totals_height(cls, rows: int) -> float:
        """The height of a ``totals`` block of so many rows."""
        return rows * cls.TOTALS_ROW_H

    def paragraph(self, text: str, size: float = 9) -> None:
        self.set_font(FAMILY, "", size)
        self.multi_cell(0, 4.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def table(self, columns: Sequence[Column], rows: Iterable[Sequence[str]], *,  # type: ignore[override]
              size: float = 8.5, bold_rows: frozenset[int] = frozenset(), zebra: bool = True) -> None:
        """A fast one-line-per-row table; the header row is repeated on every page it runs onto.

        This replaces fpdf2's ``table()`` helper (several times slower: it lays out every cell
        as a multi-line text box).

        Text too wide for its column is shortened with an ellipsis. ``bold_rows``: indexes of
        rows printed in bold (an opening or closing balance).
        """
        row_h = _row_h(size)
        self.keep_together(self.table_height(1, size))  # never a header alone at the foot of a page
        self._draw_table_header(columns, size)
        self._table_header = (columns, size)
        limit = self.h - self.b_margin
        try:
            for n, row in enumerate(rows):
                if self.get_y() + row_h > limit:
                    self.add_page()  # header() draws the table header again
                bold = n in bold_rows
                self.set_font(FAMILY, "B" if bold else "", size)
                if zebra and n % 2 == 1:
                    self.set_fill_color(*ZEBRA)
                    self.rect(self.l_margin, self.get_y(), sum(c.width for c in columns), row_h, style="F")
                self._row(columns, row, row_h)
        finally:
            self._table_header = None
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.l_margin + sum(c.width for c in columns), self.get_y())
        self.ln(2)

    def totals(self, rows: Sequence[tuple[str, str]], *, width: float = 90, bold_last: bool = True) -> None:
        """Label/value pairs aligned on the right (sub-total, total due), kept on one page."""
        x = self.w - self.r_margin - width
        self.keep_together(self.totals_height(len(rows)))
        for i, (label, value) in enumerate(rows):
            bold = bold_last and i == len(rows) - 1
            self.set_x(x)
            self.set_font(FAMILY, "B" if bold else "", 10 if bold else 9)
            self.cell(width * 0.55, self.TOTALS_ROW_H, label, align="R")
            self.cell(width * 0.45, self.TOTALS_ROW_H, value, align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def to_bytes(self) -> bytes:
        """The finished PDF."""
        return bytes(self.output(output_producer_class=_Producer))

    # --- helpers ------------------------------------------------------------------------------

    def _draw_table_header(self, columns: Sequence[Column], size: float) -> None:
        self.set_font(FAMILY, "B", size)
        self.set_fill_color(*self.company.color)
        self.set_text_color(255, 255, 255)
        h = _header_h(size)
        self.rect(self.l_margin, self.get_y(), sum(c.width for c in columns), h, style="F")
        self._row(columns, [c.title for c in columns], h)
        self.set_text_color(*INK)

    def _draw_running_header(self, title: str, facts: Sequence[tuple[str, str]]) -> None:
        """One line under the band: the title on the left, label/value facts on the right, a rule below."""
        y, h, gap = 8.5, 5.0, 5.0
        right = self.w - self.r_margin
        parts: list[tuple[str, str, float, float]] = []
        for label, value in facts:
            self.set_font(FAMILY, "", 8)
            label_w = _width(self, label) + 1.5
            self.set_font(FAMILY, "B", 8)
            parts.append((label, value, label_w, _width(self, value)))
        x = right - sum(lw + vw for _, _, lw, vw in parts) - gap * max(len(parts) - 1, 0)
        self.set_font(FAMILY, "B", 9)
        self.set_text_color(*INK)
        self.set_xy(self.l_margin, y)
        self.cell(max(x - self.l_margin - gap, 0), h, _fit(self, title, max(x - self.l_margin - gap, 0)))
        for label, value, label_w, value_w in parts:
            self.set_font(FAMILY, "", 8)
            self.set_text_color(*GREY)
            self.text(x, y + h / 2 + 0.3 * self.font_size, label)
            self.set_font(FAMILY, "B", 8)
            self.set_text_color(*INK)
            self.text(x + label_w, y + h / 2 + 0.3 * self.font_size, value)
            x += label_w + value_w + gap
        self.set_draw_color(*RULE)
        self.line(self.l_margin, y + h + 0.5, right, y + h + 0.5)

    def _row(self, columns: Sequence[Column], texts: Sequence[object], h: float) -> None:
        """One line of cells at the current y, then down by ``h``: text() is several times faster than cell()."""
        x = self.l_margin
        y = self.get_y()
        baseline = y + 0.5 * h + 0.3 * self.font_size
        pad = self.c_margin
        for col, value in zip(columns, texts, strict=False):
            text = _fit(self, str(value), col.width - 2 * pad)
            if text:
                if col.align == "L":
                    tx = x + pad
                else:
                    width = _width(self, text)
                    tx = x + col.width - pad - width if col.align == "R" else x + (col.width - width) / 2
                self.text(tx, baseline, text)
            x += col.width
        self.set_xy(self.l_margin, y + h)

    def _logo(self, x: float, y: float, height: float) -> float:
        """Draw the logo (decoded once per process); return the height used."""
        path = self.company.logo
        assert path is not None
        try:
            key = (str(path), os.path.getmtime(path))
            cached = _logos.get(key)
            if cached is not None:
                info = type(cached)(cached)
                info["i"], info["usages"] = len(self.image_cache.images) + 1, 0
                self.image_cache.images[str(path)] = info
            info = self.image(path, x=x, y=y, h=height)
            if cached is None:
                original = self.image_cache.images.get(str(path))
                if original is not None and original.get("iccp_i") is None:
                    _logos[key] = type(original)(original)
            return height
        except Exception:  # noqa: BLE001 - an unreadable logo must not stop a statement
            return 0.0


def _header_h(size: float) -> float:
    """A table's header row at this font size."""
    return size * 0.65


def _row_h(size: float) -> float:
    """A table row at this font size."""
    return size * 0.55


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _width(pdf: FPDF, text: str) -> float:
    """Width of a one-line text at the current font, from the font's widths (no shaping, no spacing)."""
    font = pdf.current_font
    if not isinstance(font, TTFFont):
        return pdf.get_string_width(text)
    cw = font.cw
    return sum(cw[ord(c)] for c in text) * pdf.font_size / 1000


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """The text, shortened with '…' if it is wider than ``width`` mm at the current font."""
    if "\r" in text or "\n" in text or "\t" in text:
        text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    # a cheap bound first: no DejaVu glyph is wider than 1.1 em
    if len(text) * pdf.font_size * 1.1 <= width:
        return text
    if _width(pdf, text) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = math.ceil((lo + hi) / 2)
        if _width(pdf, text[:mid] + "…") <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"

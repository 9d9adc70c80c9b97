"""The shared PDF base: fonts parsed once, Unicode text, page N of M, table header on every page, logo."""

from __future__ import annotations

import io

import pypdf

from addin.model import Settings
from addin.render import pdf
from addin.render.pdf import Column, Company, Document


def pages_text(data: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]


def test_fonts_are_parsed_once_and_shared_by_documents():
    a = Document(Company("A"))
    b = Document(Company("B"))
    assert pdf._faces() is pdf._faces()
    fa, fb = a.fonts["dejavu"], b.fonts["dejavu"]
    assert fa is not fb                      # each document its own font object (own glyph subset)
    assert fa.cmap is fb.cmap                # sharing the metrics parsed once
    assert fa.cw is pdf._faces()[""].proto.cw


def test_unicode_text_round_trips_including_glyphs_outside_the_pre_cut_set():
    doc = Document(Company("Société Générale"), "fr")
    doc.address_block("Client", ["Ωmega Ünïcode — €", "Жук Ltd"])
    text = pages_text(doc.to_bytes())[0]
    assert "Ωmega Ünïcode — €" in text
    assert "Жук Ltd" in text
    assert "Page 1 sur 1" in text


def test_long_table_repeats_its_header_and_numbers_pages():
    doc = Document(Company("Maple Books"), "en")
    doc.letterhead("STATEMENT", [("Date", "May 31, 2026")])
    cols = [Column("Number", 40), Column("Amount", 40, "R")]
    doc.table(cols, [[f"INV-{i:03}", f"{i}.00"] for i in range(150)])
    pages = pages_text(doc.to_bytes())
    assert len(pages) >= 3
    for n, text in enumerate(pages, 1):
        assert text.count("Number") == 1, n
        assert f"Page {n} of {len(pages)}" in text
    assert "INV-149" in pages[-1]
    everything = "\n".join(pages)
    assert all(f"INV-{i:03}" in everything for i in range(150))


def test_text_too_wide_for_its_column_is_shortened():
    doc = Document(Company("Maple"))
    doc.table([Column("Memo", 20)], [["a very long memo that cannot fit in twenty millimetres"]])
    text = pages_text(doc.to_bytes())[0]
    assert "…" in text
    assert "millimetres" not in text


def test_company_from_settings_resolves_the_logo_beside_the_workbook(tmp_path):
    from PIL import Image

    Image.new("RGB", (40, 20), (200, 30, 30)).save(tmp_path / "logo.png")
    s = Settings(company_name="Maple", logo_path="logo.png", brand_color="#16b")
    company = Company.from_settings(s, tmp_path)
    assert company.logo == tmp_path / "logo.png"
    assert company.color == (0x11, 0x66, 0xBB)
    first = Document(company)
    first.letterhead("STATEMENT")
    second = Document(company)  # the decoded logo is reused
    second.letterhead("STATEMENT")
    for doc in (first, second):
        reader = pypdf.PdfReader(io.BytesIO(doc.to_bytes()))
        assert len(reader.pages[0].images) == 1


def test_missing_logo_and_bad_colour_fall_back():
    company = Company.from_settings(Settings(company_name="Maple", logo_path="nope.png", brand_color="blue"))
    assert company.logo is None
    assert company.color == pdf.NEUTRAL


# --- several pages: the running header, blocks kept with their headings ------------------------------

def lines_of(data: bytes) -> list[list[str]]:
    return [text.splitlines() for text in pages_text(data)]


def test_pages_after_the_first_repeat_the_running_header_above_the_table_header():
    doc = Document(Company("Maple Books"), "en")
    doc.letterhead("STATEMENT", [("Date", "May 31, 2026")])
    doc.running_header("Cedar Fitness LLC", [("Statement date", "May 31, 2026"), ("Period", "May 1 – 31, 2026")])
    doc.table([Column("Number", 40), Column("Amount", 40, "R")], [[f"INV-{i:03}", f"{i}.00"] for i in range(150)])
    pages = lines_of(doc.to_bytes())
    assert len(pages) == 3
    assert "Cedar Fitness LLC" not in pages[0]
    for lines in pages[1:]:
        assert lines[:2] == ["Cedar Fitness LLC Statement date May 31, 2026 Period May 1 – 31, 2026", "Number Amount"]


def test_a_long_title_in_the_running_header_is_shortened_to_leave_room_for_the_facts():
    doc = Document(Company("Maple Books"), "en")
    doc.running_header("A customer whose name is far too long " * 4, [("Statement date", "May 31, 2026")])
    doc.add_page()
    first = lines_of(doc.to_bytes())[1][0]
    assert first.startswith("A customer whose name") and first.endswith("… Statement date May 31, 2026")


def test_a_document_without_running_header_keeps_the_table_header_at_the_top():
    doc = Document(Company("Maple Books"), "en")
    doc.table([Column("Number", 40)], [[f"INV-{i:03}"] for i in range(80)])
    assert lines_of(doc.to_bytes())[1][0] == "Number"


def near_the_foot(doc: Document, room: float) -> None:
    """Leave only ``room`` mm above the bottom margin of the first page."""
    doc.set_y(doc.h - doc.b_margin - room)


def test_a_heading_moves_to_the_next_page_with_its_block():
    doc = Document(Company("Maple Books"), "en")
    near_the_foot(doc, Document.HEADING_H + 4)  # room for the heading, not for its table
    doc.heading("Ageing", keep=doc.table_height(1))
    doc.table([Column("Current", 40, "R"), Column("Total", 40, "R")], [["10.00", "10.00"]])
    pages = lines_of(doc.to_bytes())
    assert pages[0] == ["Maple Books Page 1 of 2"]
    assert pages[1] == ["Ageing", "Current Total", "10.00 10.00", "Maple Books Page 2 of 2"]


def test_a_heading_with_room_for_its_block_stays():
    doc = Document(Company("Maple Books"), "en")
    near_the_foot(doc, Document.HEADING_H + doc.table_height(1) + 0.5)
    doc.heading("Ageing", keep=doc.table_height(1))
    doc.table([Column("Current", 40, "R")], [["10.00"]])
    assert lines_of(doc.to_bytes()) == [["Ageing", "Current", "10.00", "Maple Books Page 1 of 1"]]


def test_a_table_header_is_never_left_alone_at_the_foot_of_a_page():
    doc = Document(Company("Maple Books"), "en")
    near_the_foot(doc, doc.table_height(0) + 1)  # room for the header, not for a row
    doc.table([Column("Number", 40)], [["INV-001"], ["INV-002"]])
    pages = lines_of(doc.to_bytes())
    assert pages[0] == ["Maple Books Page 1 of 2"]
    assert pages[1] == ["Number", "INV-001", "INV-002", "Maple Books Page 2 of 2"]


def test_totals_are_kept_together():
    doc = Document(Company("Maple Books"), "en")
    near_the_foot(doc, Document.totals_height(1) + 1)  # room for one of the two lines
    doc.totals([("Opening balance", "$0.00"), ("Closing balance", "$1,083.00")])
    pages = lines_of(doc.to_bytes())
    assert pages[0] == ["Maple Books Page 1 of 2"]
    assert pages[1] == ["Opening balance $0.00", "Closing balance $1,083.00", "Maple Books Page 2 of 2"]

"""The shared PDF base: fonts parsed once, Unicode text, page N of M, table header on every page, logo."""

from __future__ import annotations

import io

import pytest

from addin.model import Settings
from addin.render import pdf
from addin.render.pdf import Column, Company, Document

pypdf = pytest.importorskip("pypdf")


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

"""docs/excel.md and docs/ribbon.png show the ribbon that macros/ribbon.xml declares."""

from __future__ import annotations

from pathlib import Path

from addin.excel import ribbon
from addin.excel.picture import draw_png, text_drawing

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "excel.md"


def test_the_doc_holds_the_text_drawing_of_the_current_ribbon():
    drawing = text_drawing()
    assert drawing in DOC.read_text(encoding="utf-8"), "docs/excel.md: paste the output of text_drawing():\n" + drawing


def test_the_doc_names_every_button_and_its_icon():
    doc = DOC.read_text(encoding="utf-8")
    for b in ribbon.BUTTONS.values():
        assert f"**{b.label}**" in doc, b.label
        assert f"`{b.image}`" in doc, b.image


def test_the_text_drawing_has_every_label_in_its_group():
    drawing = text_drawing()
    for group in ribbon.GROUPS:
        assert group.label in drawing
    assert "selection" in drawing and "Refresh" in drawing


def test_the_committed_picture_is_drawn_from_the_xml(tmp_path):
    from PIL import Image

    fresh = draw_png(tmp_path / "ribbon.png")
    with Image.open(ROOT / "docs" / "ribbon.png") as committed, Image.open(fresh) as drawn:
        assert committed.size == drawn.size

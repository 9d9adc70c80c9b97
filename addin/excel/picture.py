"""Pictures of the ribbon drawn from macros/ribbon.xml: docs/ribbon.png (Pillow) and a text drawing.

``python -m addin.excel.picture docs/ribbon.png`` redraws the PNG; docs/excel.md holds the text
drawing (a test keeps it equal to ``text_drawing()``). Office's own icons cannot be drawn here,
so each button shows a neutral tile with its initials; the icon's imageMso name is in the doc.
"""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

RIBBON_XML = Path(__file__).resolve().parents[2] / "macros" / "ribbon.xml"
FONTS = Path(__file__).resolve().parents[1] / "fonts"
NS = {"ui": "http://schemas.microsoft.com/office/2009/07/customui"}


@dataclass(frozen=True)
class Drawn:
    label: str
    buttons: tuple[tuple[str, str, str], ...]  # (id, label, imageMso)


def groups_of(xml: Path = RIBBON_XML) -> tuple[str, list[Drawn]]:
    """The tab label and its groups, as the XML declares them."""
    tab = ET.parse(xml).getroot().find(".//ui:tab", NS)
    assert tab is not None, f"{xml} has no tab"
    groups = [Drawn(g.get("label", ""), tuple((b.get("id", ""), b.get("label", ""), b.get("imageMso", ""))
                                              for b in g.findall("ui:button", NS)))
              for g in tab.findall("ui:group", NS)]
    return tab.get("label", ""), groups


def text_drawing(xml: Path = RIBBON_XML) -> str:
    """The tab as text: one box per group, one column per button (labels wrapped to 11 characters)."""
    tab, groups = groups_of(xml)
    width = 11
    wrapped = [[textwrap.wrap(label, width) for _, label, _ in g.buttons] for g in groups]
    height = max(len(col) for cols in wrapped for col in cols)
    blocks = []
    for g, cols in zip(groups, wrapped, strict=True):
        rows = [" ".join(f"{(c[i] if i < len(c) else ''):^{width}}" for c in cols) for i in range(height)]
        inner = max(len(rows[0]), len(g.label)) + 2
        blocks.append([*(f"{r:^{inner}}" for r in rows), "─" * inner, f"{g.label:^{inner}}"])
    lines = ["│" + "│".join(b[i] for b in blocks) + "│" for i in range(height + 2)]
    lines[height] = "├" + "┼".join(b[height] for b in blocks) + "┤"
    top = f"┌─ {tab} " + "─" * (len(lines[0]) - len(tab) - 5) + "┐"
    bottom = "└" + "┴".join("─" * len(b[0]) for b in blocks) + "┘"
    return "\n".join([top, *lines, bottom])


def draw_png(out: Path, xml: Path = RIBBON_XML) -> Path:
    """Draw the tab like Excel shows it (large buttons, group names underneath) into ``out``."""
    from PIL import Image, ImageDraw, ImageFont

    tab, groups = groups_of(xml)
    font = ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), 12)
    bold = ImageFont.truetype(str(FONTS / "DejaVuSans-Bold.ttf"), 13)
    icon_font = ImageFont.truetype(str(FONTS / "DejaVuSans-Bold.ttf"), 15)
    button_w, pad, top = 84, 10, 34
    widths = [len(g.buttons) * button_w + pad for g in groups]
    img = Image.new("RGB", (sum(widths) + 2 * pad, 150), "#F3F3F3")
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, img.width, 28], fill="#FFFFFF")
    d.text((pad + 4, 7), tab, font=bold, fill="#1F6FB2")
    tab_w = d.textlength(tab, font=bold)
    d.line([pad, 27, pad + tab_w + 8, 27], fill="#1F6FB2", width=3)
    x = pad
    for g, w in zip(groups, widths, strict=True):
        bx = x + pad // 2
        for _, label, _ in g.buttons:
            cx = bx + button_w // 2
            d.rounded_rectangle([cx - 16, top + 4, cx + 16, top + 36], radius=5, fill="#DCE8F5", outline="#1F6FB2")
            initials = "".join(word[0] for word in label.split()[:2]).upper()
            d.text((cx, top + 20), initials, font=icon_font, fill="#1F6FB2", anchor="mm")
            for i, line in enumerate(textwrap.wrap(label, 12)[:3]):
                d.text((cx, top + 50 + i * 14), line, font=font, fill="#222222", anchor="mm")
            bx += button_w
        d.text((x + w // 2, 138), g.label, font=font, fill="#555555", anchor="mm")
        d.line([x + w, top, x + w, 144], fill="#C8C8C8")
        x += w
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, optimize=True)
    return out


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/ribbon.png")
    print(draw_png(target))
    print(text_drawing())

"""The ribbon is put into a real Excel package: part, relationship, content type; nothing else changes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from addin.excel import package, ribbon
from addin.excel.package import PackageError, check_package, custom_ui_of, inject_custom_ui

XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
XLAM_MAIN = "application/vnd.ms-excel.addin.macroEnabled.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
RIBBON = ribbon.ribbon_xml().encode("utf-8")


def make_package(path: Path, main_type: str = XLSM_MAIN) -> Path:
    """A real workbook (openpyxl), its main part retyped as macro-enabled: what Excel saves as .xlsm/.xlam."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Invoices"
    wb.active.append(["Invoice No", "Amount"])
    wb.active.append(["INV-1", 125.5])
    plain = path.with_suffix(".plain.xlsx")
    wb.save(plain)
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(XLSX_MAIN.encode(), main_type.encode())
            zout.writestr(info, data)
    plain.unlink()
    return path


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_injected_package_has_part_relationship_and_content_type(tmp_path):
    src = make_package(tmp_path / "book.xlsm")
    out = tmp_path / "out.xlsm"
    inject_custom_ui(src, out, RIBBON)

    got = parts(out)
    assert got["customUI/customUI14.xml"] == RIBBON
    rels = ET.fromstring(got["_rels/.rels"])
    ui = [r.attrib for r in rels if r.get("Type") == package.UI_REL_TYPE]
    assert ui == [{"Id": "ReceivablesRibbon", "Type": "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
                   "Target": "customUI/customUI14.xml"}]
    types = ET.fromstring(got["[Content_Types].xml"])
    overrides = {o.get("PartName"): o.get("ContentType") for o in types if o.tag.endswith("Override")}
    assert overrides["/customUI/customUI14.xml"] == "application/xml"
    assert overrides["/xl/workbook.xml"] == XLSM_MAIN
    assert check_package(out) == []
    assert custom_ui_of(out) == RIBBON


def test_every_other_part_is_unchanged_and_in_order(tmp_path):
    src = make_package(tmp_path / "book.xlsm")
    out = tmp_path / "out.xlsm"
    inject_custom_ui(src, out, RIBBON)
    before, after = parts(src), parts(out)
    for name, data in before.items():
        if name not in ("_rels/.rels", "[Content_Types].xml"):
            assert after[name] == data, name
    assert list(after)[: len(before)] == list(before)
    old_rels = {r.get("Id"): r.attrib for r in ET.fromstring(before["_rels/.rels"])}
    new_rels = {r.get("Id"): r.attrib for r in ET.fromstring(after["_rels/.rels"])}
    assert {k: v for k, v in new_rels.items() if k != "ReceivablesRibbon"} == old_rels


def test_result_opens_with_openpyxl_and_calamine(tmp_path):
    from openpyxl import load_workbook
    from python_calamine import CalamineWorkbook

    out = tmp_path / "out.xlsm"
    inject_custom_ui(make_package(tmp_path / "book.xlsm"), out, RIBBON)
    wb = load_workbook(out)
    assert wb["Invoices"]["A2"].value == "INV-1"
    cal = CalamineWorkbook.from_path(str(out))
    assert cal.get_sheet_by_name("Invoices").to_python() == [["Invoice No", "Amount"], ["INV-1", 125.5]]


def test_an_add_in_package_xlam_takes_the_ribbon_too(tmp_path):
    from python_calamine import CalamineWorkbook

    src = make_package(tmp_path / "Receivables.xlam", XLAM_MAIN)
    inject_custom_ui(src, src, RIBBON)  # in place
    assert check_package(src) == []
    assert CalamineWorkbook.from_path(str(src)).sheet_names == ["Invoices"]


def test_injection_is_reproducible_and_idempotent(tmp_path):
    src = make_package(tmp_path / "book.xlsm")
    first, second, again = tmp_path / "1.xlsm", tmp_path / "2.xlsm", tmp_path / "3.xlsm"
    inject_custom_ui(src, first, RIBBON)
    inject_custom_ui(src, second, RIBBON)
    inject_custom_ui(first, again, RIBBON)
    assert first.read_bytes() == second.read_bytes() == again.read_bytes()


def test_an_earlier_ribbon_is_replaced_not_doubled(tmp_path):
    src = make_package(tmp_path / "book.xlsm")
    old = tmp_path / "old.xlsm"
    # an Office 2007 ribbon, as the xlwings quickstart add-in carries one
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(old, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "_rels/.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rId9" Type="http://schemas.microsoft.com/'
                                    b'office/2006/relationships/ui/extensibility" Target="customUI/customUI.xml"/>'
                                    b"</Relationships>")
            zout.writestr(info, data)
        zout.writestr("customUI/customUI.xml", b'<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui"/>')
    out = tmp_path / "out.xlsm"
    inject_custom_ui(old, out, RIBBON)
    got = parts(out)
    assert "customUI/customUI.xml" not in got
    assert len(re.findall(rb"ui/extensibility", got["_rels/.rels"])) == 1
    assert check_package(out) == []


def test_check_package_names_what_is_missing(tmp_path):
    src = make_package(tmp_path / "book.xlsm")
    assert check_package(src) == [
        "_rels/.rels: 0 relationships of type http://schemas.microsoft.com/office/2007/relationships/ui/extensibility, expected 1"]


def test_refuses_a_file_that_is_not_a_package(tmp_path):
    bogus = tmp_path / "notes.xlsm"
    bogus.write_text("hello")
    with pytest.raises(PackageError, match="not an Office package"):
        inject_custom_ui(bogus, tmp_path / "out.xlsm", RIBBON)


def test_refuses_ribbon_xml_that_does_not_parse(tmp_path):
    with pytest.raises(PackageError, match="does not parse"):
        inject_custom_ui(make_package(tmp_path / "book.xlsm"), tmp_path / "out.xlsm", b"<customUI>")

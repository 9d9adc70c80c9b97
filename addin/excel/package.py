"""Put the ribbon into an Excel package (.xlam / .xlsm): the customUI part, its relationship, its content type.

An Office file is a zip. Excel 2010+ reads a ribbon from the part the package's root
relationships (``_rels/.rels``) point to with the type ``.../2007/relationships/ui/extensibility``
(``customUI/customUI14.xml``, namespace ``.../2009/07/customui``). Excel needs not run for this,
so it is done and tested here. Every other part is copied unchanged, in the same order; the
output depends only on the input (fixed timestamps), so a build is reproducible.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path, PurePosixPath

CUSTOM_UI_PART = "customUI/customUI14.xml"
UI_REL_TYPE = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
UI_REL_TYPE_2006 = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
UI_REL_ID = "ReceivablesRibbon"
CUSTOM_UI_NS = "http://schemas.microsoft.com/office/2009/07/customui"
XML_CONTENT_TYPE = "application/xml"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
ROOT_RELS = "_rels/.rels"
CONTENT_TYPES = "[Content_Types].xml"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip epoch: entries carry no build time
DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'


class PackageError(Exception):
    """The file is not an Office package we can put a ribbon into."""


def inject_custom_ui(src: Path, dst: Path, custom_ui: bytes) -> None:
    """Write ``dst``: ``src`` with ``custom_ui`` as its ribbon, replacing any ribbon it had.

    ``src`` and ``dst`` may be the same file (it is replaced atomically).
    """
    try:
        ET.fromstring(custom_ui)
    except ET.ParseError as exc:
        raise PackageError(f"the ribbon XML does not parse: {exc}") from None
    try:
        with zipfile.ZipFile(src) as zin:
            infos = zin.infolist()
            names = {i.filename for i in infos}
            if ROOT_RELS not in names or CONTENT_TYPES not in names:
                raise PackageError(f"{src}: not an Office package (no {ROOT_RELS} or {CONTENT_TYPES})")
            rels, dropped = _root_rels(zin.read(ROOT_RELS))
            drop = {p for part in dropped for p in (part, _rels_of(part))} | {CUSTOM_UI_PART, _rels_of(CUSTOM_UI_PART)}
            types = _content_types(zin.read(CONTENT_TYPES), drop)
            tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
            with zipfile.ZipFile(tmp, "w") as zout:
                for info in infos:
                    if info.filename in drop:
                        continue
                    data = {ROOT_RELS: rels, CONTENT_TYPES: types}.get(info.filename)
                    zout.writestr(_copy_info(info), zin.read(info) if data is None else data)
                new = zipfile.ZipInfo(CUSTOM_UI_PART, FIXED_TIME)
                new.compress_type = zipfile.ZIP_DEFLATED
                zout.writestr(new, custom_ui)
    except zipfile.BadZipFile:
        raise PackageError(f"{src}: not an Office package (not a zip file)") from None
    _replace(tmp, dst)


def custom_ui_of(path: Path) -> bytes | None:
    """The ribbon XML a package's root relationships point to (2007 type), or None."""
    with zipfile.ZipFile(path) as z:
        root = ET.fromstring(z.read(ROOT_RELS))
        for rel in root.findall(f"{{{RELS_NS}}}Relationship"):
            if rel.get("Type") == UI_REL_TYPE:
                part = _part_name(rel.get("Target", ""))
                return z.read(part) if part in z.namelist() else None
    return None


def check_package(path: Path) -> list[str]:
    """What keeps Excel from showing the package's ribbon; [] when it is all there."""
    found = []
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        rels = ET.fromstring(z.read(ROOT_RELS)).findall(f"{{{RELS_NS}}}Relationship")
        ui = [r for r in rels if r.get("Type") == UI_REL_TYPE]
        if len(ui) != 1:
            return [f"{ROOT_RELS}: {len(ui)} relationships of type {UI_REL_TYPE}, expected 1"]
        part = _part_name(ui[0].get("Target", ""))
        if part not in names:
            return [f"{ROOT_RELS} points to {part}, which is not in the package"]
        if _content_type(z.read(CONTENT_TYPES), part) != XML_CONTENT_TYPE:
            found.append(f"{CONTENT_TYPES}: no XML content type for /{part}")
        try:
            root = ET.fromstring(z.read(part))
        except ET.ParseError as exc:
            return [*found, f"{part}: {exc}"]
        if root.tag != f"{{{CUSTOM_UI_NS}}}customUI":
            found.append(f"{part}: root is {root.tag}, expected customUI in {CUSTOM_UI_NS}")
    return found


# --- parts ----------------------------------------------------------------------------------------


def _root_rels(data: bytes) -> tuple[bytes, list[str]]:
    """The root relationships with ours instead of any earlier ribbon; and the parts no longer pointed to."""
    root = ET.fromstring(data)
    keep, dropped = [], []
    for rel in root.findall(f"{{{RELS_NS}}}Relationship"):
        if rel.get("Type") in (UI_REL_TYPE, UI_REL_TYPE_2006) or rel.get("Id") == UI_REL_ID:
            dropped.append(_part_name(rel.get("Target", "")))
        else:
            keep.append(dict(rel.attrib))
    keep.append({"Id": UI_REL_ID, "Type": UI_REL_TYPE, "Target": CUSTOM_UI_PART})
    body = "".join(f"<Relationship {_attrs(a)}/>" for a in keep)
    return DECLARATION + f'<Relationships xmlns="{RELS_NS}">{body}</Relationships>'.encode(), dropped


def _content_types(data: bytes, dropped: set[str]) -> bytes:
    """[Content_Types].xml without overrides of dropped parts, with an explicit one for the ribbon part."""
    root = ET.fromstring(data)
    items = []
    for el in root:
        tag = el.tag.rpartition("}")[2]
        if tag == "Override" and el.get("PartName", "").lstrip("/") in dropped:
            continue
        items.append((tag, dict(el.attrib)))
    items.append(("Override", {"PartName": f"/{CUSTOM_UI_PART}", "ContentType": XML_CONTENT_TYPE}))
    body = "".join(f"<{tag} {_attrs(a)}/>" for tag, a in items)
    return DECLARATION + f'<Types xmlns="{TYPES_NS}">{body}</Types>'.encode()


def _content_type(data: bytes, part: str) -> str | None:
    root = ET.fromstring(data)
    for el in root.findall(f"{{{TYPES_NS}}}Override"):
        if el.get("PartName", "").lstrip("/").casefold() == part.casefold():
            return el.get("ContentType")
    extension = PurePosixPath(part).suffix.lstrip(".").casefold()
    for el in root.findall(f"{{{TYPES_NS}}}Default"):
        if el.get("Extension", "").casefold() == extension:
            return el.get("ContentType")
    return None


def _attrs(attrs: dict[str, str]) -> str:
    from xml.sax.saxutils import quoteattr

    return " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())


def _part_name(target: str) -> str:
    """A root relationship's Target as a zip entry name (targets are relative to the package root)."""
    return target.lstrip("/")


def _rels_of(part: str) -> str:
    p = PurePosixPath(part)
    return str(p.parent / "_rels" / f"{p.name}.rels")


def _copy_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    copy = zipfile.ZipInfo(info.filename, FIXED_TIME)  # no build time in the package
    copy.compress_type = info.compress_type
    copy.external_attr = info.external_attr
    copy.create_system = 0  # same bytes whatever the OS of the build
    return copy


def _replace(tmp: Path, dst: Path) -> None:
    """Put the new package in place (retried while Windows holds the file); no temp file is left."""
    from ..workbook.files import replace_with_retry

    try:
        replace_with_retry(tmp, dst)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        raise

"""The ribbon is wired end to end: XML button -> VBA callback -> RunPython -> dispatch -> handler."""

from __future__ import annotations

import inspect
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from addin.excel import handlers, ribbon
from addin.excel.port import FilePort

ROOT = Path(__file__).resolve().parents[1]
RIBBON_XML = ROOT / "macros" / "ribbon.xml"
VBA = ROOT / "macros" / "Receivables.bas"
SCHEMAS = Path(__file__).resolve().parent / "schemas"  # Microsoft's RibbonX schemas, kept in the repository
NS = {"ui": ribbon.NAMESPACE}


def xml_buttons() -> list[ET.Element]:
    return ET.parse(RIBBON_XML).getroot().findall(".//ui:button", NS)


# --- a tiny reading of the VBA module: enough to follow the callback to RunPython ----------------


def vba_subs(text: str) -> dict[str, tuple[list[str], list[str]]]:
    """Sub name -> (parameter declarations, top-level statements outside If blocks)."""
    joined = re.sub(r" _\n\s*", " ", text)  # line continuations
    subs = {}
    for m in re.finditer(r"^Public Sub (\w+)\((.*?)\)\n(.*?)^End Sub", joined, re.M | re.S):
        depth, statements = 0, []
        for raw in m.group(3).splitlines():
            line = strip_comment(raw).strip()
            if re.match(r"If\b.*\bThen$", line):
                depth += 1
            elif line == "End If":
                depth -= 1
            elif line and depth == 0:
                statements.append(line)
        params = [p.strip() for p in m.group(2).split(",") if p.strip()]
        subs[m.group(1)] = (params, statements)
    return subs


def strip_comment(line: str) -> str:
    """A VBA line without its comment: ' starts one only outside a "string"."""
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif ch == "'" and not in_string:
            return line[:i]
    return line


def vba_eval(expr: str, env: dict[str, str]) -> str:
    """Evaluate a VBA string concatenation of literals and variables: "a" & x & "b"."""
    out = []
    for part in re.findall(r'"(?:[^"]|"")*"|[\w.]+', expr):
        out.append(part[1:-1].replace('""', '"') if part.startswith('"') else env[part])
    return "".join(out)


def press_in_vba(button_id: str) -> str:
    """Follow the onAction callback, as Excel would call it, to the Python command given to RunPython."""
    subs = vba_subs(VBA.read_text(encoding="ascii"))
    params, statements = subs[ribbon.CALLBACK]
    assert params == ["control As IRibbonControl"], "a ribbon onAction callback takes (control As IRibbonControl)"
    env = {"control.ID": button_id}
    for _ in range(5):
        name, _, args = statements[0].partition(" ")
        if name == "RunPython":
            return vba_eval(args, env)
        assert name in subs, f"the callback calls {name}, which is not in Receivables.bas"
        params, statements = subs[name]
        param = params[0].split()[-3] if params[0].startswith("ByVal") else params[0].split()[0]
        env = {param: vba_eval(args, env)}
    raise AssertionError("the callback never reaches RunPython")


# --- the wiring -----------------------------------------------------------------------------------


def test_ribbon_xml_is_valid_customui14():
    import xmlschema

    schema = xmlschema.XMLSchema(str(SCHEMAS / "customUI14.xsd"))
    schema.validate(str(RIBBON_XML))


def test_schema_validation_rejects_a_broken_button():
    import xmlschema

    schema = xmlschema.XMLSchema(str(SCHEMAS / "customUI14.xsd"))
    broken = RIBBON_XML.read_text(encoding="utf-8").replace('size="large"', 'size="huge"', 1)
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema.validate(broken)


def test_committed_ribbon_xml_is_generated_from_the_button_table():
    assert RIBBON_XML.read_text(encoding="utf-8") == ribbon.ribbon_xml(), (
        "macros/ribbon.xml is out of date: python -m addin.excel.ribbon > macros/ribbon.xml")


def test_ribbon_has_the_receivables_tab_with_its_four_groups_in_order():
    root = ET.parse(RIBBON_XML).getroot()
    tab = root.find(".//ui:tab", NS)
    assert tab.get("label") == "Receivables"
    groups = [(g.get("label"), [b.get("label") for b in g.findall("ui:button", NS)])
              for g in tab.findall("ui:group", NS)]
    assert groups == [
        ("Groups", ["Build groups", "Email group", "Show group"]),
        ("Reminders", ["Preview due", "Send reminder for selection", "Run automatic now"]),
        ("Statements", ["Export PDF", "Export CSV", "Email statement"]),
        ("Workbook", ["Check workbook", "Refresh dashboard", "Open outbox", "Open log"]),
    ]


def test_every_button_calls_the_one_vba_callback_and_uses_a_builtin_icon():
    buttons = xml_buttons()
    assert buttons
    for b in buttons:
        assert b.get("onAction") == ribbon.CALLBACK, b.get("id")
        assert b.get("imageMso"), b.get("id")


def test_button_ids_are_unique_plain_identifiers():
    ids = [b.get("id") for b in xml_buttons()]
    assert len(ids) == len(set(ids))
    for i in ids:
        assert re.fullmatch(r"[A-Za-z0-9_]{1,64}", i), f"{i!r} would not pass the VBA IsPlainId guard"


def test_vba_callback_passes_the_control_id_to_dispatch(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(handlers, "dispatch", lambda control_id, port=None: seen.append(control_id))
    ids = [b.get("id") for b in xml_buttons()]
    for button_id in ids:
        command = press_in_vba(button_id)
        exec(command, {})  # what xlwings runs: python -c "<command>"
    assert seen == ids


def test_every_button_id_maps_to_exactly_one_handler_and_every_handler_has_a_button():
    ids = [b.get("id") for b in xml_buttons()]
    assert sorted(ids) == sorted(ribbon.BUTTONS)
    table = [ribbon.handler_for(i) for i in ids]
    assert all(table)
    assert len({id(h) for h in table}) == len(table), "two buttons share a handler"
    public = {f for name, f in inspect.getmembers(handlers, inspect.isfunction)
              if f.__module__ == handlers.__name__ and not name.startswith("_") and name != "dispatch"}
    assert public == set(table), "a handler in handlers.py has no button (or a button's handler is elsewhere)"


def test_vba_module_is_ascii_and_names_itself():
    text = VBA.read_bytes().decode("ascii")
    assert text.startswith('Attribute VB_Name = "Receivables"')


def test_dispatch_of_an_unknown_button_tells_the_user(tmp_path):
    port = FilePort(tmp_path / "book.xlsx")
    assert handlers.dispatch("no_such_button", port) == 2
    assert port.alerts == ['The button "no_such_button" is unknown to this version of Receivables — '
                           "install the add-in again with `receivables excel install`."]


def test_dispatch_turns_a_crash_into_a_message(tmp_path, monkeypatch):
    def boom(port):
        raise RuntimeError("kaput")

    monkeypatch.setitem(ribbon.BUTTONS, "check_workbook",
                        ribbon.BUTTONS["check_workbook"].__class__(**{**ribbon.BUTTONS["check_workbook"].__dict__,
                                                                     "handler": boom}))
    (tmp_path / "book.xlsx").write_bytes(b"")
    port = FilePort(tmp_path / "book.xlsx")
    assert handlers.dispatch("check_workbook", port) == 2
    assert port.alerts[0].startswith("Internal error: RuntimeError: kaput — this is a bug; details are in ")

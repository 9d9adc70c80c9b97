"""Build Receivables.xlam (Windows, Excel through COM) and install it (Windows or macOS).

The add-in is an .xlam holding two VBA modules and the ribbon:
  - ``xlwings``: xlwings' own module for custom add-ins (xlwings_custom_addin.bas, BSD licence),
    taken from the installed xlwings so its version matches the Python side, with
    PROJECT_NAME = "receivables": RunPython then reads its settings from
    ``%USERPROFILE%\\.receivables\\receivables.conf`` (macOS: ``receivables.conf`` in Excel's
    container) and needs neither the xlwings add-in nor a VBA reference to it;
  - ``Receivables``: macros/Receivables.bas, the ribbon callback;
  - ``customUI/customUI14.xml``: macros/ribbon.xml, put into the saved package by addin/excel/package.py.
pywin32 and xlwings are imported only here, only on the machines that have them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_NAME = "receivables"
ADDIN_NAME = "Receivables.xlam"
MACROS = Path(__file__).resolve().parents[2] / "macros"
XL_OPEN_XML_ADDIN = 55  # XlFileFormat.xlOpenXMLAddIn
XLWINGS_PROJECT_LINE = 'Public Const PROJECT_NAME As String = "myaddin"'


class ExcelUnavailable(Exception):
    """This machine cannot do it (no Excel, wrong OS, a missing Windows setting): the message says why."""


def require(platforms: tuple[str, ...], what: str) -> None:
    if sys.platform not in platforms:
        names = " or ".join({"win32": "Windows", "darwin": "macOS"}[p] for p in platforms)
        raise ExcelUnavailable(
            f"{what} needs Microsoft Excel on {names}; this machine runs {sys.platform}. "
            "Everything else (the ribbon XML, its injection into the package, the handlers through "
            "`receivables excel press`) works here; see docs/excel.md.")


# --- build ------------------------------------------------------------------------------------------


def xlwings_module(project: str = PROJECT_NAME) -> str:
    """xlwings' custom add-in VBA module from the installed xlwings, renamed for our project."""
    try:
        import xlwings
    except ImportError:
        raise ExcelUnavailable("xlwings is not installed in this Python: pip install xlwings") from None
    text = (Path(xlwings.__file__).parent / "xlwings_custom_addin.bas").read_text(encoding="utf-8")
    if text.count(XLWINGS_PROJECT_LINE) != 1:
        raise ExcelUnavailable(f"xlwings {xlwings.__version__}: its custom add-in module has changed; "
                               f"expected the line {XLWINGS_PROJECT_LINE!r} once")
    return text.replace(XLWINGS_PROJECT_LINE, f'Public Const PROJECT_NAME As String = "{project}"')


def vba_file(text: str, folder: Path, name: str) -> Path:
    """Write a module as the VBA editor imports it: CRLF lines, the system (ANSI) code page, ASCII here."""
    path = folder / name
    path.write_bytes(text.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii"))
    return path


def build_addin(out: Path, macros: Path = MACROS) -> list[str]:
    """Make ``out`` (Receivables.xlam) with Excel; returns lines describing what was done."""
    require(("win32",), "Building the add-in")
    from .package import check_package, inject_custom_ui

    try:
        import pywintypes
        import win32com.client
    except ImportError:
        raise ExcelUnavailable("pywin32 is missing: pip install pywin32 (it comes with xlwings)") from None
    ribbon = (macros / "ribbon.xml").read_bytes()
    callback = (macros / "Receivables.bas").read_text(encoding="ascii")
    with tempfile.TemporaryDirectory(prefix="receivables-build-") as tmp:
        folder = Path(tmp)
        modules = [vba_file(xlwings_module(), folder, "xlwings.bas"),
                   vba_file(callback, folder, "Receivables.bas")]
        saved = folder / ADDIN_NAME
        app = win32com.client.DispatchEx("Excel.Application")
        try:
            app.Visible = False
            app.DisplayAlerts = False
            wb = app.Workbooks.Add()
            try:
                project = wb.VBProject
                components = project.VBComponents
            except pywintypes.com_error:
                raise ExcelUnavailable(
                    "Excel refuses access to VBA projects. In Excel: File > Options > Trust Center > "
                    "Trust Center Settings > Macro Settings > tick \"Trust access to the VBA project object "
                    "model\", then run this command again (untick it afterwards if you wish).") from None
            for module in modules:
                components.Import(str(module))
            project.Name = "Receivables"
            wb.Worksheets(1).Name = "Receivables"
            wb.Worksheets(1).Range("A1").Value = "Receivables add-in: see docs/excel.md"
            wb.IsAddin = True
            wb.SaveAs(str(saved), FileFormat=XL_OPEN_XML_ADDIN)
            wb.Close(SaveChanges=False)
        finally:
            app.Quit()
        out.parent.mkdir(parents=True, exist_ok=True)
        inject_custom_ui(saved, out, ribbon)
    problems = check_package(out)
    if problems:
        raise ExcelUnavailable(f"{out}: the ribbon did not go in: {'; '.join(problems)}")
    return [f"built {out}", "modules: xlwings (RunPython, project receivables), Receivables (ribbon callback)",
            "ribbon: customUI/customUI14.xml from macros/ribbon.xml"]


# --- install ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallPlan:
    """Where the add-in and its interpreter setting go on this machine.

    Attributes:
      target: the add-in's place in Excel's startup folder (opened at every Excel start).
      conf: the settings file xlwings' RunPython of the add-in reads.
      settings: key -> value written into it.
    """

    target: Path
    conf: Path
    settings: Mapping[str, str]


def install_plan(platform: str, env: Mapping[str, str], executable: str, package_root: Path) -> InstallPlan:
    """Pure: the install of this platform for this user and this Python (a venv's python)."""
    if platform == "win32":
        startup = Path(env["APPDATA"]) / "Microsoft" / "Excel" / "XLSTART"
        conf = Path(env["USERPROFILE"]) / f".{PROJECT_NAME}" / f"{PROJECT_NAME}.conf"
        return InstallPlan(startup / ADDIN_NAME, conf,
                           {"INTERPRETER_WIN": executable, "PYTHONPATH": str(package_root)})
    if platform == "darwin":
        home = Path(env["HOME"])
        startup = (home / "Library" / "Group Containers" / "UBF8T346G9.Office" / "User Content.localized"
                   / "Startup.localized" / "Excel")
        conf = home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / f"{PROJECT_NAME}.conf"
        return InstallPlan(startup / ADDIN_NAME, conf,
                           {"INTERPRETER_MAC": executable, "PYTHONPATH": str(package_root)})
    raise ExcelUnavailable(f"no Excel add-in install for {platform}")


def update_conf(path: Path, settings: Mapping[str, str]) -> None:
    """Set keys in an xlwings-style settings file (lines ``"KEY","value"``), keeping the other lines."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    keys = {f'"{k}"' for k in settings}
    kept = [line for line in lines if line.strip() and line.split(",", 1)[0] not in keys]
    for key, value in settings.items():
        if '"' in value:
            raise ExcelUnavailable(f"{key} {value!r} contains a double quote, which the add-in cannot read")
        kept.append(f'"{key}","{value}"')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def install(addin: Path) -> list[str]:
    """Copy the add-in into Excel's startup folder and point it at this Python."""
    require(("win32", "darwin"), "Installing the add-in")
    if not addin.is_file():
        raise ExcelUnavailable(f"{addin}: no such add-in — build it with `receivables excel build-addin` "
                               "or pass the released file with --addin PATH")
    plan = install_plan(sys.platform, os.environ, sys.executable, Path(__file__).resolve().parents[2])
    plan.target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(addin, plan.target)
    except PermissionError:
        raise ExcelUnavailable(f"{plan.target} is in use: quit Excel, then run this command again") from None
    if sys.platform == "win32":
        _unblock(plan.target)
    update_conf(plan.conf, plan.settings)
    lines = [f"installed {plan.target}", f"settings {plan.conf}: " +
             ", ".join(f"{k}={v}" for k, v in plan.settings.items())]
    if sys.platform == "darwin":
        from xlwings.cli import runpython_install  # the AppleScript that lets Excel start Python

        runpython_install(None)
        lines.append("enabled RunPython for Excel (xlwings runpython install)")
    lines.append("start Excel (quit it first if it was running): the Receivables tab appears")
    return lines


def _unblock(path: Path) -> None:
    """Drop the mark of the web a downloaded add-in carries, which would keep its macros blocked."""
    with contextlib.suppress(OSError):
        os.remove(f"{path}:Zone.Identifier")

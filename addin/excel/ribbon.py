"""The Receivables ribbon tab: ONE table of buttons, each with the Python handler it runs.

macros/ribbon.xml is generated from this table (``python -m addin.excel.ribbon > macros/ribbon.xml``,
a test proves the committed file matches). Every button's onAction is the one VBA callback
``Receivables_OnAction`` (macros/Receivables.bas), which passes the button id to
``addin.excel.handlers.dispatch`` through xlwings' RunPython.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from . import handlers as h

if TYPE_CHECKING:
    from .port import Port

NAMESPACE = "http://schemas.microsoft.com/office/2009/07/customui"
CALLBACK = "Receivables_OnAction"
TAB_ID = "ReceivablesTab"
TAB_LABEL = "Receivables"

Handler = Callable[["Port"], int]


@dataclass(frozen=True)
class Button:
    """One ribbon button.

    Attributes:
      id: the control id (a plain identifier: it travels into a Python string in VBA).
      label: the text under the icon.
      image: a built-in Office icon (imageMso).
      handler: the Python function the button runs, given a Port.
      tip: one sentence shown when hovering (supertip).
      cli: the command line doing the same thing.
    """

    id: str
    label: str
    image: str
    handler: Handler
    tip: str
    cli: str


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    buttons: tuple[Button, ...]


GROUPS: tuple[Group, ...] = (
    Group("GroupsGroup", "Groups", (
        Button("build_groups", "Build groups", "RefreshAll", h.build_groups,
               "Recompute the members of every group (or of the groups selected on the Groups sheet).",
               "receivables groups build WB [--group NAME]"),
        Button("email_group", "Email group", "EnvelopesAndLabelsDialog", h.email_group,
               "Send one message to each member of the selected group (select rows on Group Members for a subset).",
               "receivables groups email WB NAME --subject S --message M [--only ID,ID]"),
        Button("show_group", "Show group", "DistributionListSelectMembers", h.show_group,
               "Show the selected group's rules in one line and its members.",
               "receivables groups show WB NAME"),
    )),
    Group("RemindersGroup", "Reminders", (
        Button("preview_due", "Preview due", "FindDialog", h.preview_due,
               "List the automatic reminders due today and those skipped; nothing is sent.",
               "receivables reminders due WB"),
        Button("send_reminder", "Send reminder for selection", "CreateMailRule", h.send_reminder,
               "Send a reminder now for the invoice rows selected on the Invoices sheet.",
               "receivables reminders send WB INVOICE_NO..."),
        Button("run_reminders", "Run automatic now", "MacroPlay", h.run_reminders,
               "Send the automatic reminders due today, as the background service would.",
               "receivables reminders run WB"),
    )),
    Group("StatementsGroup", "Statements", (
        Button("export_statement_pdf", "Export PDF", "FileSaveAsPdfOrXps", h.export_statement_pdf,
               "Save the statement of the selected customer as a PDF in the statements folder "
               "(with no customer selected: of every customer with a balance).",
               "receivables statements export WB CUSTOMER_ID|--all [--end D] --format pdf"),
        Button("export_statement_csv", "Export CSV", "ExportTextFile", h.export_statement_csv,
               "Save the statement of the selected customer as a CSV file in the statements folder.",
               "receivables statements export WB CUSTOMER_ID --end D --format csv"),
        Button("email_statement", "Email statement", "FileSendAsAttachment", h.email_statement,
               "Email the statement of the selected customer, PDF attached "
               "(with no customer selected: to every customer with a balance, one message each).",
               "receivables statements email WB CUSTOMER_ID|--all [--end D]"),
    )),
    Group("WorkbookGroup", "Workbook", (
        Button("check_workbook", "Check workbook", "TraceError", h.check_workbook,
               "List every problem in the workbook with the cell to fix.",
               "receivables check WB"),
        Button("refresh_dashboard", "Refresh dashboard", "Refresh", h.refresh_dashboard,
               "Update the Dashboard figures and the add-in's columns (Balance, Paid, Overdue).",
               "receivables refresh WB"),
        Button("open_outbox", "Open outbox", "FolderOpen", h.open_outbox,
               "Open the folder where messages are written as .eml files.",
               "(the outbox_dir setting, beside the workbook)"),
        Button("open_log", "Open log", "FileOpen", h.open_log,
               "Go to the Log sheet: every message sent, failed or skipped.",
               "(the Log sheet)"),
    )),
)

BUTTONS: dict[str, Button] = {b.id: b for g in GROUPS for b in g.buttons}


def handler_for(control_id: str) -> Handler | None:
    button = BUTTONS.get(control_id)
    return button.handler if button else None


def ribbon_xml() -> str:
    """The customUI14 XML of the tab, as committed in macros/ribbon.xml."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        "<!-- Generated from addin/excel/ribbon.py: python -m addin.excel.ribbon > macros/ribbon.xml -->",
        f'<customUI xmlns="{NAMESPACE}">',
        "  <ribbon>",
        "    <tabs>",
        f'      <tab id="{TAB_ID}" label="{TAB_LABEL}">',
    ]
    for group in GROUPS:
        lines.append(f'        <group id="{group.id}" label={quoteattr(group.label)}>')
        for b in group.buttons:
            lines.append(
                f'          <button id="{b.id}" label={quoteattr(b.label)} size="large" imageMso="{b.image}"'
                f" screentip={quoteattr(b.label)} supertip={quoteattr(b.tip)} onAction=\"{CALLBACK}\"/>"
            )
        lines.append("        </group>")
    lines += ["      </tab>", "    </tabs>", "  </ribbon>", "</customUI>", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    sys.stdout.write(ribbon_xml())

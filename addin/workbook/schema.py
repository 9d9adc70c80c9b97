"""The workbook's schema: every sheet, header, type and choice of SPEC §2, in one place.

The template builder, the reader, the validator, the writer and the docs all read this module;
nothing about sheets is written anywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    DATE = "date"
    MONEY = "money"
    BOOL = "bool"
    INT = "int"
    NUMBER = "number"  # a decimal that is not money (rule values)
    CHOICE = "choice"
    EMAILS = "emails"  # one or more addresses separated by ; or ,
    DATETIME = "datetime"


BOOL_CHOICES = ("TRUE", "FALSE")
TRUE_WORDS = frozenset({"true", "yes", "oui", "vrai", "1", "x", "y", "o"})
FALSE_WORDS = frozenset({"false", "no", "non", "faux", "0", "n"})


@dataclass(frozen=True)
class Column:
    """One column of a sheet.

    Attributes:
      header: the header as written in the template (matched case-insensitively, trimmed).
      kind: how cells are read.
      required: the header must be present, and the cell filled on every record.
      choices: allowed values (compared case-insensitively); a drop-down in the template.
      default: value of a blank cell.
      addin: the add-in writes this column (grey header in the template).
      width: column width in the template.
      note: one line for people, shown as the header's note and in the docs.
    """

    header: str
    kind: Kind = Kind.TEXT
    required: bool = False
    choices: tuple[str, ...] = ()
    default: object = None
    addin: bool = False
    width: float = 14
    note: str = ""

    @property
    def key(self) -> str:
        return normalize(self.header)


@dataclass(frozen=True)
class Sheet:
    """One sheet of the workbook.

    Attributes:
      name: sheet name (matched case-insensitively, trimmed).
      columns: columns in template order.
      required: a missing sheet is an error (else it counts as empty, with a notice).
      table: the Excel table's name in the template ('' = no table).
      addin: the whole sheet is written by the add-in (Log, Dashboard).
      note: what the sheet is for, one sentence.
    """

    name: str
    columns: tuple[Column, ...]
    required: bool = False
    table: str = ""
    addin: bool = False
    note: str = ""
    by_key: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {c.key: c for c in self.columns})

    def column(self, header: str) -> Column:
        return self.by_key[normalize(header)]

    @property
    def key(self) -> str:
        return normalize(self.name)


def normalize(name: str) -> str:
    """How sheet names, headers and enumerated values are compared."""
    return " ".join(str(name).split()).casefold()


def normalize_all(texts: Sequence[str]) -> list[str]:
    """``normalize`` of each text; a C-speed casefold when no text holds spacing to fold (a
    column of 100,000 invoice numbers)."""
    joined = "\x00".join(texts)  # a line break or tab is not printable: the slow path
    if "  " in joined or "\x00 " in joined or " \x00" in joined or joined[:1] == " " or joined[-1:] == " " \
            or not joined.replace("\x00", "").isprintable():
        return list(map(normalize, texts))
    return list(map(str.casefold, texts))


T, DT, M, B, INT, C, E = Kind.TEXT, Kind.DATE, Kind.MONEY, Kind.BOOL, Kind.INT, Kind.CHOICE, Kind.EMAILS

LANGUAGES = ("en", "fr")
STATUS = ("Active", "Inactive")
WHEN = ("Before", "After")
PAYMENT_TYPES = ("Payment", "Credit Note")
GROUP_KINDS = ("Customer", "Vendor")
SOURCES = ("Rule", "Added", "Removed")
ROLES = ("Admin", "Full", "Limited")
STATEMENT_TYPES = ("Outstanding", "Activity")
OPERATORS = (
    "is", "is not", "is one of", "is not one of", "contains", "does not contain", "starts with",
    "between", "greater than", "less than", "at least", "at most", "is empty", "is not empty",
    "before", "after",
)
COMPUTED_FIELDS = ("Balance", "Overdue Balance", "Days Overdue", "Open Invoices", "Last Payment Date")

CUSTOMERS = Sheet("Customers", (
    Column("Customer ID", required=True, width=14, note="Unique code, e.g. C-0001"),
    Column("Name", required=True, width=30),
    Column("Status", C, required=True, choices=STATUS, width=10),
    Column("Email", E, required=True, width=30, note="One or more addresses separated by ; or ,"),
    Column("Type", width=12),
    Column("Contact", width=20),
    Column("Phone", width=16),
    Column("Address", width=30),
    Column("City", width=16),
    Column("State", width=8),
    Column("Postal Code", width=12),
    Column("Country", width=10),
    Column("Statement Email", E, width=28, note="Overrides Email for statements"),
    Column("Statement Contact", width=20),
    Column("Statement Address", width=30, note="Multi-line; overrides the address on statements"),
    Column("No Reminders", B, default=False, choices=BOOL_CHOICES, width=10),
    Column("Reminders Paused Until", DT, width=14),
    Column("Language", C, choices=LANGUAGES, width=10, note="en or fr; blank = Settings language"),
    Column("Notes", width=30),
    Column("Balance", M, addin=True, width=14, note="Written by the add-in"),
    Column("Overdue", M, addin=True, width=14, note="Written by the add-in"),
), required=True, table="Customers")

GROUPINGS = ("invoice", "customer")

INVOICES = Sheet("Invoices", (
    Column("Invoice No", required=True, width=14, note="Unique (ignoring case and spaces)"),
    Column("Customer ID", required=True, width=14),
    Column("Invoice Date", DT, required=True, width=13),
    Column("Due Date", DT, required=True, width=13),
    Column("Amount", M, required=True, width=14),
    Column("Email", E, width=28, note="Overrides the customer's Email for this invoice"),
    Column("Memo", width=30),
    Column("Hold Until", DT, width=13, note="No automatic reminder for this invoice until after this date"),
    Column("Hold Reason", width=30, note="Why the invoice is on hold (a dispute, a promise to pay); shown with the hold"),
    Column("Paid", M, addin=True, width=14, note="Written by the add-in"),
    Column("Balance", M, addin=True, width=14, note="Written by the add-in"),
    Column("Status", addin=True, width=28, note="Written by the add-in"),
    Column("Last Reminder", DT, addin=True, width=14, note="Written by the add-in"),
), required=True, table="Invoices")

PAYMENTS = Sheet("Payments", (
    Column("Payment ID", required=True, width=14, note="Repeat the ID on several rows to split a payment"),
    Column("Customer ID", required=True, width=14),
    Column("Date", DT, required=True, width=13),
    Column("Amount", M, required=True, width=14),
    Column("Type", C, choices=PAYMENT_TYPES, default="Payment", width=12),
    Column("Invoice No", width=14, note="Blank = not applied (prepayment or unapplied credit)"),
    Column("Reference", width=20),
), table="Payments")

GROUPS = Sheet("Groups", (
    Column("Group", required=True, width=24),
    Column("Description", width=40),
    Column("Kind", C, choices=GROUP_KINDS, default="Customer", width=11),
    Column("Auto Update", B, default=True, choices=BOOL_CHOICES, width=12),
    Column("Members", INT, addin=True, width=10, note="Written by the add-in"),
    Column("Updated", Kind.DATETIME, addin=True, width=18, note="Written by the add-in"),
), table="Groups")

GROUP_RULES = Sheet("Group Rules", (
    Column("Group", required=True, width=24),
    Column("Field", required=True, width=20, note="A Customers header or a computed field"),
    Column("Operator", C, required=True, choices=OPERATORS, width=16),
    Column("Value", width=20),
    Column("Value 2", width=14),
), table="GroupRules")

GROUP_MEMBERS = Sheet("Group Members", (
    Column("Group", required=True, width=24),
    Column("Customer ID", required=True, width=14),
    Column("Name", width=30),
    Column("Source", C, required=True, choices=SOURCES, width=10,
           note="Rule rows are written by the add-in; Added/Removed are yours"),
), table="GroupMembers")

REMINDERS = Sheet("Reminders", (
    Column("Reminder", INT, required=True, choices=("1", "2", "3"), width=10),
    Column("Enabled", B, required=True, choices=BOOL_CHOICES, width=10),
    Column("Days", INT, required=True, width=8, note="0 to 90"),
    Column("When", C, required=True, choices=WHEN, width=10),
    Column("Subject", width=36),
    Column("Greeting", B, default=True, choices=BOOL_CHOICES, width=10),
    Column("Salutation", width=14),
    Column("Message", width=60),
    Column("Group", width=20, note="Only customers of this group"),
), table="Reminders")

STATEMENT_SCHEDULES = Sheet("Statement Schedules", (
    Column("Customer ID", width=14, note="Customer ID or Group, one of the two"),
    Column("Group", width=20),
    Column("Enabled", B, required=True, choices=BOOL_CHOICES, width=10),
    Column("Day", INT, required=True, width=8, note="1 to 31; 31 = last day of the month"),
    Column("Type", C, choices=STATEMENT_TYPES, width=13),
    Column("To", E, width=28),
    Column("Cc", E, width=28),
    Column("Subject", width=30),
    Column("Message", width=50),
    Column("Exclude Zero Balance", B, default=True, choices=BOOL_CHOICES, width=12),
    Column("Attach CSV", B, default=False, choices=BOOL_CHOICES, width=10),
    Column("Last Sent", DT, addin=True, width=14, note="Written by the add-in"),
), table="StatementSchedules")

USERS = Sheet("Users", (
    Column("User", required=True, width=20, note="OS login name"),
    Column("Role", C, required=True, choices=ROLES, width=10),
    Column("Group", width=20, note="A Limited user only sees this group's customers"),
), table="Users")

VENDORS = Sheet("Vendors", (
    Column("Vendor ID", required=True, width=14),
    Column("Name", required=True, width=30),
    Column("Status", C, required=True, choices=STATUS, width=10),
    Column("Email", E, required=True, width=30),
    Column("Type", width=12),
    Column("City", width=16),
    Column("State", width=8),
    Column("Country", width=10),
), table="Vendors")

LOG = Sheet("Log", (
    Column("Time", Kind.DATETIME, width=18),
    Column("Action", width=18),
    Column("Target", width=24),
    Column("Recipients", width=30),
    Column("Status", width=12),
    Column("Message ID", width=40),
    Column("Detail", width=50),
), table="Log", addin=True)

SETTINGS_SHEET = Sheet("Settings", (
    Column("Key", required=True, width=24),
    Column("Value", required=True, width=36),
    Column("Description", width=70),
), required=True, table="Settings")

DASHBOARD = Sheet("Dashboard", (), addin=True)


@dataclass(frozen=True)
class Setting:
    """One Settings key.

    Attributes:
      key: the key as typed in the Key column.
      kind: how the Value is read.
      default: value when absent or blank (None: none).
      choices: allowed values.
      description: for people (the template's Description column).
      blank: what a row with a blank Value means (None: the default, as when the row is absent).
    """

    key: str
    kind: Kind = Kind.TEXT
    default: object = None
    choices: tuple[str, ...] = ()
    description: str = ""
    blank: object = None


SETTINGS: tuple[Setting, ...] = (
    Setting("company_name", description="Your company's name, shown on emails and PDFs"),
    Setting("company_email", E, description="Sender address (From) of every email"),
    Setting("company_phone"),
    Setting("company_address", description="Multi-line address for PDFs"),
    Setting("brand_color", default="#1F6FB2", description="Colour of emails and PDFs, e.g. #1F6FB2"),
    Setting("logo_path", description="Logo image (PNG/JPEG), relative to the workbook"),
    Setting("language", C, "en", LANGUAGES, "Default language: en or fr"),
    Setting("currency", default="USD", description="ISO currency code, e.g. USD, CAD, EUR"),
    Setting("timezone", description="IANA time zone, e.g. America/Toronto (blank = this PC's)"),
    Setting("mail_transport", C, "outbox", ("outbox", "smtp"), "outbox writes .eml files; smtp sends"),
    Setting("outbox_dir", default="outbox", description="Folder for .eml files, relative to the workbook"),
    Setting("smtp_host"),
    Setting("smtp_port", INT, 587),
    Setting("smtp_security", C, "starttls", ("starttls", "ssl", "none")),
    Setting("smtp_username"),
    Setting("smtp_password_env", description="NAME of the environment variable holding the password (never the password)"),
    Setting("smtp_max_per_minute", INT, 30, description="Throttle; 0 = no limit"),
    Setting("smtp_ca_file", description="Private CA bundle to trust (certificates are always verified)"),
    Setting("copy_to_me", E, description="Receives a copy when asked (blank = company_email)"),
    Setting("reminders_enabled", B, False, BOOL_CHOICES, "Master switch for automatic reminders"),
    Setting("reminders_attach_pdf", B, True, BOOL_CHOICES, "Attach the invoice PDF to reminders"),
    Setting("reminder_check_times", default="08:00, 12:00, 16:00", description="Times the daemon checks"),
    Setting("reminder_grouping", C, "invoice", GROUPINGS,
            "invoice: one reminder per invoice; customer: one message per customer listing its invoices due"),
    Setting("catch_up_days", INT, 7, description="How late a missed reminder or statement may still go out"),
    Setting("statements_dir", default="statements", description="Folder for exported statements"),
    Setting("statement_type", C, "Outstanding", STATEMENT_TYPES, "Default statement type"),
    Setting("backups_keep", INT, 5, description="How many backups of the workbook to keep before each write"),
    Setting("sent_dir", default="sent", blank="",
            description="Folder keeping a copy of every message sent (sent/YYYY-MM), relative to the workbook; blank = keep none"),
)
SETTINGS_BY_KEY = {normalize(s.key): s for s in SETTINGS}

# Order of sheets in the template.
SHEETS: tuple[Sheet, ...] = (
    SETTINGS_SHEET, CUSTOMERS, INVOICES, PAYMENTS, GROUPS, GROUP_RULES, GROUP_MEMBERS,
    REMINDERS, STATEMENT_SCHEDULES, USERS, VENDORS, LOG,
)
START_HERE = "Start here"
LISTS = "Lists"  # hidden sheet of the template holding long drop-down lists; not read
SHEETS_BY_KEY = {s.key: s for s in (*SHEETS, DASHBOARD)}


def sheet(name: str) -> Sheet:
    return SHEETS_BY_KEY[normalize(name)]

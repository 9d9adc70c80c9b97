"""The reader on the smaller sheets (Settings, Groups, Reminders, Schedules, Users, Vendors) and bad files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from addin.problems import Severity
from addin.workbook.reader import WorkbookUnreadable, load

CUSTOMERS = [
    ["Customer ID", "Name", "Status", "Email"],
    ["C1", "Acme Ltd", "Active", "ap@acme.example.com"],
]


def shown(book) -> list[str]:
    return [str(p) for p in book.problems if p.severity is not Severity.NOTICE]


def settings_book(make_workbook, *rows):
    return load(make_workbook({"Settings": [["Key", "Value", "Description"], *rows]}))


def test_settings_are_typed_with_defaults_for_the_rest(make_workbook):
    book = settings_book(make_workbook,
                         ["company_name", "Maple Books", "for people"],
                         [" Language ", "FR", None],
                         ["reminders_enabled", "yes", None],
                         ["reminder_check_times", "16:00; 8:30", None],
                         ["catch_up_days", 3, None],
                         ["timezone", "America/Toronto", None],
                         ["company_email", " billing@maple.example.com ", None],
                         ["smtp_port", "465", None])
    s = book.settings

    assert (s.company_name, s.language, s.reminders_enabled, s.catch_up_days) == ("Maple Books", "fr", True, 3)
    assert s.reminder_check_times == (dt.time(8, 30), dt.time(16, 0))
    assert (s.timezone, s.company_email, s.smtp_port) == ("America/Toronto", "billing@maple.example.com", 465)
    assert (s.currency, s.mail_transport, s.statement_type) == ("USD", "outbox", "Outstanding")
    assert s.cells["language"] == "B3"
    assert shown(book) == []


def test_bad_settings_are_errors_and_unknown_keys_warnings(make_workbook):
    book = settings_book(make_workbook,
                         ["compnay_name", "Maple", None],
                         ["language", "de", None],
                         ["timezone", "Mars/Olympus", None],
                         ["brand_color", "blue", None],
                         ["reminder_check_times", "8h, noon", None],
                         ["catch_up_days", "a week", None],
                         ["company_name", "Maple", None],
                         ["company_name", "Again", None])

    assert shown(book) == [
        'warning: Settings!A2: unknown setting "compnay_name" is ignored — did you mean "company_name"?',
        'Settings!B3: language "de" is not a valid choice — choose one of: en, fr',
        'Settings!B4: timezone "Mars/Olympus" is not a known time zone — type an IANA name such as '
        "America/Toronto or Europe/Paris",
        'Settings!B5: brand_color "blue" is not a colour — type it as #RRGGBB, e.g. #1F6FB2',
        'Settings!B6: reminder_check_times "8h, noon" is not a list of times — type times as HH:MM separated '
        "by commas, e.g. 08:00, 12:00, 16:00",
        'Settings!B7: catch_up_days "a week" is not a whole number — type a whole number from 0 to 90',
        'warning: Settings!A9: setting "company_name" appears twice — only the first (cell B8) is used; '
        "delete this row",
    ]
    s = book.settings
    assert (s.language, s.timezone, s.brand_color, s.catch_up_days) == ("en", "", "#1F6FB2", 7)
    assert s.company_name == "Maple"


def test_groups_and_rules_keep_rule_values_as_typed(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Groups": [["Group", "Description", "Auto Update"],
                   ["VIP", "Best", None], ["Frozen", "", "FALSE"], [" vip", "Again", None]],
        "Group Rules": [["Group", "Field", "Operator", "Value", "Value 2"],
                        ["VIP", "Balance", "Between", 100, 1000.5],
                        ["VIP", "Last Payment Date", "after", dt.date(2026, 1, 1), None],
                        ["VIP", "State", "is one of", " CA; NY ", None]],
        "Group Members": [["Group", "Customer ID", "Source"], ["VIP", "c1", "added"]],
    }))

    assert [(g.name, g.auto_update) for g in book.groups] == [("VIP", True), ("Frozen", False)]
    assert [(r.operator, r.value, r.value2) for r in book.rules] == [
        ("Between", Decimal("100"), Decimal("1000.5")),  # as typed: groups reads it ignoring case
        ("after", dt.date(2026, 1, 1), None),
        ("is one of", "CA; NY", None),
    ]
    assert [(m.customer_id, m.source) for m in book.members] == [("C1", "Added")]
    assert shown(book) == ['Groups!A4: group "vip" is already on row 2 — give each group its own row; '
                           "this row is not used"]


def test_reminder_steps_out_of_range_or_repeated_are_errors_and_not_used(make_workbook):
    book = load(make_workbook({"Reminders": [
        ["Reminder", "Enabled", "Days", "When", "Subject"],
        [1, True, 3, "before", "Soon due"],
        [2, "yes", 120, "After", None],
        [1, True, 7, "After", None],
        [4, True, 7, "After", None],
    ]}))

    assert [(r.number, r.enabled, r.days, r.when, r.greeting) for r in book.reminders] == [
        (1, True, 3, "Before", True)]
    assert shown(book) == [
        'Reminders!C3: days "120" is out of range — type a whole number from 0 to 90',
        'Reminders!A4: reminder "1" is already on row 2 — give each reminder its own row; this row is not used',
        'Reminders!A5: reminder "4" is out of range — type a whole number from 1 to 3',
    ]


def test_statement_schedules_name_exactly_one_customer_or_group(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Statement Schedules": [
            ["Customer ID", "Group", "Enabled", "Day", "Type", "To"],
            ["c1", None, True, 1, None, "a@acme.example.com, b@acme.example.com"],
            [None, "VIP", False, 31, "activity", None],
            ["C1", "VIP", True, 10, None, None],
            [None, None, True, 10, None, None],
            [None, "VIP", True, 32, None, None],
        ],
    }))

    assert [(s.customer_id, s.group, s.enabled, s.day, s.type, s.to) for s in book.schedules] == [
        ("C1", "", True, 1, "Outstanding", ("a@acme.example.com", "b@acme.example.com")),
        ("", "VIP", False, 31, "Activity", ()),
    ]
    assert shown(book) == [
        "'Statement Schedules'!A4: both customer ID \"C1\" and group \"VIP\" are filled in — keep one of the two "
        "(one row per customer or per group); this row is not used",
        "'Statement Schedules'!A5: neither customer ID nor group is filled in — fill in one of the two; "
        "this row is not used",
        "'Statement Schedules'!D6: day \"32\" is out of range — type a whole number from 1 to 31",
    ]


def test_users_roles_are_choices_and_a_limited_user_needs_a_group(make_workbook):
    book = load(make_workbook({"Users": [
        ["User", "Role", "Group"],
        ["ann", "admin", None],
        ["bob", "Limited", None],
        ["cid", "Boss", None],
    ]}))

    assert [(u.user, u.role) for u in book.users] == [("ann", "Admin"), ("bob", "Limited")]
    assert shown(book) == [
        "Users!C3: a Limited user has no group — fill in the group this user may see, or choose another role",
        'Users!B4: role "Boss" is not a valid choice — choose one of: Admin, Full, Limited',
    ]


def test_vendors_are_read_like_customers(make_workbook):
    book = load(make_workbook({"Vendors": [
        ["Vendor ID", "Name", "Status", "Email", "Rating"],
        ["V1", "Paper Co", "Active", "sales@paper.example.com", "A"],
        ["v1", "Copy", "Active", "x@paper.example.com", None],
    ]}))

    assert [(v.id, v.emails, v.fields["rating"]) for v in book.vendors] == [
        ("V1", ("sales@paper.example.com",), "A")]
    assert shown(book) == ['Vendors!A3: vendor ID "v1" is already used on row 2 — give each vendor its own ID; '
                           "this row is not used"]


# --- files that cannot be read ------------------------------------------------------------------

def test_a_missing_file_is_unreadable_with_a_message(tmp_path):
    with pytest.raises(WorkbookUnreadable, match=r"nowhere\.xlsx: no such workbook — check the path"):
        load(tmp_path / "nowhere.xlsx")


def test_a_text_file_is_not_a_workbook(tmp_path):
    path = tmp_path / "notes.xlsx"
    path.write_text("just text", encoding="utf-8")

    with pytest.raises(WorkbookUnreadable, match=r"is not an \.xlsx workbook — open it in Excel and save it"):
        load(path)


def test_a_broken_zip_is_unreadable(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 64)

    with pytest.raises(WorkbookUnreadable, match=r"cannot be read as a workbook"):
        load(path)


def test_a_folder_is_not_a_workbook(tmp_path):
    with pytest.raises(WorkbookUnreadable, match=r"is a folder, not a workbook"):
        load(tmp_path)

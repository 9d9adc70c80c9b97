"""Customer groups from inline records: rules, membership, build, summary line, delete guards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addin.access import Access
from addin.actions import ReplaceRows, SetCells
from addin.groups import build, check, delete_group, members_of, summaries_of, summary_line
from addin.ledger import Ledger
from addin.model import (
    CREDIT_NOTE,
    Book,
    Customer,
    Group,
    Invoice,
    Member,
    Origin,
    Payment,
    ReminderStep,
    Rule,
    Schedule,
    User,
    Vendor,
)

d = dt.date.fromisoformat
AS_OF = d("2026-04-15")
NOW = dt.datetime(2026, 4, 15, 9, 30)
RULE_LETTERS = {"group": "A", "field": "B", "operator": "C", "value": "D", "value 2": "E"}


def cust(cid, status="Active", state="CA", email=None, **fields):
    return Customer(cid, f"Name {cid}", status, (email or f"{cid.lower()}@example.com",), state=state,
                    city=fields.pop("city", ""), fields={"status": status, "state": state, **fields})


def invoice(cid, amount, no=None, due="2026-03-31", date="2026-03-01"):
    return Invoice(no or f"INV-{cid}", cid, d(date), d(due), Decimal(amount))


def rule(group, field, op, value=None, value2=None, row=2):
    return Rule(group, field, op, value, value2, Origin("Group Rules", row, RULE_LETTERS))


def book_of(customers, rules=(), invoices=(), payments=(), groups=None, members=(), **more):
    names = groups if groups is not None else sorted({r.group for r in rules} or {"G"})
    gs = tuple(g if isinstance(g, Group) else Group(g) for g in names)
    return Book(customers=tuple(customers), invoices=tuple(invoices), payments=tuple(payments), groups=gs,
                rules=tuple(rules), members=tuple(members), **more)


def ids(records):
    return [r.id for r in records]


def members(book, name="G", as_of=AS_OF):
    return ids(members_of(book, Ledger.from_book(book), name, as_of))


# --- the QuickBooks example -------------------------------------------------------------------

QB_CUSTOMERS = [
    cust("LOW-EDGE"), cust("HIGH-EDGE"), cust("BELOW"), cust("ABOVE"),
    cust("INACTIVE", status="Inactive"), cust("NEVADA", state="NV"), cust("LOWERCASE", state="ca"),
]
QB_INVOICES = [
    invoice("LOW-EDGE", "100.00"), invoice("HIGH-EDGE", "1000.00"), invoice("BELOW", "99.99"),
    invoice("ABOVE", "1000.01"), invoice("INACTIVE", "500.00"), invoice("NEVADA", "500.00"),
    invoice("LOWERCASE", "500.00"),
]


@pytest.mark.parametrize("high", [1000, "1000", "1,000", "$1,000.00", 1000.0])
def test_active_customers_in_california_with_balance_between_100_and_1000_inclusive(high):
    rules = [rule("QB", "Status", "is", "Active"), rule("QB", "State", "is", "CA"),
             rule("QB", "Balance", "between", 100, high)]
    book = book_of(QB_CUSTOMERS, rules, QB_INVOICES)
    assert members(book, "QB") == ["LOW-EDGE", "HIGH-EDGE", "LOWERCASE"]


def test_summary_line_of_the_quickbooks_example():
    rules = [rule("QB", "Status", "is", "Active"), rule("QB", "State", "is", "CA"),
             rule("QB", "Balance", "between", 100, "1,000")]
    assert summary_line(rules, "en") == "Status is Active · State is CA · Balance between 100.00 and 1,000.00"
    rules[2] = rule("QB", "Balance", "between", 100, "1 000")  # as typed in a French workbook
    assert summary_line(rules, "fr") == "Status is Active · State is CA · Balance between 100,00 and 1 000,00"


def test_summary_line_shows_lists_dates_and_empty_tests():
    rules = [rule("G", "state", "is one of", "CA; NV"), rule("G", "Last Payment Date", "before", dt.datetime(2026, 1, 31)),
             rule("G", "Notes", "is empty"), rule("G", "Days Overdue", "greater than", 30.0)]
    assert summary_line(rules) == ("State is one of CA, NV · Last Payment Date before 2026-01-31 · Notes is empty"
                                   " · Days Overdue greater than 30")


# --- every operator ---------------------------------------------------------------------------

OP_CUSTOMERS = [
    cust("A1", state="CA", city="San Diego", region="West Coast", score=5, since=d("2020-01-15")),
    cust("A2", state="NV", city="Las Vegas", region="West", score=12.5, since=d("2023-06-30")),
    cust("A3", state="OR", city="Salem", region="", score=None, since=None, status="Inactive"),
]


@pytest.mark.parametrize(("field", "op", "value", "value2", "expected"), [
    ("State", "is", "ca", None, ["A1"]),
    ("State", "is not", "CA", None, ["A2", "A3"]),
    ("State", "is one of", "CA; or", None, ["A1", "A3"]),
    ("State", "is not one of", "CA;NV", None, ["A3"]),
    ("State", "is one of", "NV, or", None, ["A2", "A3"]),
    ("State", "is not one of", "ca,nv", None, ["A3"]),
    ("State", "is one of", "CA; NV,OR", None, ["A1", "A2", "A3"]),
    ("Score", "is one of", "5, 12.5", None, ["A1", "A2"]),
    ("Score", "is one of", "5;12.5", None, ["A1", "A2"]),
    ("City", "contains", "AS", None, ["A2"]),
    ("City", "does not contain", "s", None, []),
    ("City", "starts with", "sa", None, ["A1", "A3"]),
    ("Region", "is empty", None, None, ["A3"]),
    ("Region", "is not empty", None, None, ["A1", "A2"]),
    ("Score", "between", 5, "12.5", ["A1", "A2"]),
    ("Score", "greater than", "5", None, ["A2"]),
    ("Score", "less than", 12.5, None, ["A1"]),
    ("Score", "at least", 12.5, None, ["A2"]),
    ("Score", "at most", 12.5, None, ["A1", "A2"]),
    ("Score", "is", 12.5, None, ["A2"]),
    ("Since", "before", "2023-06-30", None, ["A1"]),
    ("Since", "after", d("2020-01-15"), None, ["A2"]),
    ("Since", "between", "2020-01-15", d("2023-06-30"), ["A1", "A2"]),
    ("Since", "is", dt.datetime(2023, 6, 30), None, ["A2"]),
    ("Status", "is", "INACTIVE", None, ["A3"]),
])
def test_each_operator_on_customers_fields(field, op, value, value2, expected):
    book = book_of(OP_CUSTOMERS, [rule("G", field, op, value, value2)])
    assert members(book) == expected


def test_numbers_typed_as_text_in_a_text_column_compare_by_value():
    customers = [cust("P1", postal="9021"), cust("P2", postal="90210"), cust("P3", postal="n/a")]
    book = book_of(customers, [rule("G", "Postal", "greater than", 10000)])
    assert members(book) == ["P2"]


def test_is_one_of_reads_thousands_in_numbers_and_the_summary_lists_each_value():
    customers = [cust("K1"), cust("K2"), cust("K3")]
    invoices = [invoice("K1", "1000.00"), invoice("K2", "50.00"), invoice("K3", "1.00")]
    book = book_of(customers, [rule("G", "Balance", "is one of", "1,000; 50")], invoices)
    assert members(book) == ["K1", "K2"]
    assert summary_line(book.rules) == "Balance is one of 1,000.00, 50.00"
    assert summary_line([rule("G", "State", "is one of", "NV,ON")]) == "State is one of NV, ON"


def test_rules_of_a_group_all_hold():
    book = book_of(OP_CUSTOMERS, [rule("G", "State", "is one of", "CA;NV"), rule("G", "Score", "at least", 6)])
    assert members(book) == ["A2"]


def test_computed_fields_are_read_from_the_books_as_of_the_date():
    customers = [cust("LATE"), cust("PAID"), cust("NEW")]
    invoices = [invoice("LATE", "300.00", "I1", due="2026-03-01"), invoice("LATE", "50.00", "I2", due="2026-05-01"),
                invoice("PAID", "80.00", "I3", due="2026-03-01"), invoice("NEW", "10.00", "I4", date="2026-04-20")]
    payments = [Payment("P1", "PAID", d("2026-03-20"), Decimal("80.00"), invoice_no="I3")]

    def who(field, op, value=None, value2=None, as_of=AS_OF):
        book = book_of(customers, [rule("G", field, op, value, value2)], invoices, payments)
        return members(book, as_of=as_of)

    assert who("Days Overdue", "at least", 45) == ["LATE"]
    assert who("Days Overdue", "greater than", 45) == []
    assert who("Open Invoices", "is", 2) == ["LATE"]
    assert who("Overdue Balance", "is", "300") == ["LATE"]
    assert who("Balance", "is", 0) == ["PAID", "NEW"]
    assert who("Balance", "greater than", 0, as_of=d("2026-04-20")) == ["LATE", "NEW"]
    assert who("Last Payment Date", "is empty") == ["LATE", "NEW"]
    assert who("Last Payment Date", "after", "2026-03-19") == ["PAID"]
    assert who("Last Payment Date", "after", "2026-03-19", as_of=d("2026-03-19")) == []
    # The add-in's Overdue column means the fresh figure, not the stored cell.
    assert who("Overdue", "at least", 1) == ["LATE"]


# --- bad rules --------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "op", "value", "value2", "message"), [
    ("Balanse", "is", "1", None,
     "'Group Rules'!B4: field \"Balanse\" is not a Customers header or a computed field — did you mean \"Balance\"?"),
    ("Colour", "is", "red", None,
     "'Group Rules'!B4: field \"Colour\" is not a Customers header or a computed field — choose one from the drop-down"),
    (None, "is", "CA", None, "'Group Rules'!B4: the field is missing — choose one from the drop-down"),
    ("State", None, "CA", None, "'Group Rules'!C4: the operator is missing — choose one from the drop-down"),
    ("Balance", "atleast", 100, None,
     "'Group Rules'!C4: operator \"atleast\" is not an operator — did you mean \"at least\"?"),
    ("Balance", "grater than", 100, None,
     "'Group Rules'!C4: operator \"grater than\" is not an operator — did you mean \"greater than\"?"),
    ("State", "Is-Not", "CA", None,
     "'Group Rules'!C4: operator \"Is-Not\" is not an operator — did you mean \"is not\"?"),
    ("Status", "at least", "Active", None,
     "'Group Rules'!D4: \"Active\" is not a number or a date — type a number such as 1000 or a date such as 2026-03-31"),
    ("Days Overdue", "less than", "thirty", None,
     "'Group Rules'!D4: \"thirty\" is not a number — Days Overdue is a number: type one such as 1000"),
    ("Last Payment Date", "after", 45000, None,
     "'Group Rules'!D4: \"45000\" is not a date — type a date such as 2026-03-31"),
    ("Balance", "between", "lots", 10,
     "'Group Rules'!D4: \"lots\" is not a number — Balance is a number: type one such as 1000"),
    ("Balance", "greater than", "abc", None,
     "'Group Rules'!D4: \"abc\" is not a number — Balance is a number: type one such as 1000"),
    ("Balance", "between", 10, "x",
     "'Group Rules'!E4: \"x\" is not a number — Balance is a number: type one such as 1000"),
    ("Last Payment Date", "before", "soon", None,
     "'Group Rules'!D4: \"soon\" is not a date — type a date such as 2026-03-31"),
    ("Balance", "before", "2026-01-01", None,
     "'Group Rules'!C4: \"before\" compares dates but Balance is a number — use \"less than\""),
    ("State", "is", None, None,
     "'Group Rules'!D4: \"State is\" needs a value — type in Value what State is compared to"),
    ("Balance", "between", 100, None,
     "'Group Rules'!E4: \"Balance between\" needs a second value — type the upper bound in Value 2 (bounds are included)"),
    ("Balance", "between", 1000, 100,
     "'Group Rules'!E4: \"100\" is below \"1000\" — put the lower bound in Value and the upper bound in Value 2"),
    ("State", "equals", "CA", None,
     "'Group Rules'!C4: operator \"equals\" is not an operator — choose one from the drop-down"),
])
def test_a_bad_rule_is_a_problem_naming_its_cell(field, op, value, value2, message):
    book = book_of([cust("C1")], [rule("G", field, op, value, value2, row=4)])
    assert [str(p) for p in check(book)] == [message]


def test_a_group_with_a_bad_rule_is_not_rebuilt_and_keeps_its_members():
    stored = [Member("G", "C1", "Name C1", "Rule"), Member("G", "C3", "Name C3", "Added")]
    book = book_of([cust("C1"), cust("C2"), cust("C3")],
                   [rule("G", "State", "is", "CA"), rule("G", "Balanse", "at least", 1, row=3)],
                   members=stored, groups=[Group("G", updated=dt.datetime(2026, 4, 1))])
    plan = build(book, Ledger.from_book(book), AS_OF, now=NOW)
    assert plan.updates == ()
    assert [p.cell for p in plan.problems] == ["B3"]
    assert members(book) == ["C1", "C3"]


def test_a_rule_naming_a_group_not_on_the_groups_sheet_is_a_warning():
    book = book_of([cust("C1")], [rule("VIPP", "State", "is", "CA", row=7)], groups=["VIP"])
    assert [str(p) for p in check(book)] == [
        "warning: 'Group Rules'!A7: group \"VIPP\" is not on the Groups sheet; this rule is not used"
        " — add the group to Groups or correct the name"]


# --- membership and build ---------------------------------------------------------------------

def test_added_and_removed_rows_override_the_rules_and_survive_rebuilds():
    customers = [cust("C1"), cust("C2"), cust("C3", state="NV"), cust("C4", state="NV")]
    people = [Member("G", "C2", "", "Removed"), Member("G", "C3", "", "Added"), Member("G", "C4", "", "Added"),
              Member("G", "C4", "", "Removed")]
    book = book_of(customers, [rule("G", "State", "is", "CA")], members=people)
    assert members(book) == ["C1", "C3"]
    plan = build(book, Ledger.from_book(book), AS_OF, now=NOW)
    replace = plan.updates[0]
    assert replace == ReplaceRows("Group Members", (("Group", "G"), ("Source", "Rule")), (
        (("Group", "G"), ("Customer ID", "C1"), ("Name", "Name C1"), ("Source", "Rule")),
        (("Group", "G"), ("Customer ID", "C2"), ("Name", "Name C2"), ("Source", "Rule")),
    ))
    assert plan.updates[1] == SetCells("Groups", "Group", "G", (
        ("Members", 2), ("Updated", NOW), ("Description", "State is CA")))


def test_build_keeps_a_description_people_wrote_and_strips_the_time_zone():
    book = book_of([cust("C1")], [rule("G", "State", "is", "CA")], groups=[Group("G", description="Our best")])
    aware = dt.datetime(2026, 4, 15, 9, 30, 12, 345, tzinfo=dt.UTC)
    [_, cells] = build(book, Ledger.from_book(book), AS_OF, now=aware).updates
    assert cells.values == (("Members", 1), ("Updated", dt.datetime(2026, 4, 15, 9, 30, 12)))


def test_a_group_without_rules_has_only_its_added_members():
    book = book_of([cust("C1"), cust("C2")], members=[Member("G", "c2", "", "added")])
    assert members(book) == ["C2"]
    [replace, cells] = build(book, Ledger.from_book(book), AS_OF, now=NOW).updates
    assert replace.rows == ()
    assert dict(cells.values)["Members"] == 1


def test_a_frozen_group_is_computed_at_its_first_build_then_only_when_named():
    rules = [rule("Frozen", "State", "is", "CA")]
    first = book_of([cust("C1"), cust("C2", state="NV")], rules, groups=[Group("Frozen", auto_update=False)])
    assert members(first, "Frozen") == ["C1"]
    plan = build(first, Ledger.from_book(first), AS_OF, now=NOW)
    assert [r[1][1] for r in plan.updates[0].rows] == ["C1"]

    # Built once: C2 has moved to CA since, but a frozen group keeps its Rule rows.
    built = book_of([cust("C1"), cust("C2")], rules, members=[Member("Frozen", "C1", "Name C1", "Rule")],
                    groups=[Group("Frozen", auto_update=False, updated=NOW)])
    assert members(built, "Frozen") == ["C1"]
    plan = build(built, Ledger.from_book(built), AS_OF, now=NOW)
    assert plan.updates == ()
    assert plan.lines == ('group "Frozen": frozen, not rebuilt (name it with --group to rebuild it)',)

    plan = build(built, Ledger.from_book(built), AS_OF, names=["frozen"], now=NOW)
    assert [r[1][1] for r in plan.updates[0].rows] == ["C1", "C2"]


def test_a_frozen_group_built_empty_stays_frozen():
    book = book_of([cust("C1")], [rule("F", "State", "is", "NV")], groups=[Group("F", auto_update=False, updated=NOW)])
    assert build(book, Ledger.from_book(book), AS_OF, now=NOW).updates == ()


def test_build_names_only_the_groups_asked_for_and_reports_unknown_names():
    book = book_of([cust("C1")], [rule("A", "State", "is", "CA"), rule("B", "State", "is", "CA")])
    plan = build(book, Ledger.from_book(book), AS_OF, names=["B", "Nope"], now=NOW)
    assert [u.key for u in plan.updates if isinstance(u, SetCells)] == ["B"]
    assert [str(p) for p in plan.problems] == [
        'Groups: group "Nope" is not on the Groups sheet — check the name (groups: A, B)']


def test_vendor_groups_range_over_vendors():
    vendors = [Vendor("V1", "Paper Co", "Active", ("p@example.com",), state="CA", fields={"state": "CA"}),
               Vendor("V2", "Ink Co", "Active", ("i@example.com",), state="NV", fields={"state": "NV"})]
    book = book_of([cust("V1")], [rule("Suppliers", "State", "is", "CA")],
                   groups=[Group("Suppliers", kind="Vendor")], vendors=tuple(vendors))
    assert members_of(book, Ledger.from_book(book), "Suppliers", AS_OF) == []  # customers only
    from addin.groups import group_members
    assert ids(group_members(book, Ledger.from_book(book), "Suppliers", AS_OF)) == ["V1"]
    bad = book_of([], [rule("Suppliers", "Balance", "at least", 1, row=5)],
                  groups=[Group("Suppliers", kind="Vendor")], vendors=tuple(vendors))
    assert [str(p) for p in check(bad)] == [
        "'Group Rules'!B5: field \"Balance\" is computed for customers only — vendor groups use Vendors headers"]


# --- delete -----------------------------------------------------------------------------------

ADMIN = Access("boss", "Admin")


def guarded_book():
    return book_of([cust("C1")], [rule("VIP", "State", "is", "CA")], groups=["VIP", "Other"],
                   reminders=(ReminderStep(1, True, 3, "Before", group="vip",
                                           origin=Origin("Reminders", 3, {"group": "I"})),),
                   schedules=(Schedule("", "VIP ", True, 1, origin=Origin("Statement Schedules", 2, {"group": "B"})),),
                   users=(User("ann", "Limited", "VIP", Origin("Users", 4, {"group": "C"})),
                          User("boss", "Admin", origin=Origin("Users", 2, {"role": "B"}))))


def test_delete_is_refused_while_reminders_schedules_or_users_use_the_group():
    plan = delete_group(guarded_book(), "VIP", ADMIN)
    assert plan.updates == ()
    assert [str(p) for p in plan.problems] == [
        'Reminders!I3: uses group "VIP" — clear that cell first',
        '\'Statement Schedules\'!B2: uses group "VIP" — clear that cell first',
        'Users!C4: uses group "VIP" — clear that cell first',
    ]


@pytest.mark.parametrize(("access", "message"), [
    (Access("ann", "Full", origin=Origin("Users", 3, {"role": "B"})),
     'Users!B3: user "ann" is Full: only an Admin may delete a group — ask an Admin to do it'),
    (Access("zed", ""), 'Users: user "zed" is not on the Users sheet: only an Admin may delete a group — ask an Admin to do it'),
])
def test_delete_is_refused_when_the_user_is_not_an_admin(access, message):
    assert [str(p) for p in delete_group(guarded_book(), "Other", access).problems] == [message]


def test_delete_removes_the_groups_rows_from_the_three_group_sheets_only():
    plan = delete_group(guarded_book(), "other", ADMIN)
    assert plan.problems == () and plan.emails == ()
    assert plan.updates == (
        ReplaceRows("Groups", (("Group", "Other"),)),
        ReplaceRows("Group Rules", (("Group", "Other"),)),
        ReplaceRows("Group Members", (("Group", "Other"),)),
    )


# --- membership as a property -------------------------------------------------------------------

IDS = [f"C{i}" for i in range(8)]


@given(st.lists(st.sampled_from(["CA", "NV"]), min_size=8, max_size=8),
       st.sets(st.sampled_from(IDS)), st.sets(st.sampled_from(IDS)))
def test_membership_is_rule_matches_union_added_minus_removed(states, added, removed):
    customers = [cust(cid, state=s) for cid, s in zip(IDS, states, strict=True)]
    people = [Member("G", c, "", "Added") for c in sorted(added)] + [Member("G", c, "", "Removed") for c in sorted(removed)]
    book = book_of(customers, [rule("G", "State", "is", "CA")], members=people)
    by_rule = {c for c, s in zip(IDS, states, strict=True) if s == "CA"}
    assert members(book) == [c for c in IDS if c in (by_rule | added) - removed]


# --- the one-pass ledger figures equal the ledger's -----------------------------------------------

CIDS = ("K1", "K2", "k3 ")
amounts = st.integers(-5_000, 50_000).map(lambda c: Decimal(c) / 100)
days = st.integers(0, 120).map(lambda n: d("2026-01-01") + dt.timedelta(days=n))


@st.composite
def books(draw):
    invoices = []
    for n in range(draw(st.integers(0, 8))):
        date = draw(days)
        invoices.append(Invoice(f"I{n}", draw(st.sampled_from(CIDS)).strip(), date,
                                date + dt.timedelta(days=draw(st.integers(0, 60))), draw(amounts)))
    numbers = [i.number for i in invoices] + ["", "", "UNKNOWN", "i0 "]
    payments = [Payment(f"P{n}", draw(st.sampled_from(CIDS)), draw(days), draw(amounts),
                        draw(st.sampled_from(["Payment", CREDIT_NOTE])), draw(st.sampled_from(numbers)))
                for n in range(draw(st.integers(0, 10)))]
    return Book(customers=tuple(cust(c.strip()) for c in CIDS), invoices=tuple(invoices), payments=tuple(payments))


@given(books(), days)
def test_summaries_of_gives_the_ledgers_figures_for_every_customer(book, as_of):
    ledger = Ledger.from_book(book)
    assert summaries_of(book, as_of) == {c.id.casefold(): ledger.summary(c.id, as_of) for c in book.customers}

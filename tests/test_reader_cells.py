"""Cell converters: a column converts as its cells do; dates, labels, addresses."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addin.workbook import addresses, cells, schema, sheets

HUGE = [1e300, -1e300, float("inf"), float("-inf"), float("nan"), 1e12, 1e12 + 0.01, -1e12 - 0.01]
VALUES = st.one_of(
    st.just(""), st.just("  "), st.sampled_from(["#N/A", "#DIV/0!", "Active", "active", "TRUE", "no", "x"]),
    st.sampled_from(["2026-03-15", "31/02/2026", "$1,234.56", "1.234,56", "a@b.example.com", "bad@"]),
    st.text(max_size=6), st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.sampled_from([0.0, 1.0, 12.5, -3.0]), st.booleans(), st.sampled_from(HUGE),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)),
)
UNIFORM = st.one_of(
    st.lists(st.sampled_from(["", "C1", " C2 ", "Active", "#N/A"]), min_size=1),
    st.lists(st.one_of(st.just(""), st.dates()), min_size=1),
    st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1),
    st.lists(st.one_of(st.floats(min_value=-1e6, max_value=1e6), st.sampled_from(HUGE)), min_size=1),
    st.lists(st.sampled_from(["", True, False, "Active", "Inactive", 1.0]), min_size=1),
    st.lists(st.sampled_from(["", "a@b.example.com", "x@y.example.com; z@y.example.com"]), min_size=1),
)
CONVS = [
    cells.make(schema.Kind.TEXT, "name", required=True),
    cells.make(schema.Kind.TEXT, "memo"),
    cells.make(schema.Kind.DATE, "due date", required=True),
    cells.make(schema.Kind.DATE, "last reminder"),
    cells.make(schema.Kind.MONEY, "amount", required=True, positive=True),
    cells.make(schema.Kind.BOOL, "enabled", default=True),
    cells.make(schema.Kind.CHOICE, "status", required=True, choices=("Active", "Inactive")),
    cells.make(schema.Kind.CHOICE, "type", default="Payment", choices=("Payment", "Credit Note")),
    cells.make(schema.Kind.EMAILS, "email"),
    cells.make(schema.Kind.MONEY, "amount"),
    cells.make(schema.Kind.INT, "days", required=True, minimum=0, maximum=90),
    cells.make(schema.Kind.INT, "members"),
    cells.make(schema.Kind.NUMBER, "value"),
]


def per_cell(conv, values):
    out = []
    for v in values:
        try:
            out.append(("ok", cells.one(conv, v)))
        except cells.CellIssue as issue:
            out.append((issue.severity, issue.message))
    return out


def by_column(conv, values):
    typed, issues = conv(values)
    return [(issues[i].severity, issues[i].message) if i in issues else ("ok", v) for i, v in enumerate(typed)]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(VALUES, min_size=1, max_size=8), UNIFORM))
def test_a_column_converts_as_its_cells_do(values):
    for conv in CONVS:
        assert by_column(conv, values) == per_cell(conv, values)


def test_a_repeated_value_is_converted_once_but_true_and_one_keep_their_own_meaning():
    days = cells.make(schema.Kind.INT, "days")
    typed, issues = days([True, 1.0, True, 1.0])
    assert typed == [None, 1, None, 1] and sorted(issues) == [0, 2]
    assert issues[0].message == 'days "TRUE" is not a whole number'
    date = cells.make(schema.Kind.DATE, "due date", required=True)
    typed, issues = date(["#N/A", "#N/A", "#N/A", dt.date(2026, 3, 1)])
    assert typed == [None, None, None, dt.date(2026, 3, 1)] and sorted(issues) == [0, 1, 2]


@pytest.mark.parametrize(("text", "suggestion"), [
    ("31/02/2026", "2026-02-28"), ("2/29/2025", "2025-02-28"), ("15.03.26", "2026-03-15"),
    ("2026/3/31", "2026-03-31"), ("next Tuesday", "2026-03-15"), ("13/13/2026", "2026-03-15"),
])
def test_a_date_typed_as_text_gets_an_iso_suggestion(text, suggestion):
    assert cells.suggest_date(text) == suggestion


@pytest.mark.parametrize(("header", "name"), [
    ("Due Date", "due date"), ("Customer ID", "customer ID"), ("Invoice No", "invoice number"),
    ("No Reminders", "no reminders"), ("Attach CSV", "attach CSV"),
])
def test_headers_read_as_words_in_messages(header, name):
    assert cells.label(header) == name


@settings(max_examples=600, deadline=None)
@given(st.one_of(
    st.emails(), st.text(max_size=20), st.from_regex(r"[a-z.]{0,5}@[a-z.-]{0,8}", fullmatch=True),
    # domains the shortcut takes on itself, and their near misses
    st.from_regex(r"[a-z0-9]{1,8}@(?:[a-zA-Z0-9-]{1,10}\.){1,3}(?:[a-zA-Z]{2,6}|test|local|localhost|onion|invalid|"
                  r"arpa|[0-9]{2}|x[0-9])", fullmatch=True),
    st.from_regex(r"[a-z]{1,4}@(?:[a-z0-9]{0,3}\.)?(?:[a-z0-9]{2}|xn)--[a-z0-9]{1,6}\.com", fullmatch=True),
    st.integers(60, 66).map(lambda n: f"ap@{'b' * n}.example.com"),
    st.integers(1, 9).map(lambda n: "ap@" + ".".join(["c" * 60] * n) + ".com"),
))
def test_the_address_shortcut_agrees_with_email_validator(address):
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
        valid = True
    except EmailNotValidError:
        valid = False
    assert (addresses.address_problem(address) is None) == valid


def test_the_special_use_names_are_email_validators():
    """The shortcut's copy of the names email-validator refuses (imported only when needed)."""
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    assert frozenset(SPECIAL_USE_DOMAIN_NAMES) == addresses.SPECIAL_USE


def test_error_cells_are_found_in_the_sheet_xml(tmp_path):
    import xlsxwriter

    path = tmp_path / "e.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Data Sheet")
    ws.write_row(0, 0, ["a", "b"])
    ws.write_formula(1, 1, "=1/0", None, "#DIV/0!")
    ws.write_formula(27, 28, "=NA()", None, "#N/A")
    ws.write_string(2, 0, 't="e" in a text cell')
    wb.close()
    scan = sheets.ErrorCells(path)
    try:
        assert scan.sheet("Data Sheet").cells == {1: {1: "#DIV/0!"}, 27: {28: "#N/A"}}
        assert scan.sheet("Missing") == sheets.NO_MARKS
    finally:
        scan.close()


@pytest.mark.parametrize(("kind", "value", "message"), [
    (schema.Kind.MONEY, 1e300, "amount 1E+300 is beyond 1,000,000,000,000"),
    (schema.Kind.MONEY, float("inf"), "amount INF is beyond 1,000,000,000,000"),
    (schema.Kind.MONEY, float("nan"), "amount NAN is beyond 1,000,000,000,000"),
    (schema.Kind.MONEY, -1e13, "amount -10000000000000 is beyond 1,000,000,000,000"),
    (schema.Kind.MONEY, "$2,000,000,000,000", 'amount "$2,000,000,000,000" is beyond 1,000,000,000,000'),
    (schema.Kind.INT, 1e300, "amount 1E+300 is beyond 1,000,000,000,000"),
    (schema.Kind.INT, "99999999999999", 'amount "99999999999999" is beyond 1,000,000,000,000'),
    (schema.Kind.INT, float("inf"), 'amount "INF" is not a whole number'),
    (schema.Kind.NUMBER, 1e300, "amount 1E+300 is beyond 1,000,000,000,000"),
    (schema.Kind.NUMBER, "1e300", 'amount "1e300" is beyond 1,000,000,000,000'),
    (schema.Kind.NUMBER, "NaN", 'amount "NaN" is not a number'),
    (schema.Kind.DATE, 1e300, 'amount "1E+300" is not a date'),
])
def test_numbers_beyond_the_limit_are_errors_in_every_kind(kind, value, message):
    with pytest.raises(cells.CellIssue) as caught:
        cells.one(cells.make(kind, "amount"), value)
    assert (caught.value.severity, caught.value.message) == ("error", message)


def test_rule_values_beyond_the_limit_are_errors():
    with pytest.raises(cells.CellIssue, match="^value 1E\\+300 is beyond 1,000,000,000,000$"):
        cells.raw(1e300)
    with pytest.raises(cells.CellIssue, match="^value NAN is beyond"):
        cells.raw(float("nan"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=6), st.sampled_from(["INV-1", " inv-2", "a  b", "x\t", "ÉTÉ", "ß", "C\u00a01"])),
                max_size=8))
def test_keys_in_bulk_are_each_texts_key(texts):
    assert schema.normalize_all(texts) == [schema.normalize(t) for t in texts]

"""The workbook reader: SPEC §2 "Rules for reading", on real .xlsx files built from inline tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from addin.model import Origin
from addin.problems import Severity
from addin.workbook.reader import load

D1, D31 = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
CUSTOMERS = [
    ["Customer ID", "Name", "Status", "Email"],
    ["C1", "Acme Ltd", "Active", "ap@acme.example.com"],
    ["C2", "Bolt Inc", "Active", "ap@bolt.example.com"],
]


def shown(book, *, notices: bool = False) -> list[str]:
    return [str(p) for p in book.problems if notices or p.severity is not Severity.NOTICE]


# --- the messy workbook -------------------------------------------------------------------------

MESSY = {
    "Customers": [
        ["customer id ", " NAME", "status", "Email", "Tier"],  # other case and spacing, an extra column
        ["C1", "Acme Ltd", "active", "ap@acme.example.com; boss@acme.example.com", "Gold"],
        ["C2", "Bolt Inc", "Active", "bolt-at-example.com", 3],
        [None, None, None, None, None],
        ["C3", "Cogs SA", "Active", "cogs@example.com", None],
    ],
    "Invoices": [
        ["Amount", "Invoice No", "Customer ID", "Invoice Date", "Due Date"],  # another order
        [100, "INV-1", "c1", D1, D31],
        [200, "INV-2", "C1", "2026-03-02", D31],
        [300, "INV-3", "C1", D1, "31/02/2026"],
        ["1.234,56", "INV-4", "C1", D1, D31],
        ["$1,234.56", "INV-5", "C3", D1, D31],
        [None, None, None, None, None],
        ["#DIV/0!", "INV-6", "C3", D1, D31],
        [50, " inv-1", "C3", D1, D31],
        [60, "INV-7", "C9", D1, D31],
        [70, "INV-8", "C3", "March 3rd", D31],
        ["   ", "   ", None, None, None],
    ],
    "Payments": [
        ["Payment ID", "Customer ID", "Amount", "Invoice No"],  # no Date column
        ["P1", "C1", 100, "INV-1"],
    ],
    "Group Rules": [
        ["Group", "Field", "Operator", "Value"],
        ["VIP", "Status", "is", "Active"],
        ["VIP", "Balance", "equals", 100],
    ],
}

MESSY_PROBLEMS = [
    'Customers!D3: email "bolt-at-example.com" is not a valid address (an email address must have an @-sign)'
    " — correct the address; separate several addresses with ;",
    'warning: Invoices!D3: invoice date "2026-03-02" is text, read as 2026-03-02'
    " — retype it as a date so Excel treats it as one",
    'Invoices!E4: due date "31/02/2026" is not a date — type it as a date, e.g. 2026-02-28',
    'Invoices!A5: amount "1.234,56" is ambiguous (decimal point or comma?) — type it as a number, e.g. 1234.56',
    'warning: Invoices!A6: amount "$1,234.56" is text, read as 1234.56 — type it as a number',
    'Invoices!A8: amount "#DIV/0!" is an Excel error, not a value — correct the formula or type the value',
    'Invoices!B9: invoice number "inv-1" repeats row 2 ("INV-1") — give each invoice its own number; '
    "this row is not used",
    'Invoices!C10: customer ID "C9" is not on the Customers sheet — add the customer or correct the ID; '
    "this row is not used",
    'Invoices!D11: invoice date "March 3rd" is not a date — type it as a date, e.g. 2026-03-15',
    'Payments!1:1: missing column "Date" — add a column headed "Date" in row 1',
    # A rule's operator is checked by groups.check (its group then keeps its members), not here.
]


def test_a_messy_workbook_gives_one_precise_message_per_bad_cell(make_workbook):
    book = load(make_workbook(MESSY))

    assert shown(book) == MESSY_PROBLEMS


def test_the_other_rows_of_a_messy_workbook_are_still_read(make_workbook):
    book = load(make_workbook(MESSY))

    assert [c.id for c in book.customers] == ["C1", "C2", "C3"]
    assert [(i.number, i.customer_id, i.amount) for i in book.invoices] == [
        ("INV-1", "C1", Decimal("100.00")),
        ("INV-2", "C1", Decimal("200.00")),
        ("INV-5", "C3", Decimal("1234.56")),
    ]
    assert book.invoices[1].invoice_date == dt.date(2026, 3, 2)
    assert book.payments == ()
    assert [(r.operator, r.value) for r in book.rules] == [("is", "Active"), ("equals", Decimal("100"))]


def test_headers_match_in_any_order_and_case_and_extra_columns_are_kept_as_typed(make_workbook):
    book = load(make_workbook(MESSY))
    acme, bolt, _ = book.customers

    assert acme.status == "Active"  # choices come back in the schema's spelling
    assert acme.emails == ("ap@acme.example.com", "boss@acme.example.com")
    assert acme.fields["tier"] == "Gold" and bolt.fields["tier"] == 3.0
    assert acme.fields["email"] == "ap@acme.example.com; boss@acme.example.com"
    assert acme.origin.ref("Tier") == "Customers!E2"
    assert book.invoices[0].origin.ref("Amount") == "Invoices!A2"


def test_a_bad_optional_cell_keeps_the_row_but_blocks_the_customer(make_workbook):
    book = load(make_workbook(MESSY))

    bolt = book.customer("C2")
    assert bolt is not None and bolt.emails == ()
    assert set(book.holds.customers) == {"c1", "c2", "c3", "c9"}
    assert [p.cell for p in book.holds.customer("C2")] == ["D3"]


def test_problems_on_customer_rows_carry_the_customer(make_workbook):
    book = load(make_workbook(MESSY))

    by_cell = {p.where: p.customer_id for p in book.problems}
    assert by_cell["Invoices!E4"] == "C1"
    assert by_cell["Invoices!C10"] == "C9"
    assert by_cell["Payments!1:1"] is None


# --- sheets and headers -------------------------------------------------------------------------

def test_a_missing_optional_sheet_is_a_notice_and_a_missing_required_sheet_an_error(make_workbook):
    book = load(make_workbook({"Customers": CUSTOMERS, "Settings": [["Key", "Value"]]}, required=False))

    assert "Invoices: the sheet is missing — add a sheet named \"Invoices\" with its headers in row 1, " \
           "as in the template" in shown(book)
    assert 'notice: Payments: no such sheet; read as empty — add a sheet named "Payments" to use it' \
        in shown(book, notices=True)
    assert len(book.customers) == 2


def test_a_missing_required_header_skips_the_sheet(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", D1, D31, 10]],
    }))

    assert shown(book) == ['Invoices!1:1: missing column "Customer ID" — add a column headed "Customer ID" in row 1']
    assert book.invoices == ()


def test_sheet_names_match_whatever_their_case_and_spaces(make_workbook):
    book = load(make_workbook({
        "Settings": [["Key", "Value"]],
        " customers": CUSTOMERS,
        "INVOICES": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", D1, D31, 10]],
    }, required=False))

    assert [i.number for i in book.invoices] == ["INV-1"]
    assert book.invoices[0].origin.sheet == "INVOICES"
    assert book.sheet_names["customers"] == " customers"
    assert not book.errors


def test_blank_rows_and_rows_of_spaces_are_ignored(make_workbook):
    book = load(make_workbook({
        "Customers": [*CUSTOMERS[:2], [None] * 4, ["  ", "", " ", None], *CUSTOMERS[2:]],
    }))

    assert [c.id for c in book.customers] == ["C1", "C2"]
    assert book.customers[1].origin.row == 5
    assert not book.errors


def test_a_repeated_header_is_a_warning_and_the_first_column_is_read(make_workbook):
    book = load(make_workbook({"Customers": [
        ["Customer ID", "Name", "Status", "Email", "name"],
        ["C1", "Acme", "Active", "a@acme.example.com", "Other"],
    ]}))

    assert shown(book) == ['warning: Customers!E1: column "name" appears twice — only column B is read; '
                           "remove or rename one of them"]
    assert book.customers[0].name == "Acme"


# --- cells --------------------------------------------------------------------------------------

def test_error_cells_from_formulas_are_errors_never_blanks(tmp_path):
    import xlsxwriter

    path = tmp_path / "formulas.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    wb.add_worksheet("Settings").write_row(0, 0, ["Key", "Value"])
    ws = wb.add_worksheet("Customers")
    for r, row in enumerate(CUSTOMERS):
        ws.write_row(r, 0, row)
    ws = wb.add_worksheet("Invoices")
    ws.write_row(0, 0, ["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Memo"])
    for r, (number, memo) in enumerate([("INV-1", None), ("INV-2", "=NA()"), ("INV-3", None)], start=1):
        ws.write_row(r, 0, [number, "C1"])
        ws.write_datetime(r, 2, dt.datetime(2026, 3, 1), date)
        ws.write_datetime(r, 3, dt.datetime(2026, 3, 31), date)
        ws.write_number(r, 4, 10 * r)
        if memo:
            ws.write_formula(r, 5, memo, None, "#N/A")
    ws.write_formula(3, 4, "=1/0", None, "#DIV/0!")
    wb.close()

    book = load(path)

    assert shown(book) == [
        'Invoices!F3: memo "#N/A" is an Excel error, not a value — correct the formula or type the value',
        'Invoices!E4: amount "#DIV/0!" is an Excel error, not a value — correct the formula or type the value',
    ]
    assert [(i.number, i.memo) for i in book.invoices] == [("INV-1", ""), ("INV-2", "")]
    assert book.is_blocked("C1")


@pytest.mark.parametrize(("typed", "expected"), [
    ("TRUE", True), ("false", False), ("yes", True), ("No", False), ("oui", True), ("non", False),
    (1, True), (0, False), ("x", True), (True, True), (None, False),
])
def test_booleans_read_words_and_numbers_and_a_blank_takes_the_default(make_workbook, typed, expected):
    book = load(make_workbook({"Customers": [
        ["Customer ID", "Name", "Status", "Email", "No Reminders"],
        ["C1", "Acme", "Active", "a@acme.example.com", typed],
    ]}))

    assert book.customers[0].no_reminders is expected
    assert not book.problems or all(p.severity is Severity.NOTICE for p in book.problems)


def test_a_word_that_is_not_a_boolean_is_an_error(make_workbook):
    book = load(make_workbook({"Customers": [
        ["Customer ID", "Name", "Status", "Email", "No Reminders"],
        ["C1", "Acme", "Active", "a@acme.example.com", "maybe"],
    ]}))

    assert shown(book) == ['Customers!E2: no reminders "maybe" is not TRUE or FALSE — type TRUE or FALSE '
                           "(yes/no also work)"]


def test_amounts_are_decimals_rounded_to_cents_and_negative_amounts_are_errors(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", D1, D31, 10.005],
                     ["INV-2", "C1", D1, D31, 0.1 + 0.2],
                     ["INV-3", "C1", D1, D31, -5]],
    }))

    assert [i.amount for i in book.invoices] == [Decimal("10.01"), Decimal("0.30")]
    assert shown(book) == ['Invoices!E4: amount "-5" is negative — type it as a positive amount; for a refund '
                           'or credit, use a Payments row of Type "Credit Note"']


def test_a_date_typed_as_a_plain_number_is_read_with_a_warning(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", 46082, D31, 10]],
    }))

    assert book.invoices[0].invoice_date == D1
    assert shown(book) == ['warning: Invoices!C2: invoice date "46082" is a number, read as 2026-03-01 — '
                           "format the cell as a date"]


def test_a_required_cell_left_blank_drops_the_row_with_one_error(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", D1, None, 10]],
    }))

    assert shown(book) == ["Invoices!D2: due date is blank — fill in the due date"]
    assert book.invoices == ()


# --- cross-row checks ---------------------------------------------------------------------------

def test_a_repeated_customer_id_is_an_error_and_the_first_row_stands(make_workbook):
    book = load(make_workbook({"Customers": [*CUSTOMERS, [" c1", "Copy", "Active", "c@x.example.com"]]}))

    assert shown(book) == ['Customers!A4: customer ID "c1" is already used on row 2 — give each customer its '
                           "own ID; this row is not used"]
    assert book.customer("C1").name == "Acme Ltd"


def test_ids_are_rewritten_to_their_canonical_spelling(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", " c1 ", D1, D31, 100]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],
                     ["P1", "C1", D31, 40, "inv-1"],
                     ["P2", "c2", D31, 15, None]],
    }))

    assert book.invoices[0].customer_id == "C1"
    assert [(p.customer_id, p.invoice_no, p.type) for p in book.payments] == [
        ("C1", "INV-1", "Payment"), ("C2", "", "Payment")]
    assert not book.problems or not book.errors


def test_a_payment_naming_another_customers_invoice_row_with_an_error_holds_its_own_customer(make_workbook):
    """The invoice's error holds its customer; the payment's own customer is held too, so that
    its statement does not go out without the payment. One's own invoice needs no second error."""
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", D1, "garbage", 100], ["INV-9", "C2", D1, "garbage", 50]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],
                     ["P1", "C1", D31, 40, "INV-9"], ["P2", "C1", D31, 40, "inv-1"]],
    }))

    assert shown(book) == [
        'Invoices!D2: due date "garbage" is not a date — type it as a date, e.g. 2026-03-15',
        'Invoices!D3: due date "garbage" is not a date — type it as a date, e.g. 2026-03-15',
        'Payments!E2: invoice "INV-9" is on row 3 of the Invoices sheet, which has an error — correct that row; '
        "until then this payment is not used",
    ]
    assert [p.customer_id for p in book.errors] == ["C1", "C2", "C1"]
    assert book.payments == ()  # both wait for their invoice


def test_a_payment_naming_an_unknown_or_foreign_invoice_is_an_error_and_stays_unapplied(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", D1, D31, 100]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],
                     ["P1", "C2", D31, 40, "INV-1"],
                     ["P2", "C2", D31, 15, "INV-9"],
                     ["P3", "C7", D31, 15, None]],
    }))

    assert shown(book) == [
        'Payments!E2: invoice "INV-1" belongs to customer "C1", not "C2" — correct the invoice number or '
        "the customer ID",
        'Payments!E3: invoice number "INV-9" is not on the Invoices sheet — correct the number, or leave it '
        "blank for an unapplied payment",
        'Payments!B4: customer ID "C7" is not on the Customers sheet — add the customer or correct the ID; '
        "this row is not used",
    ]
    assert [(p.payment_id, p.invoice_no) for p in book.payments] == [("P1", ""), ("P2", "")]
    # P1 is C2's or pays C1's INV-1: nobody can tell, so both wait; P3 belongs to nobody known.
    assert book.is_blocked("C2") and book.is_blocked("C1")
    assert [p.cell for p in book.holds.unattributed] == ["B4"]


def test_over_application_warns_on_the_payment_rows_that_cross_the_amount(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", D1, D31, 1000]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],
                     ["P2", "C1", dt.date(2026, 3, 20), 500, "INV-1"],
                     ["P1", "C1", dt.date(2026, 3, 10), 600, "INV-1"],
                     ["P3", "C1", dt.date(2026, 3, 25), 50, "INV-1"]],
    }))

    assert shown(book) == [
        'warning: Payments!D2: payments applied to invoice "INV-1" reach 1,100.00, more than its amount '
        "1,000.00 — the excess 100.00 counts as an unapplied credit; correct the amount or the invoice number "
        "if that is not intended",
        'warning: Payments!D4: payments applied to invoice "INV-1" reach 1,150.00, more than its amount '
        "1,000.00 — the excess 50.00 counts as an unapplied credit; correct the amount or the invoice number "
        "if that is not intended",
    ]
    assert len(book.payments) == 3 and not book.is_blocked("C1")


def test_a_due_date_before_the_invoice_date_is_a_warning(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", D31, D1, 100]],
    }))

    assert shown(book) == ["warning: Invoices!D2: due date 2026-03-01 is before the invoice date 2026-03-31 — "
                           "correct one of the two dates"]
    assert len(book.invoices) == 1


def test_a_payment_for_an_invoice_row_with_an_error_gets_no_second_message(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", D1, D31, "ten"]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],
                     ["P1", "C1", D31, 10, "INV-1"]],
    }))

    assert shown(book) == ['Invoices!E2: amount "ten" is not an amount — type it as a number, e.g. 1234.56']
    assert book.payments == ()


def test_records_made_by_the_reader_equal_records_made_by_their_constructors(make_workbook):

    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Memo"],
                     ["Inv  7", "C1", D1, D31, 100, "note"]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],
                     ["P1", "C1", D31, 40, "INV 7"]],
    }))

    for record in (*book.invoices, *book.payments):
        fields = {name: getattr(record, name) for name in type(record)._fields if name != "key"}
        again = type(record)(**fields)
        assert again == record and hash(again) == hash(record)
        assert type(again) is type(record) and again._asdict() == record._asdict()
    assert book.invoices[0].key == "inv 7"
    origin = book.invoices[0].origin
    again = type(origin)(*origin)
    assert type(again) is type(origin) and again == origin and hash(again) == hash(origin)
    assert again == Origin(origin.sheet, origin.row) and repr(again) == "Origin(sheet='Invoices', row=2)"
    assert origin.cell("Memo") == "F2" and origin.ref("Memo") == "Invoices!F2"
    assert book.payments[0].invoice_no == "Inv  7"


def test_a_number_repeating_a_row_dropped_for_an_error_is_still_a_repeat(make_workbook):
    path = make_workbook({
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Ada", "Active", "ada@example.com"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", dt.date(2026, 3, 1), "31/02/2026", 100],
                     [" inv-1 ", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 50]],
    })
    book = load(path)
    assert [str(p) for p in book.problems if p.sheet == "Invoices"] == [
        'Invoices!D2: due date "31/02/2026" is not a date — type it as a date, e.g. 2026-02-28',
        'Invoices!A3: invoice number "inv-1" repeats row 2 ("INV-1") — give each invoice its own number; '
        "this row is not used",
    ]
    assert book.invoices == ()


def test_invoice_keys_match_the_schema_rule_even_with_a_line_break_inside(make_workbook):
    from addin.workbook.schema import normalize

    path = make_workbook({
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Ada", "Active", "ada@example.com"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV\n7", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 50]],
    })
    [invoice] = load(path).invoices
    assert invoice.key == normalize(invoice.number) == "inv 7"


def test_the_add_in_columns_are_kept_as_read_aligned_with_the_records_and_never_checked(tmp_path, make_workbook):
    book = load(make_workbook({
        "Customers": [["Customer ID", "Name", "Status", "Email", "Balance", "Overdue"],
                      ["C1", "Acme Ltd", "Active", "ap@acme.example.com", 12.5, "junk"],
                      ["C1", "Acme again", "Active", "ap@acme.example.com", 1, 2],  # a repeated ID: dropped
                      [None, None, None, None, 99, None],  # only an add-in cell: still a blank row
                      ["C2", "Bolt Inc", "Active", "ap@bolt.example.com", None, 0]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Paid", "Balance", "Status"],
                     ["INV-1", "C1", D1, D31, 100, 40, 60, "Open"],
                     ["INV-2", "C9", D1, D31, 100, 1, 2, "Paid"],  # an unknown customer: dropped
                     ["INV-3", "C2", D1, D31, 100, None, "n/a", " Overdue "]],
    }))

    assert [str(p) for p in book.errors] == [
        'Customers!A3: customer ID "C1" is already used on row 2 — give each customer its own ID; this row is not used',
        'Invoices!B3: customer ID "C9" is not on the Customers sheet — add the customer or correct the ID; '
        "this row is not used",
    ]
    assert [c.id for c in book.customers] == ["C1", "C2"]
    assert book.as_read["customers"] == {"balance": [12.5, ""], "overdue": ["junk", 0.0]}
    assert [i.number for i in book.invoices] == ["INV-1", "INV-3"]
    assert book.as_read["invoices"] == {"paid": [40.0, ""], "balance": [60.0, "n/a"], "status": ["Open", " Overdue "]}
    assert [i.status for i in book.invoices] == ["Open", "Overdue"]
    assert "balance" not in book.customers[0].fields  # an add-in figure is never a field for group rules

    plain = load(make_workbook({"Customers": CUSTOMERS}))
    assert plain.as_read == {"customers": {}, "invoices": {}}  # no add-in columns on these sheets


def test_a_foreign_invoice_is_told_beside_a_row_of_an_unknown_customer_with_no_invoice(make_workbook):
    # One mismatch and one blank number: no count of them may stand for "only blanks differ".
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", D1, D31, 100], ["INV-2", "C2", D1, D31, 100]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],
                     ["P1", "C1", D31, 20, "INV-2"],
                     ["P2", "C7", D31, 15, None]],
    }))

    assert shown(book) == [
        'Payments!E2: invoice "INV-2" belongs to customer "C2", not "C1" — correct the invoice number or '
        "the customer ID",
        'Payments!B3: customer ID "C7" is not on the Customers sheet — add the customer or correct the ID; '
        "this row is not used",
    ]
    assert [(p.payment_id, p.invoice_no) for p in book.payments] == [("P1", "")]  # not taken off C2's INV-2


def test_the_books_ledger_is_made_once_and_sees_what_the_records_say(make_workbook):
    import dataclasses

    from addin.ledger import Ledger

    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", " c1 ", D1, D31, 100], ["INV-2", "C9", D1, D31, 50], ["Inv-3", "C2", D1, D31, 70]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],  # no Type column
                     ["P1", "C1", D31, 40, "inv-1"], ["P2", "C2", D31, 15, "INV-1"], ["P3", "C1", D31, 5, "INV-2"],
                     ["P4", "c2", D31, 90, " INV-3"], ["P5", "C7", D31, 1, None]],
    }))

    ledger = Ledger.from_book(book)
    assert ledger is Ledger.from_book(book)  # made once per book
    assert ledger is Ledger.from_book(dataclasses.replace(book, problems=()))  # and shared by its copies
    assert [p.payment_id for p in book.payments] == ["P1", "P2", "P4"]  # P3 waits for INV-2; P5 has no customer
    assert [p.invoice_no for p in book.payments] == ["INV-1", "", "Inv-3"]  # P2 names C1's invoice: unapplied
    assert ledger.summary("C2", D31) == Ledger(book.invoices, book.payments).summary("C2", D31)
    assert ledger.summary("C2", D31).balance == Decimal("-35.00")  # 20.00 over Inv-3 and P2's 15.00 unapplied
    assert [str(p) for p in book.problems if "reach" in p.message] == [
        'warning: Payments!D5: payments applied to invoice "Inv-3" reach 90.00, more than its amount 70.00 — '
        "the excess 20.00 counts as an unapplied credit; correct the amount or the invoice number if that is "
        "not intended"]

"""People's texts: sandboxed placeholders, errors naming the cell, money and dates per language."""

import datetime as dt
from decimal import Decimal

import pytest

from addin.ledger import OpenItem
from addin.model import Customer, Invoice, Settings
from addin.render import fmt
from addin.render.texts import Source, TextError, context, render, to_html

SETTINGS = Settings(company_name="Maple Books", company_email="billing@maple.example", company_phone="555-0100")
ADA = Customer("C1", "Lovelace & Co", "Active", ("ada@example.com",), contact="Ada King")
INV = Invoice("INV-7", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), Decimal("1234.50"), memo="Consulting")
ITEM = OpenItem(INV, Decimal("0.00"), Decimal("1234.50"), 12)


def test_documented_placeholders_render_formatted_for_the_language():
    ctx = context(SETTINGS, ADA, item=ITEM)
    text = render("{{ customer.first_name }}: {{ invoice.number }} of {{ invoice.amount }} due {{ invoice.due_date }}"
                  " ({{ invoice.days_overdue }} days) — {{ company.name }}, {{ company.phone }}", ctx)
    assert text == "Ada: INV-7 of $1,234.50 due Mar 31, 2026 (12 days) — Maple Books, 555-0100"
    fr = context(SETTINGS, Customer("C2", "Bouchard", "Active", ("b@x.ca",), language="fr"), item=ITEM)
    assert render("{{ invoice.balance }} le {{ invoice.due_date }}", fr) == "1 234,50 $ le 31 mars 2026"


def test_money_and_dates_per_language_as_the_spec_shows():
    assert fmt.money(Decimal("1234.5"), "USD", "en") == "$1,234.50"
    assert fmt.money(Decimal("1234.5"), "USD", "fr") == "1 234,50 $"
    assert fmt.money(Decimal("-5"), "EUR", "fr") == "-5,00 €"
    assert fmt.date(dt.date(2026, 4, 7), "fr") == "7 avr. 2026"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hello {{ customer.nickname }}",
         "Reminders!H3: the text uses an unknown placeholder ('dict object' has no attribute 'nickname')"),
        ("Hello {{ customer.name ", "Reminders!H3: the text has a template error (unexpected end of template, "
                                   "expected 'end of print statement', line 1)"),
        ("{{ customer.__class__.__mro__ }}", "Reminders!H3: the text tries something not allowed (access to "
                                             "attribute '__class__' of 'dict' object is unsafe)"),
        ("{{ ''.__class__.__base__.__subclasses__() }}", "Reminders!H3: the text tries something not allowed"),
    ],
)
def test_a_bad_text_is_reported_with_its_cell_and_never_reaches_python_internals(text, message):
    with pytest.raises(TextError) as caught:
        render(text, context(SETTINGS, ADA), Source("Reminders", "H3"))
    assert str(caught.value.problem).startswith(message)
    assert str(caught.value.problem).endswith("— correct the text: placeholders are written {{ customer.name }}, "
                                              "see the README for the list")


def test_html_version_escapes_customer_text_and_keeps_paragraphs():
    assert to_html("Dear <b>Ada</b> & co,\n\nPlease pay.\nThanks") == (
        "<p>Dear &lt;b&gt;Ada&lt;/b&gt; &amp; co,</p>\n<p>Please pay.<br>\nThanks</p>")

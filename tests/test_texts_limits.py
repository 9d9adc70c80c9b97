"""People's texts cannot blow up: the sandbox refuses, before allocating, what would be huge (SPEC §5)."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addin.ledger import OpenItem
from addin.model import Customer, Invoice, Settings
from addin.render import sandbox
from addin.render.texts import Source, TextError, context, render

SETTINGS = Settings(company_name="Maple Books", company_email="billing@maple.example", company_phone="555-0100")
ADA = Customer("C1", "Lovelace & Co", "Active", ("ada@example.com",), contact="Ada King")
INV = Invoice("INV-7", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), Decimal("1234.50"), memo="Consulting")
CTX = {**context(SETTINGS, ADA, item=OpenItem(INV, Decimal("0.00"), Decimal("1234.50"), 12)), "attachment": True}
CELL = Source("Reminders", "H2")
SIZE = "make the text shorter: it may not build more than 1 MB"
BIG = 30_000_000  # 30 times the limit: refused, yet harmless were a guard missing (the test then fails, no crash)


def problem(text: str) -> str:
    with pytest.raises(TextError) as caught:
        render(text, CTX, CELL)
    return str(caught.value.problem)


def refused_without_allocating(text: str) -> str:
    """The problem of a refused text, checking that rendering it never held more than 10 MB."""
    render("{{ customer.name }}", CTX, CELL)  # compile the sandbox before measuring
    tracemalloc.start()
    try:
        message = problem(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, f"{peak:,} bytes allocated for {text!r}"
    return message


@pytest.mark.parametrize("text, what", [
    (f"{{{{ 'x' * {BIG} }}}}", "a repetition"),
    (f"{{{{ {BIG} * customer.name }}}}", "a repetition"),
    (f"{{{{ [1, 2] * {BIG} }}}}", "a repetition"),
    ("{{ 'x' * 4000000000 }}", "a repetition"),
    (f"{{{{ customer.name|center({BIG}) }}}}", "a padded value"),
    (f"{{{{ (customer.name ~ '\\n') * 9 | indent({BIG}) }}}}", "an indented value"),
    ("{{ 'ab cd ef'|wordwrap(1, wrapstring='-' * 900000) }}", "a wrapped value"),
    (f"{{{{ '%{BIG}s'|format(1) }}}}", "a formatted value"),
    (f"{{{{ '%{BIG}d' % invoice.days_overdue }}}}", "a formatted value"),
    (f"{{{{ '%.{BIG}f' % 1.5 }}}}", "a formatted value"),
    (f"{{{{ '%*s' % ({BIG}, 'x') }}}}", "a formatted value"),
    (f"{{{{ '{{:>{BIG}}}'.format(1) }}}}", "a formatted value"),
    (f"{{{{ '{{:.{BIG}f}}'.format(1.5) }}}}", "a formatted value"),
    (f"{{{{ '{{:{{}}}}'.format(1, {BIG}) }}}}", "a formatted value"),
    (f"{{{{ '{{x:>{BIG}}}'.format_map({{'x': 1}}) }}}}", "a formatted value"),
    (f"{{{{ customer.name.ljust({BIG}) }}}}", "a padded value"),
    (f"{{{{ customer.name.rjust({BIG}) }}}}", "a padded value"),
    (f"{{{{ customer.name.center({BIG}) }}}}", "a padded value"),
    (f"{{{{ invoice.number.zfill({BIG}) }}}}", "a padded value"),
    (f"{{{{ ('\\t' * 100).expandtabs({BIG}) }}}}", "an expanded value"),
    ("{{ range(100000)|join('x' * 1000) }}", "a joined value"),
    ("{{ ('x' * 1000).join(range(100000)) }}", "a joined value"),
    ("{{ range(1000)|map('string')|join(customer.name * 2000) }}", "a joined value"),
    ("{{ ('x' * 2000)|replace('', 'y' * 2000) }}", "a replacement"),
    ("{{ ('x' * 2000).replace('x', 'y' * 2000) }}", "a replacement"),
    (f"{{{{ customer.name|batch({BIG}, 'x')|list }}}}", "the batch filter"),
    (f"{{{{ customer.name|slice({BIG})|list }}}}", "the slice filter"),
    ("{{ ('x' * 4000)|urlize(target='y' * 100000) }}", "the links it makes"),
    ("{{ dict(a=[[[1]]])|tojson(indent=9000000) }}", "its JSON"),
    ("{{ ([[1]] * 50000)|sum(start=[]) }}", "the sum filter"),
    (f"{{{{ (1).to_bytes({BIG}, 'big') }}}}", "a value it builds"),
    ("{% set a = 'x' * 600000 %}{{ a ~ a }}", "a joined value"),
    ("{% set a = 'x' * 600000 %}{{ a + a }}", "a sum"),
    ("{% set a = [customer.name] * 30000 %}{{ (a + a + a)|length }}", "a sum"),
    ("{% macro m(s) %}{{ m(s ~ s) }}{% endmacro %}{{ m(customer.name) }}", "a joined value"),
    ("{% set d = dict(a='x' * 600000, b='y' * 600000) %}{{ d.values() }}", "a value it writes"),
    ("{% set d = dict(a='x' * 600000, b='y' * 600000) %}{{ d.items()|list }}", "a value it uses"),
    ("{% set a = 'x' * 600000 %}{{ [a, a, a]|string }}", "a value it uses"),
    ("{% set a = 'x' * 600000 %}{{ [a, a, a] }}", "a value it writes"),
    ("{% set a = 'x' * 600000 %}{{ a }}{{ a }}", "its result"),
    ("{% set a = 'x' * 600000 %}{% macro m() %}{% for i in range(9) %}{{ a }}{% endfor %}{% endmacro %}"
     "{{ m()|length }}", "its result"),
], ids=lambda v: v if len(v) < 30 else None)
def test_an_operation_that_would_build_something_huge_is_refused_before_allocating(text, what):
    assert refused_without_allocating(text) == (
        f"Reminders!H2: the text cannot be rendered: {what} would exceed 1 MB — {SIZE}")


@pytest.mark.parametrize("text", [
    "{{ 2 ** 4000000000 }}",
    "{{ 7 ** 30000000 }}",
    "{{ (7 ** 4000) * (7 ** 4000) }}",
    "{{ (2 ** 10000) * (2 ** 5000) }}",
])
def test_numbers_too_long_to_write_are_refused_before_computing_them(text):
    assert refused_without_allocating(text) == (
        "Reminders!H2: the text cannot be rendered: a number it computes would have more than 4,000 digits — "
        f"{SIZE}")


@pytest.mark.parametrize("text", [
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for c in 'ab' recursive %}{{ loop('ab') }}{% endfor %}",
    "{% macro m(n) %}{% for i in range(n) %}{{ m(n) }}{% endfor %}{% endmacro %}{{ m(9) }}",
])
def test_loops_without_end_are_refused(text):
    message = problem(text)
    assert message in (
        "Reminders!H2: the text cannot be rendered: its loops and calls take too many steps — simplify the text: "
        "it may not loop more than 100,000 times nor take more than a few seconds",
        "Reminders!H2: the text cannot be rendered: it calls itself too deeply — correct the text: placeholders are "
        "written {{ customer.name }}, see the README for the list")


def test_a_render_that_takes_too_long_is_stopped(monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.0)
    assert problem("{% for i in range(3) %}{{ i }}{% endfor %}") == (
        "Reminders!H2: the text cannot be rendered: it takes too long to render — simplify the text: it may not "
        "loop more than 100,000 times nor take more than a few seconds")


def test_a_result_over_1_mb_is_a_problem_at_its_cell():
    assert problem("{{ 'é' * 600000 }}") == f"Reminders!H2: the text cannot be rendered: its result exceeds 1 MB — {SIZE}"


@pytest.mark.parametrize("text", [
    "{{ customer.name.translate({}) }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ lipsum(4000000000) }}",
    "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
])
def test_what_a_text_has_no_use_for_is_not_allowed(text):
    assert problem(text).startswith("Reminders!H2: the text ")


def test_ordinary_texts_still_use_sizes_formats_and_loops():
    text = ("{{ customer.name|center(20) }}|{{ '%-6s|%5.1f' % (invoice.number, 2.25) }}|{{ '{:>8}'.format("
            "invoice.balance) }}|{{ invoice.number.zfill(8) }}|{{ (customer.contact ~ ' ') * 2 }}|"
            "{% for i in range(3) %}{{ i }}{% endfor %}|{{ range(3)|join(', ') }}|{{ 2 ** 10 }}|"
            "{{ customer.name|replace('&', 'and') }}|{{ 'a\\tb'.expandtabs(4) }}|{{ [1, 2] + [3] }}")
    assert render(text, CTX) == ("Lovelace & Co    |INV-7 |  2.2|$1,234.50|000INV-7|Ada King Ada King |012|"
                                 "0, 1, 2|1024|Lovelace and Co|a   b|[1, 2, 3]")
    assert render("{{ 'x' * 999999 }}", CTX) == "x" * 999999
    loops = ("{% for x in [1, 2, 3] %}{{ loop.index }}/{{ loop.length }}{% if loop.last %}!{% endif %} {% endfor %}|"
             "{% for k, v in customer.items() if k == 'name' %}{{ k }}={{ v }}{% endfor %}|"
             "{% for x in [] %}{% else %}none{% endfor %}|{% for x in range(6) if x is odd %}{{ x }}{% endfor %}|"
             "{% for c in [[1, [2]]] recursive %}{{ c[0] }}{% if c|length > 1 %}({{ loop([c[1]]) }}){% endif %}{% endfor %}")
    assert render(loops, CTX) == "1/3 2/3 3/3! |name=Lovelace & Co|none|135|1(2)"


# The documented variables and the pieces of Jinja2 a person may combine them with.
PIECES = st.sampled_from([
    "{{ ", " }}", "{% ", " %}", "customer.name", "customer.contact", "customer.first_name", "customer.email",
    "invoice.number", "invoice.memo", "invoice.invoice_date", "invoice.amount", "invoice.balance", "invoice.due_date",
    "invoice.days_overdue", "statement.end_date", "company.name", "company.email", "company.phone", "attachment",
    " ~ ", " * ", " ** ", " + ", " % ", " // ", "(", ")", "[", "]", ",", ".", "|", "'x'", "'%s'", "'{:>9}'",
    "99999", "4000000000", "-1", "0", "1.5", "upper", "center(", "indent(", "wordwrap(", "truncate(", "format(",
    "join(", "replace(", "ljust(", "zfill(", "expandtabs(", "batch(", "slice(", "list", "string", "length",
    "if ", " else ", "for i in ", "range(", "endfor", "endif", "set a = ", "a", "i", "loop.index", "macro m()",
    "endmacro", "m()", "namespace(", " and ", " not ", "==", "\n", " ",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, max_size=14).map("".join))
def test_random_texts_over_the_documented_variables_only_ever_raise_text_errors(text):
    ctx = {**CTX, "statement": {"end_date": "Mar 31, 2026", "balance": "$1.00"}}
    try:
        result = render(text, ctx, CELL)
    except TextError as exc:
        assert exc.problem.where == "Reminders!H2"
    else:
        assert len(result.encode("utf-8")) <= 1_000_000

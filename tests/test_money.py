"""Money: text and numbers become Decimal cents in one place."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addin.money import ZERO, AmountError, D, from_number, parse_amount


def test_float_noise_from_excel_is_rounded_to_cents():
    assert from_number(0.1 + 0.2) == Decimal("0.30")
    assert from_number(1234.5) == Decimal("1234.50")
    assert from_number(2.675) == Decimal("2.68")  # half up on the decimal text, not the binary value


def test_integers_and_decimals_become_cents():
    assert D(12) == Decimal("12.00")
    assert D(Decimal("1.005")) == Decimal("1.01")
    assert Decimal("0.00") == ZERO


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.56", "1234.56"),
        ("$1,234.56", "1234.56"),
        ("1,234", "1234.00"),
        ("  12 ", "12.00"),
        ("(12.50)", "-12.50"),
        ("-$5", "-5.00"),
        ("USD 1,000,000.10", "1000000.10"),
    ],
)
def test_unambiguous_english_text_is_an_amount(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1 234,56", "1234.56"), ("1234,56 $", "1234.56"), ("1\u202f234,50 €", "1234.50"), ("12.50", "12.50")],
)
def test_french_text_uses_the_decimal_comma(text, expected):
    assert parse_amount(text, "fr") == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1.234,56", "is ambiguous (decimal point or comma?)"),
        ("12.345", "has more than two decimals"),
        ("twelve", "is not an amount"),
        ("", "is not an amount"),
        ("1,23", "is not an amount"),
    ],
)
def test_ambiguous_or_wrong_text_is_refused_with_the_reason(text, why):
    with pytest.raises(AmountError, match=f"^{why.replace('(', '[(]').replace(')', '[)]').replace('?', '[?]')}$"):
        parse_amount(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(
    st.integers(-10**13, 10**13).map(lambda c: c / 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.125, 2.675, -0.0, "", None, "12.50", 12, True, float("nan")]),
), max_size=20))
def test_cells_exact_in_cents_are_the_floats_of_two_decimals_at_most(values):
    from addin.money import cents_where_exact, to_cents

    cents, exact = cents_where_exact(values)
    assert len(cents) == len(exact) == len(values)
    for v, c, ok in zip(values, cents.tolist(), exact.tolist(), strict=True):
        if ok:
            assert type(v) is float and c == to_cents([from_number(v)])[0]
        else:
            assert c == 0
        if type(v) is float and abs(v) < 1e12 and round(v, 2) == v:
            assert ok
        if type(v) is not float:
            assert not ok


def test_no_amount_is_beyond_the_limit():
    from addin.money import LIMIT, LIMIT_TEXT, cents_where_exact, within_limit

    assert LIMIT == 10**12 and LIMIT_TEXT == "1,000,000,000,000"
    assert within_limit(LIMIT) and within_limit(-LIMIT) and within_limit(float(LIMIT))
    for beyond in (LIMIT + 0.01, -LIMIT - 1, 1e300, float("inf"), float("-inf"), float("nan"), Decimal("1E+13")):
        assert not within_limit(beyond)
    assert parse_amount("$1,000,000,000,000.00") == Decimal(LIMIT)
    with pytest.raises(AmountError, match="^is beyond 1,000,000,000,000$"):
        parse_amount("$1,000,000,000,000.01")
    cents, exact = cents_where_exact([1e12, 1e12 + 0.01, 1e300, float("inf"), -1e12])
    assert exact.tolist() == [True, False, False, False, True]
    assert cents.tolist() == [10**14, 0, 0, 0, -(10**14)]


def test_a_number_beyond_the_limit_compares_but_is_no_amount():
    """Where a cell is only compared (the add-in's own columns), a huge number is unequal, not a crash."""
    assert from_number(1e300) == Decimal(1e300) and from_number(1e300) != Decimal("12.00")
    assert from_number(float("inf")) == Decimal("Infinity")
    assert from_number(float("nan")).is_nan()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.integers(10**14 - 5, 10**14 + 5).map(lambda c: c / 100),  # around the limit, in cents
    st.integers(-(10**14) - 5, -(10**14) + 5).map(lambda c: c / 100),
    st.sampled_from([1e300, -1e300, float("inf"), float("-inf"), float("nan"), 1e13]),
), min_size=1, max_size=10))
def test_the_bulk_paths_agree_with_the_limit(values):
    from addin.money import cents_where_exact, within_limit

    _, exact = cents_where_exact(values)
    assert exact.tolist() == [within_limit(v) for v in values]


def test_cents_of_amounts_made_here_are_those_of_the_same_amounts_made_elsewhere():
    from decimal import Decimal

    from addin.money import from_cents, from_number, to_cents

    made = [from_number(12.5), from_cents(-1999), from_number(0.1 + 0.2), from_number(-0.0)]
    elsewhere = [Decimal("12.50"), Decimal("-19.99"), Decimal("0.3"), Decimal("0")]
    assert to_cents(made) == to_cents(elsewhere) == to_cents(iter(made)) == [1250, -1999, 30, 0]
    with pytest.raises(ValueError, match="^1.005 is not a whole number of cents$"):
        to_cents([*made, Decimal("1.005")])


@settings(max_examples=1000, deadline=None)
@given(st.one_of(
    st.integers(-10**14, 10**14).map(lambda c: c / 100),  # two decimals at most: made from whole cents
    st.floats(-1e12, 1e12),  # any other: rounded half up from its shortest text
    st.integers(-10**12, 10**12),
    st.sampled_from([0.125, 2.675, 1.005, 0.29, 1e-9, -1e-9, 5e-3, -5e-3]),
))
def test_a_number_is_the_amount_its_shortest_text_rounds_to(value):
    from addin.money import from_cents, to_cents

    amount = from_number(value)
    assert str(amount) == str(D(value) + ZERO) and amount.as_tuple().exponent == -2
    assert to_cents([amount]) == [int(D(value) * 100)]
    assert from_number(value) is amount  # cached
    text = Decimal(repr(value))
    if text == text.quantize(Decimal("0.01")):  # two decimals at most: made from its cents
        assert amount is from_cents(int(text * 100))


def test_minus_zero_is_zero():
    assert str(from_number(-0.0)) == "0.00" and str(from_number(0.0)) == "0.00"


def test_amounts_made_by_threads_at_once_are_remembered_once():
    """Two threads making the same new amount both keep the first: an amount remembered by its
    identity (for to_cents) must be the one kept, never one let go, whose id a later object
    may take. Looked at inside: no public door shows a stale id until memory is reused."""
    import sys
    import threading

    from addin import money

    counts = range(7 * 10**11, 7 * 10**11 + 20_000)  # amounts no other test makes
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch between any two steps
    try:
        threads = [threading.Thread(target=lambda: [money.from_cents(c) for c in counts]) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(before)
    kept = {id(money._from_cents[c]) for c in counts}
    assert {i for i, c in money._cents_of.items() if c in counts} == kept

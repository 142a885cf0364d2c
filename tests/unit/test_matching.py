"""ESS matching criteria (`match-crt`): parser, printer, evaluator, pinned keys, JSON form."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from switchboard.events.matching import (
    KEYWORDS,
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Compare,
    In,
    IsNull,
    Like,
    MatchSyntaxError,
    Not,
    Or,
    canonical_value,
    compile_expr,
    evaluate,
    fields,
    from_json,
    parse,
    pinned,
    to_json,
    to_text,
    value_keys,
)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------------- seeds


def test_seed_number():
    expr = parse("number = '+12345678901'")
    assert expr == Compare("number", "=", "+12345678901")
    assert evaluate(expr, {"number": "+12345678901"})
    assert not evaluate(expr, {"number": "+12345678902"})
    assert not evaluate(expr, {})
    assert pinned(expr) == {"number": "+12345678901"}


def test_seed_company_id():
    expr = parse("company-id = 123")
    assert expr == Compare("company-id", "=", 123)
    assert fields(expr) == {"company-id"}
    assert evaluate(expr, {"company-id": 123})
    assert evaluate(expr, {"company-id": "123"})
    assert not evaluate(expr, {"company-id": 124})
    assert not evaluate(expr, {"company": 123})
    assert pinned(expr) == {"company-id": "123"}


@pytest.mark.parametrize("text", ["", "   ", " \n\t ", None])
def test_empty_matches_everything(text):
    assert parse(text) is None
    assert to_text(None) == ""
    assert evaluate(None, {}) is True
    assert compile_expr(None)({"x": 1}) is True
    assert fields(None) == set()
    assert pinned(None) == {}
    assert to_json(None) is None
    assert from_json(None) is None


# ------------------------------------------------------------------------------------- operators

NAN, INF = float("nan"), float("inf")

CASES = [
    # string literal: the value's string form, code-point order
    ("n = 'a'", {"n": "a"}, True),
    ("n = 'a'", {"n": "A"}, False),
    ("n = 'a'", {}, False),
    ("n = 'a'", {"n": None}, False),
    ("n = '5'", {"n": 5}, True),
    ("n = '5'", {"n": 5.0}, True),
    ("n = '5'", {"n": "5.0"}, False),
    ("n = '5.0'", {"n": 5.0}, False),
    ("n = '0.00000015'", {"n": 1.5e-7}, True),
    ("n = 'true'", {"n": True}, True),
    ("n = 'false'", {"n": False}, True),
    ("n = 'True'", {"n": True}, False),
    ("n < '9'", {"n": 10}, True),
    ("n > 'b'", {"n": "c"}, True),
    ("n > 'b'", {"n": "B"}, False),
    ("n >= 'b'", {"n": "b"}, True),
    ("n <= 'b'", {"n": "ba"}, False),
    # number literal: the value's numeric value
    ("n = 5", {"n": 5}, True),
    ("n = 5", {"n": 5.0}, True),
    ("n = 5", {"n": "5"}, True),
    ("n = 5", {"n": "5.0"}, True),
    ("n = 5", {"n": "05"}, True),
    ("n = 5", {"n": "+5"}, False),
    ("n = 5", {"n": " 5"}, False),
    ("n = 5", {"n": "5e0"}, False),
    ("n = 5", {"n": "abc"}, False),
    ("n = 1", {"n": True}, False),
    ("n = 0.1", {"n": "0.1"}, True),
    ("n = 0.1", {"n": 0.1}, True),
    ("n = -2.5", {"n": "-2.5"}, True),
    ("n < 10", {"n": 9}, True),
    ("n < 10", {"n": "9"}, True),
    ("n < 10", {"n": 10}, False),
    ("n < 10", {"n": "abc"}, False),
    ("n < 10", {"n": True}, False),
    ("n < 10", {}, False),
    ("n <= 10", {"n": 10}, True),
    ("n <= 10", {"n": 10.5}, False),
    ("n > -5", {"n": -4.5}, True),
    ("n > -5", {"n": -5}, False),
    ("n >= -5", {"n": "-5"}, True),
    ("n >= -5", {"n": "-6"}, False),
    # != and <>: the negation of = for a comparable value, false when absent
    ("n != 'a'", {"n": "b"}, True),
    ("n != 'a'", {"n": "a"}, False),
    ("n != 'a'", {}, False),
    ("n != 'a'", {"n": None}, False),
    ("n <> 'a'", {"n": "b"}, True),
    ("n <> 'a'", {"n": "a"}, False),
    ("n != 5", {"n": "abc"}, True),
    ("n != 5", {"n": True}, True),
    ("n != 5", {"n": "5"}, False),
    ("n != 5", {"n": 5.0}, False),
    ("n != '5'", {"n": 5}, False),
    # IN / NOT IN
    ("n IN ('a', 'b', 3)", {"n": "b"}, True),
    ("n IN ('a', 'b', 3)", {"n": 3}, True),
    ("n IN ('a', 'b', 3)", {"n": 3.0}, True),
    ("n IN ('a', 'b', 3)", {"n": "3"}, True),
    ("n IN ('a', 'b', 3)", {"n": "3.0"}, True),
    ("n IN ('a', 'b', 3)", {"n": "c"}, False),
    ("n IN ('a', 'b', 3)", {}, False),
    ("n IN ('5')", {"n": 5}, True),
    ("n IN (1.5, 2)", {"n": "1.5"}, True),
    ("n NOT IN ('a', 3)", {"n": "c"}, True),
    ("n NOT IN ('a', 3)", {"n": "a"}, False),
    ("n NOT IN ('a', 3)", {"n": "3"}, False),
    ("n NOT IN ('a', 3)", {"n": True}, True),
    ("n NOT IN ('a', 3)", {}, False),
    ("n NOT IN ('a', 3)", {"n": None}, False),
    # LIKE / NOT LIKE
    ("n LIKE 'ab%'", {"n": "abc"}, True),
    ("n LIKE 'ab%'", {"n": "ab"}, True),
    ("n LIKE 'ab%'", {"n": "xab"}, False),
    ("n LIKE 'ab%'", {"n": "AB"}, False),
    ("n LIKE 'a_c'", {"n": "abc"}, True),
    ("n LIKE 'a_c'", {"n": "ac"}, False),
    ("n LIKE 'a_c'", {"n": "abbc"}, False),
    ("n LIKE '%b%'", {"n": "abc"}, True),
    ("n LIKE '%b%'", {"n": "ac"}, False),
    ("n LIKE '%'", {"n": ""}, True),
    ("n LIKE ''", {"n": ""}, True),
    ("n LIKE ''", {"n": "a"}, False),
    ("n LIKE '%a_a%'", {"n": "xxaxa"}, True),
    ("n LIKE 'a%a'", {"n": "a"}, False),
    ("n LIKE 'a%a'", {"n": "aa"}, True),
    ("n LIKE '_%_'", {"n": "x"}, False),
    ("n LIKE '+1%'", {"n": "+12345678901"}, True),
    ("n LIKE '12%'", {"n": 123}, True),
    ("n LIKE 't%'", {"n": True}, True),
    ("n LIKE 'a%'", {}, False),
    ("n LIKE 'a\nb'", {"n": "a\nb"}, True),
    ("n LIKE 'a_b'", {"n": "a\nb"}, True),
    ("n NOT LIKE 'a%'", {"n": "b"}, True),
    ("n NOT LIKE 'a%'", {"n": "a"}, False),
    ("n NOT LIKE 'a%'", {}, False),
    # IS [NOT] NULL
    ("n IS NULL", {}, True),
    ("n IS NULL", {"n": None}, True),
    ("n IS NULL", {"n": ""}, False),
    ("n IS NULL", {"n": 0}, False),
    ("n IS NULL", {"n": False}, False),
    ("n IS NOT NULL", {}, False),
    ("n IS NOT NULL", {"n": None}, False),
    ("n IS NOT NULL", {"n": ""}, True),
    # NOT is plain boolean negation, also over absent fields
    ("NOT n = 'a'", {}, True),
    ("NOT n != 'a'", {}, True),
    ("NOT n = 'a'", {"n": "a"}, False),
    ("NOT NOT n = 'a'", {"n": "a"}, True),
    # AND / OR
    ("a = 1 AND b = 2", {"a": 1, "b": 2}, True),
    ("a = 1 AND b = 2", {"a": 1, "b": 3}, False),
    ("a = 1 OR b = 2", {"a": 0, "b": 2}, True),
    ("a = 1 OR b = 2", {}, False),
    # values that are neither absent nor comparable
    ("n = 'a'", {"n": ["a"]}, False),
    ("n != 'a'", {"n": ["a"]}, False),
    ("n NOT IN ('a')", {"n": {"a": 1}}, False),
    ("n IS NULL", {"n": []}, False),
    ("n IS NOT NULL", {"n": []}, True),
    # Decimal (DynamoDB) and non-finite numbers
    ("n = 5", {"n": Decimal("5")}, True),
    ("n = 5", {"n": Decimal("5.00")}, True),
    ("n = '5'", {"n": Decimal("5.0")}, True),
    ("n = 0.1", {"n": Decimal("0.1")}, True),
    ("n < 1", {"n": Decimal("0.5")}, True),
    ("n = 5", {"n": Decimal("NaN")}, False),
    ("n = 5", {"n": Decimal("sNaN")}, False),
    ("n != 5", {"n": Decimal("sNaN")}, False),
    ("n = 5", {"n": NAN}, False),
    ("n != 5", {"n": NAN}, True),
    ("n < 5", {"n": NAN}, False),
    ("n < 5", {"n": -INF}, True),
    ("n = 'inf'", {"n": INF}, True),
    # big numbers compare exactly
    ("n = 100000000000000001", {"n": 1e17}, False),
    ("n = 100000000000000000", {"n": 1e17}, True),
    ("n = '100000000000000000'", {"n": 1e17}, True),
]


@pytest.mark.parametrize(("text", "values", "expected"), CASES)
def test_operators(text, values, expected):
    expr = parse(text)
    assert evaluate(expr, values) is expected
    assert compile_expr(expr)(values) is expected
    assert _not_in_reference_domain(values) or reference(expr, values) is expected


def _not_in_reference_domain(values):
    return any(not isinstance(v, str | bool | int | float | None) or v in (NAN, INF, -INF) for v in values.values())


def test_huge_int_values_do_not_crash():
    big = 10**5000
    assert evaluate(parse("n > 5"), {"n": big})
    assert not evaluate(parse("n = '5'"), {"n": big})
    assert value_keys(big) == ()


def test_str_subclass_and_int_subclass_values():
    class Tag(str):
        pass

    class Count(int):
        pass

    assert evaluate(parse("n = 'a'"), {"n": Tag("a")})
    assert evaluate(parse("n = 5"), {"n": Tag("5")})
    assert evaluate(parse("n = 5"), {"n": Count(5)})
    assert evaluate(parse("n = '5'"), {"n": Count(5)})


def test_like_has_no_catastrophic_backtracking():
    expr = Like("n", "%a" * 2000 + "%b")
    assert not evaluate(expr, {"n": "a" * 5000})
    assert evaluate(expr, {"n": "a" * 2000 + "b"})
    assert not evaluate(Like("n", "%a_a_a_a_b%" * 50), {"n": "a" * 5000})


# -------------------------------------------------------------------- syntax: precedence, case...


def test_precedence_not_and_or():
    a, b, c = (Compare(f, "=", 1) for f in "abc")
    assert parse("a = 1 OR b = 1 AND c = 1") == Or((a, And((b, c))))
    assert parse("a = 1 AND b = 1 OR c = 1") == Or((And((a, b)), c))
    assert parse("NOT a = 1 AND b = 1") == And((Not(a), b))
    assert parse("NOT (a = 1 AND b = 1)") == Not(And((a, b)))
    assert parse("a = 1 AND b = 1 AND c = 1") == And((a, b, c))
    assert parse("(a = 1 AND b = 1) AND c = 1") == And((And((a, b)), c))
    assert parse("a = 1 OR (b = 1 OR c = 1)") == Or((a, Or((b, c))))
    assert parse("((a = 1))") == a
    assert parse("NOT NOT a = 1") == Not(Not(a))
    assert evaluate(parse("a = 1 OR b = 1 AND c = 1"), {"a": 1})
    assert not evaluate(parse("(a = 1 OR b = 1) AND c = 1"), {"a": 1})


def test_keywords_are_case_insensitive_fields_are_not():
    lower = parse("x in ('a') and not y like 'b%' or z is not null or w not in (1) and v is null and u not like 'c'")
    upper = parse("x IN ('a') AND NOT y LIKE 'b%' OR z IS NOT NULL OR w NOT IN (1) AND v IS NULL AND u NOT LIKE 'c'")
    mixed = parse("x In ('a') aNd NoT y LiKe 'b%' oR z iS nOt NuLl Or w NoT iN (1) AnD v Is NuLl AND u nOT lIKE 'c'")
    assert lower == upper == mixed
    assert parse("X = 1") == Compare("X", "=", 1) != parse("x = 1")


def test_operators_parse_to_nodes():
    assert parse("x <> 'a'") == parse("x != 'a'") == Compare("x", "!=", "a")
    assert parse("x<=-5") == Compare("x", "<=", -5)
    assert parse("x>=1.25") == Compare("x", ">=", 1.25)
    assert parse("x IN('a',2,-3.5)") == In("x", ("a", 2, -3.5))
    assert parse("x NOT IN ('a')") == In("x", ("a",), negated=True)
    assert parse("x NOT LIKE '%'") == Like("x", "%", negated=True)
    assert parse("x IS NOT NULL") == IsNull("x", negated=True)
    assert parse("x IS NULL") == IsNull("x")


def test_field_names():
    assert parse("company-id = 123") == Compare("company-id", "=", 123)
    assert parse("company-id=123") == Compare("company-id", "=", 123)
    assert parse("previous_carrier_id = 5") == Compare("previous_carrier_id", "=", 5)
    assert parse("_x-1_ = -5") == Compare("_x-1_", "=", -5)
    assert parse("a-5 = 1") == Compare("a-5", "=", 1)  # a '-' inside a name belongs to it
    assert parse("in-progress = 'y'") == Compare("in-progress", "=", "y")  # not the keyword IN
    assert parse("nullable IS NULL") == IsNull("nullable")


def test_string_escapes_and_contents():
    assert parse("x = 'it''s'") == Compare("x", "=", "it's")
    assert parse("x = ''''") == Compare("x", "=", "'")
    assert parse("x = ''") == Compare("x", "=", "")
    assert parse("x = 'a AND b = ''c'''") == Compare("x", "=", "a AND b = 'c'")
    assert parse("x = 'multi\nline é 😀'") == Compare("x", "=", "multi\nline é 😀")
    assert to_text(Compare("x", "=", "it's")) == "x = 'it''s'"
    assert evaluate(parse("x = 'it''s'"), {"x": "it's"})


def test_numbers():
    assert parse("x = 007") == Compare("x", "=", 7)
    assert isinstance(parse("x = 1.0").value, float)
    assert isinstance(parse("x = 10").value, int)
    assert parse("x = -0") == Compare("x", "=", 0)
    assert parse("x = " + "9" * 400) == Compare("x", "=", int("9" * 400))


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("x=1", "x = 1"),
        ("X <> 'a'", "X != 'a'"),
        ("  x   =   'a'  ", "x = 'a'"),
        ("a = 1 and (b = 2 or c = 3)", "a = 1 AND (b = 2 OR c = 3)"),
        ("(a = 1 and b = 2) or c = 3", "a = 1 AND b = 2 OR c = 3"),
        ("(a = 1 and b = 2) and c = 3", "(a = 1 AND b = 2) AND c = 3"),
        ("a = 1 or (b = 2 or c = 3)", "a = 1 OR (b = 2 OR c = 3)"),
        ("(a = 1 or b = 2) or c = 3", "(a = 1 OR b = 2) OR c = 3"),
        ("((a = 1))", "a = 1"),
        ("not (a = 1)", "NOT a = 1"),
        ("not (a = 1 or b = 2)", "NOT (a = 1 OR b = 2)"),
        ("not not x is null", "NOT NOT x IS NULL"),
        ("x = 007", "x = 7"),
        ("x = 1.50", "x = 1.5"),
        ("x = -0.0", "x = -0.0"),
        ("x = 2.0", "x = 2.0"),
        ("x in('a','b',3)", "x IN ('a', 'b', 3)"),
        ("x not in('a')", "x NOT IN ('a')"),
        ("x = 'it''s'", "x = 'it''s'"),
        ("x like 'a%_'", "x LIKE 'a%_'"),
        ("x not like 'a'", "x NOT LIKE 'a'"),
        ("x is not null", "x IS NOT NULL"),
        ("x<=-5", "x <= -5"),
    ],
)
def test_canonical_text(text, canonical):
    assert to_text(parse(text)) == canonical
    assert to_text(parse(canonical)) == canonical


@pytest.mark.parametrize("value", [1e16, 1e-7, 1.5e-7, 5e-324, 1.7976931348623157e308, -0.0, 0.1, 123.456, -1e22])
def test_float_literals_print_back_exactly(value):
    text = to_text(Compare("x", "=", value))
    assert "e" not in text.lower()
    back = parse(text)
    assert isinstance(back.value, float)
    assert back.value == value
    assert math.copysign(1, back.value) == math.copysign(1, value)


def test_printing_rejects_non_literals():
    with pytest.raises(ValueError):
        to_text(Compare("x", "=", INF))
    with pytest.raises(TypeError):
        to_text(Compare("x", "=", True))
    with pytest.raises(TypeError):
        to_text("x = 1")


# --------------------------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("number = ", 9, "expected a value after '='"),
        ("number =", 8, "expected a value after '='"),
        ("x", 1, "expected a comparison operator, IN, LIKE or IS after field 'x'"),
        ("x 5", 2, "expected a comparison operator, IN, LIKE or IS after field 'x' but found '5'"),
        ("x == 5", 2, "unknown operator '=='"),
        ("x =! 5", 2, "unknown operator '=!'"),
        ("x ! 5", 2, "unknown operator '!'"),
        ("x => 5", 2, "unknown operator '=>'"),
        ("x = 'abc", 4, "unterminated string"),
        ("x = 'it''s", 4, "unterminated string"),
        ("x = '", 4, "unterminated string"),
        ('x = "a"', 4, "unexpected character '\"' (strings are in single quotes)"),
        ("x = 1 @", 6, "unexpected character '@'"),
        ("x = 1;", 5, "unexpected character ';'"),
        ("()", 1, "expected a field name, NOT or '(' after '(' but found ')'"),
        ("(", 1, "expected a field name, NOT or '(' after '('"),
        (")", 0, "expected a field name, NOT or '(' but found ')'"),
        ("x IN ()", 6, "expected a value after '(' but found ')'"),
        ("x IN ('a',)", 10, "expected a value after ',' but found ')'"),
        ("x IN ('a' 'b')", 10, "expected ',' or ')' but found a string"),
        ("x IN ('a'", 9, "expected ',' or ')'"),
        ("x IN 'a'", 5, "expected '(' after IN but found a string"),
        ("x NOT IN 'a'", 9, "expected '(' after NOT IN but found a string"),
        ("x IN (y)", 6, "expected a value after '(' but found 'y'"),
        ("x = 1 y = 2", 6, "expected AND, OR or end of input but found 'y'"),
        ("x = 1 AND", 9, "expected a field name, NOT or '(' after AND"),
        ("x = 1 OR", 8, "expected a field name, NOT or '(' after OR"),
        ("x = 1 AND OR y = 1", 10, "expected a field name, NOT or '(' after AND but found 'OR'"),
        ("(x = 1", 6, "expected AND, OR or ')'"),
        ("(x = 1 y", 7, "expected AND, OR or ')' but found 'y'"),
        ("x = 1)", 5, "expected AND, OR or end of input but found ')'"),
        ("x LIKE 5", 7, "expected a quoted pattern after LIKE but found '5'"),
        ("x NOT LIKE", 10, "expected a quoted pattern after NOT LIKE"),
        ("x NOT = 5", 6, "expected IN or LIKE after NOT but found '='"),
        ("x IS 5", 5, "expected NULL after IS but found '5'"),
        ("x IS NOT", 8, "expected NULL after IS NOT"),
        ("x IS NOT 'a'", 9, "expected NULL after IS NOT but found a string"),
        ("5 = x", 0, "expected a field name, NOT or '(' but found '5'"),
        ("'a' = x", 0, "expected a field name, NOT or '(' but found a string"),
        ("-x = 1", 0, "unexpected character '-'"),
        ("x = - 5", 4, "unexpected character '-'"),
        ("x = 1.", 5, "unexpected character '.'"),
        ("x = .5", 4, "unexpected character '.'"),
        ("x = 5abc", 5, "expected AND, OR or end of input but found 'abc'"),
        ("AND = 1", 0, "expected a field name, NOT or '(' but found 'AND'"),
        ("null IS NULL", 0, "expected a field name, NOT or '(' but found 'null'"),
        ("x = y", 4, "expected a value after '=' but found 'y'"),
        ("x <> AND", 5, "expected a value after '<>' but found 'AND'"),
        ("NOT", 3, "expected a field name, NOT or '(' after NOT"),
        ("x = " + "9" * 400 + ".5", 4, "number out of range"),
        ("x = 1 AND y == 2 AND", 12, "unknown operator '=='"),  # the first error in the text wins
        ("x = 1 AND AND y == 2", 10, "expected a field name, NOT or '(' after AND but found 'AND'"),
    ],
)
def test_syntax_errors(text, position, reason):
    with pytest.raises(MatchSyntaxError) as caught:
        parse(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.position == position
    assert error.reason == reason
    assert str(error) == f"{reason} at position {position}"


def test_error_names_long_tokens_briefly():
    with pytest.raises(MatchSyntaxError) as caught:
        parse("x = 1 " + "y" * 100)
    assert caught.value.reason == "expected AND, OR or end of input but found 'yyyyyyyyyyyyyyyyy...'"


def test_length_limit():
    longest = "x = '" + "a" * (MAX_LENGTH - 7) + "'"
    assert len(longest) == MAX_LENGTH - 1
    assert parse(longest + " ") == Compare("x", "=", "a" * (MAX_LENGTH - 7))
    with pytest.raises(MatchSyntaxError) as caught:
        parse(longest + "  ")
    assert caught.value.position == MAX_LENGTH
    assert caught.value.reason == f"longer than {MAX_LENGTH} characters"


def test_depth_limit_parentheses():
    ok = "(" * MAX_DEPTH + "x = 1" + ")" * MAX_DEPTH
    assert parse(ok) == Compare("x", "=", 1)
    with pytest.raises(MatchSyntaxError) as caught:
        parse("(" * (MAX_DEPTH + 1) + "x = 1" + ")" * (MAX_DEPTH + 1))
    assert caught.value.position == MAX_DEPTH
    assert caught.value.reason == f"nested deeper than {MAX_DEPTH} levels"


def test_depth_limit_not_and_mixed():
    expr = parse("NOT " * MAX_DEPTH + "x = 1")
    for _ in range(MAX_DEPTH):
        expr = expr.operand
    assert expr == Compare("x", "=", 1)
    with pytest.raises(MatchSyntaxError) as caught:
        parse("NOT " * (MAX_DEPTH + 1) + "x = 1")
    assert caught.value.position == 4 * MAX_DEPTH
    with pytest.raises(MatchSyntaxError) as caught:
        parse("NOT (" * 40 + "x = 1" + ")" * 40)
    assert caught.value.position == 5 * 32
    # siblings do not add up: only nesting counts
    assert parse(" AND ".join(["NOT (" * 30 + "x = 1" + ")" * 30] * 3)) is not None


def test_long_chains_are_flat():
    text = " OR ".join(f"a = {i}" for i in range(300))
    expr = parse(text)
    assert isinstance(expr, Or) and len(expr.items) == 300
    assert evaluate(expr, {"a": 299})
    assert not evaluate(expr, {"a": 300})
    assert to_text(expr) == text


def test_parse_rejects_non_strings():
    with pytest.raises(TypeError):
        parse(5)


# ------------------------------------------------------------------------------ fields / pinned


def test_fields():
    assert fields(parse("a = 1 AND (NOT b IS NULL OR c LIKE 'x' OR d IN (1) OR a > 'q')")) == {"a", "b", "c", "d"}
    assert fields(parse("company-id = 123")) == {"company-id"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("number = '+12345678901'", {"number": "+12345678901"}),
        ("number = '+1' AND carrier_id = 5", {"number": "+1", "carrier_id": "5"}),
        ("number = '+1' OR number = '+2'", {}),
        ("number = '+1' AND (carrier_id = 5 AND x = 'y')", {"number": "+1", "carrier_id": "5", "x": "y"}),
        ("number = '+1' AND (carrier_id = 5 OR x = 'y')", {"number": "+1"}),
        ("NOT number = '+1'", {}),
        ("NOT (number = '+1' AND x = 1)", {}),
        ("number != '+1'", {}),
        ("number > 5 AND number < 7", {}),
        ("number LIKE '+1'", {}),
        ("number IN ('+1')", {"number": "+1"}),
        ("number IN ('+1', '+2')", {}),
        ("number NOT IN ('+1')", {}),
        ("number IS NULL", {}),
        ("x = 5.0", {"x": "5"}),
        ("x = 1.5", {"x": "1.5"}),
        ("x = -0.0", {"x": "0"}),
        ("x = 0.0000001", {"x": "0.0000001"}),
        ("x = '5.0'", {"x": "5.0"}),
        ("x = 'a' AND x = 'b'", {"x": "a"}),  # can never match; the first value is kept
        ("(x = 'a')", {"x": "a"}),
    ],
)
def test_pinned(text, expected):
    assert pinned(parse(text)) == expected


@pytest.mark.parametrize(
    ("value", "keys"),
    [
        ("+12345678901", ("+12345678901",)),
        ("abc", ("abc",)),
        ("5", ("5",)),
        ("5.0", ("5.0", "5")),
        ("05", ("05", "5")),
        ("-0", ("-0", "0")),
        (5, ("5",)),
        (5.0, ("5",)),
        (1.5, ("1.5",)),
        (1e-7, ("0.0000001",)),
        (1e17, ("100000000000000000",)),
        (Decimal("5.00"), ("5",)),
        (True, ("true",)),
        (None, ()),
        ([1], ()),
    ],
)
def test_value_keys(value, keys):
    assert value_keys(value) == keys
    assert canonical_value(value) == (keys[0] if keys else None)


# ------------------------------------------------------------------------------------------ JSON


def test_json_form():
    expr = parse("a = 1 OR b != -2.50 AND NOT c LIKE 'x%' AND (d IS NOT NULL OR e NOT IN (1, 'it''s'))")
    data = to_json(expr)
    assert data == [
        "OR",
        ["=", "a", {"n": "1"}],
        [
            "AND",
            ["!=", "b", {"n": "-2.5"}],
            ["NOT", ["LIKE", "c", "x%"]],
            ["OR", ["IS NOT NULL", "d"], ["NOT IN", "e", [{"n": "1"}, "it's"]]],
        ],
    ]
    assert from_json(json.loads(json.dumps(data))) == expr
    assert to_json(parse("x = 1.0")) == ["=", "x", {"n": "1.0"}]
    assert from_json(["=", "x", {"n": "1.0"}]).value.__class__ is float
    assert from_json(("IN", "x", ("a",))) == In("x", ("a",))


@pytest.mark.parametrize(
    "data",
    [
        "x = 1",
        {},
        [],
        [5],
        ["=", "x"],
        ["==", "x", "a"],
        ["=", "AND", "a"],
        ["=", "bad name", "a"],
        ["=", 5, "a"],
        ["=", "x", 5],
        ["=", "x", 5.5],
        ["=", "x", True],
        ["=", "x", None],
        ["=", "x", {"n": "1e5"}],
        ["=", "x", {"n": 5}],
        ["=", "x", {"n": "5", "m": "6"}],
        ["=", "x", {"n": "9" * 400 + ".5"}],
        ["IN", "x", []],
        ["IN", "x", "a"],
        ["LIKE", "x", 5],
        ["IS NULL"],
        ["IS NULL", "x", "y"],
        ["NOT"],
        ["NOT", "x"],
        ["AND", ["IS NULL", "x"]],
        ["OR"],
        ["XOR", ["IS NULL", "x"], ["IS NULL", "y"]],
        [["IS NULL", "x"]],
    ],
)
def test_from_json_rejects_malformed(data):
    with pytest.raises(ValueError):
        from_json(data)


def test_from_json_depth_guard():
    data = ["IS NULL", "x"]
    for _ in range(1000):
        data = ["NOT", data]
    with pytest.raises(ValueError):
        from_json(data)


# ------------------------------------------------------------------- reference evaluator (tests)
#
# Written from the module docstring, as a straightforward recursive interpretation, without the
# module's helpers: events hold str, bool, int, finite float or None.

_REF_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _ref_expand(r: str) -> str:
    """repr(float) without exponent: '1.5e-07' -> '0.00000015', '1e+16' -> '10000000000000000'."""
    if "e" not in r:
        return r
    mantissa, exponent = r.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    whole, _, fraction = mantissa.lstrip("-").partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent)
    if point <= 0:
        return sign + "0." + "0" * -point + digits
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return sign + digits[:point] + "." + digits[point:]


def ref_string_form(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    if v == int(v):
        return str(int(v))
    return _ref_expand(repr(v))


def ref_numeric(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return v
    if _REF_NUMBER.fullmatch(v):
        return float(v) if "." in v else int(v)
    return None


def ref_equal(v, literal):
    if isinstance(literal, str):
        return ref_string_form(v) == literal
    n = ref_numeric(v)
    return n is not None and n == literal


def ref_like(pattern, s):
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, s, re.DOTALL) is not None


def reference(e, event):
    if isinstance(e, Not):
        return not reference(e.operand, event)
    if isinstance(e, And):
        return all(reference(i, event) for i in e.items)
    if isinstance(e, Or):
        return any(reference(i, event) for i in e.items)
    v = event.get(e.field)
    if isinstance(e, IsNull):
        return (v is None) != e.negated
    if v is None:
        return False
    if isinstance(e, In):
        return any(ref_equal(v, lit) for lit in e.values) != e.negated
    if isinstance(e, Like):
        return ref_like(e.pattern, ref_string_form(v)) != e.negated
    if e.op == "=":
        return ref_equal(v, e.value)
    if e.op == "!=":
        return not ref_equal(v, e.value)
    left = ref_string_form(v) if isinstance(e.value, str) else ref_numeric(v)
    if left is None:
        return False
    return {"<": left < e.value, "<=": left <= e.value, ">": left > e.value, ">=": left >= e.value}[e.op]


# ------------------------------------------------------------------------------------ strategies

FIELDS = ["a", "b", "company-id", "x_1", "_Y"]
random_fields = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,6}", fullmatch=True).filter(
    lambda s: s.upper() not in KEYWORDS
)
text_alphabet = "ab'%_5.- é\n😀"
string_literals = st.one_of(
    st.sampled_from(["", "a", "A", "b", "5", "-3", "1.5", "05", "10", "9", "true", "false", "it's", "%", "_"]),
    st.text(alphabet=text_alphabet, max_size=5),
)
number_literals = st.one_of(
    st.integers(-12, 12),
    st.sampled_from([0.5, -2.5, 1.0, 5.0, -0.0, 1e-7, 1e17, 10**17, 10**17 + 1]),
    st.integers(),
    st.floats(min_value=-1e15, max_value=1e15, allow_nan=False),
)
literals = st.one_of(string_literals, number_literals)
patterns = st.text(alphabet="ab5%_'", max_size=6)
comparison_ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])


def trees(field_names):
    atoms = st.one_of(
        st.builds(Compare, field_names, comparison_ops, literals),
        st.builds(In, field_names, st.lists(literals, min_size=1, max_size=3).map(tuple), st.booleans()),
        st.builds(Like, field_names, patterns, st.booleans()),
        st.builds(IsNull, field_names, st.booleans()),
    )
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            inner.map(Not),
            st.lists(inner, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
            st.lists(inner, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
        ),
        max_leaves=10,
    )


event_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-12, 12),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, -2.5, 5.0, 1e-7, 1e17, 1.5e-7]),
    st.sampled_from(["5", "5.0", "05", "-3", "1.5", "-0", "+5", "10", "9", "abc", "true", "0.0000001"]),
    st.text(alphabet=text_alphabet, max_size=4),
)
events = st.dictionaries(st.sampled_from(FIELDS), event_values, max_size=5)


# ------------------------------------------------------------------------------------ properties


@PROPERTY
@given(trees(random_fields))
def test_print_parse_round_trip(expr):
    text = to_text(expr)
    assume(len(text) <= MAX_LENGTH)
    back = parse(text)
    assert back == expr
    assert to_json(back) == to_json(expr)  # also keeps int and float literals apart
    assert to_text(back) == text


@PROPERTY
@given(trees(st.sampled_from(FIELDS)), events)
def test_evaluate_agrees_with_reference(expr, event):
    expected = reference(expr, event)
    assert compile_expr(expr)(event) is expected
    assert evaluate(expr, event) is expected


@PROPERTY
@given(patterns, st.text(alphabet="ab5%_'\n", max_size=10))
def test_like_agrees_with_regex(pattern, s):
    assert evaluate(Like("f", pattern), {"f": s}) is ref_like(pattern, s)


@PROPERTY
@given(trees(random_fields))
def test_json_round_trip(expr):
    data = to_json(expr)
    back = from_json(json.loads(json.dumps(data)))
    assert back == expr
    assert to_json(back) == data
    assert to_text(back) == to_text(expr)


def _equal_literals(v):
    """Literals `x = lit` is true for when x holds v (per the documented semantics)."""
    out = [ref_string_form(v)]
    n = ref_numeric(v)
    if n is not None:
        out.append(n)
    return out


@PROPERTY
@given(st.data(), events)
def test_pinned_keys_find_every_match(data, event):
    """Index soundness: when the expression matches, each pinned key is among the event's value_keys."""
    present = sorted(f for f, v in event.items() if v is not None)
    equalities = [Compare(f, "=", data.draw(st.sampled_from(_equal_literals(event[f])))) for f in present]
    others = data.draw(st.lists(trees(st.sampled_from(FIELDS)), max_size=2))
    terms = equalities + others
    assume(terms)
    expr = terms[0] if len(terms) == 1 else And(tuple(terms))
    matched = evaluate(expr, event)
    assert matched is reference(expr, event)
    if not others:
        assert matched  # equality with a literal derived from the value holds across types
    if matched:
        for field, key in pinned(expr).items():
            assert key in value_keys(event.get(field)), (field, key)


@PROPERTY
@given(trees(st.sampled_from(FIELDS)), events)
def test_pinned_keys_sound_on_random_trees(expr, event):
    if evaluate(expr, event):
        for field, key in pinned(expr).items():
            assert key in value_keys(event.get(field))


TOKENS = [
    "a", "company-id", "x_1", "=", "!=", "<>", "<", "<=", ">", ">=", "==", "!", "=>", "IN", "not", "LIKE",
    "is", "NULL", "and", "OR", "(", ")", ",", "'x'", "'", "''", "'it''s'", "-5", "1.5", "5.", ".5", "-",
    '"', "%", "@", " ", "\n", "é",
]  # fmt: skip


@PROPERTY
@given(
    st.one_of(
        st.text(max_size=40),
        st.text(alphabet="ab=<>!()',-.5 ", max_size=40),
        st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join),
        st.lists(st.sampled_from(TOKENS), max_size=12).map("".join),
    )
)
def test_garbage_raises_only_syntax_errors(text):
    try:
        expr = parse(text)
    except MatchSyntaxError as error:
        assert 0 <= error.position <= len(text)
        return
    evaluate(expr, {"a": "x", "company-id": 5})
    assert parse(to_text(expr)) == expr

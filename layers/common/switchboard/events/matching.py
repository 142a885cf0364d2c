"""ESS matching criteria (`match-crt`): parser, printer, evaluator, index keys (reference/ess.md).

A subscription's `match-crt` is a small SQL-like condition over an event's `fld-val-list` (a dict of
field name -> value). It is parsed once, when the subscription is written, and evaluated for every
event on the delivery path.

Grammar (keywords are case-insensitive; whitespace is free between tokens)::

    expr      := and_expr ( OR and_expr )*
    and_expr  := not_expr ( AND not_expr )*
    not_expr  := NOT not_expr | '(' expr ')' | predicate
    predicate := field ( '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' ) literal
               | field [NOT] IN '(' literal ( ',' literal )* ')'
               | field [NOT] LIKE string
               | field IS [NOT] NULL
    field     := [A-Za-z_][A-Za-z0-9_-]*      (not a keyword: AND OR NOT IN LIKE IS NULL)
    literal   := string | number
    string    := "'" ( any character, "''" for a quote )* "'"
    number    := -?[0-9]+(.[0-9]+)?           (an int, or a float when it has a fraction)

So precedence is NOT > AND > OR, and `company-id = 123` compares the field `company-id` (a `-`
inside a name belongs to it; a leading `-` only ever starts a number). The empty string, or only
whitespace, matches every event (`parse` returns None). Texts longer than `MAX_LENGTH` characters,
or nested (parentheses and NOTs) deeper than `MAX_DEPTH`, are rejected like any syntax error.

Semantics: plain two-valued boolean logic (no SQL UNKNOWN), precisely:

* A field's value is *absent* when it is missing or None. Values of type str, bool, int, float or
  Decimal are *comparable*; anything else (lists, dicts, ...) is neither absent nor comparable.
* `IS NULL` is true iff the value is absent; `IS NOT NULL` is its negation.
* Every other predicate (`=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`, `IN`, `NOT IN`, `LIKE`, `NOT LIKE`)
  is false unless the value is comparable. For a comparable value, `!=`/`<>`, `NOT IN` and
  `NOT LIKE` are the exact negations of `=`, `IN` and `LIKE`. The `NOT` operator is plain negation,
  so for an absent field `x != 'a'` and `x NOT IN ('a')` are false but `NOT x = 'a'` is true.
* The literal decides the domain of a comparison:
  - a *string* literal compares the value's *string form* (code-point order, case-sensitive): a str
    as is; a bool as `true`/`false`; a number as its canonical text (integers and integral floats
    without a fraction, `5.0` -> `5`; other floats in their shortest round-trip decimal notation
    without exponent, `1.5e-07` -> `0.00000015`). So `n = '5'` matches 5 and 5.0 but not '5.0',
    and `n < '9'` compares text (`'10' < '9'`);
  - a *number* literal compares the value's *numeric value*: an int/float/Decimal as is; a str only
    when it is written exactly like a number literal (`-?[0-9]+(.[0-9]+)?`, e.g. '42', '-0.5'; not
    '+1', ' 5' or '1e3'), converted to int, or float if it has a fraction; a bool has none. Without
    a numeric value `=`, `<`, `<=`, `>`, `>=` are false (and `!=` true, see above).
  - `x IN (l1, l2, ...)` is `x = l1 OR x = l2 OR ...` with the rules above (literals may mix kinds).
* `LIKE` matches the whole string form: `%` is any run of characters (also none), `_` exactly one
  character, everything else itself (case-sensitive); there is no escape character.

Index keys: `pinned(expr)` gives the fields an expression pins to one value (so subscriptions can be
indexed by e.g. phone number) and `value_keys(value)` the keys under which an event's value must be
looked up. They agree with `evaluate`: whenever `evaluate(expr, event)` is true, for every
`(field, key)` in `pinned(expr)`, `key in value_keys(event.get(field))`. Both use the *canonical
string* of a literal: a string as is, a number as its canonical text (so `n = 5` and `n = '5'` share
the key "5"; an index lookup is a prefilter, `evaluate` decides).

Public API: `parse`, `to_text`, `fields`, `compile_expr`, `evaluate`, `pinned`, `value_keys`,
`canonical_value`, `to_json`, `from_json`, the AST node classes and `MatchSyntaxError`.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "And",
    "Compare",
    "Expr",
    "In",
    "IsNull",
    "Like",
    "MatchSyntaxError",
    "Not",
    "Or",
    "Scalar",
    "canonical_value",
    "compile_expr",
    "evaluate",
    "fields",
    "from_json",
    "parse",
    "pinned",
    "to_json",
    "to_text",
    "value_keys",
]

MAX_LENGTH = 4096
MAX_DEPTH = 64

Scalar = str | int | float
"""A literal: a string, or a number (int, or finite float)."""

COMPARISON_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL"})


class MatchSyntaxError(ValueError):
    """A `match-crt` that does not parse; `position` is the 0-based character offset of the problem."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} at position {position}")
        self.reason = reason
        self.position = position


# --------------------------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Compare:
    """`field op value`; `op` is one of COMPARISON_OPERATORS (`<>` is parsed as `!=`)."""

    field: str
    op: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class In:
    """`field IN (values...)`, or `field NOT IN (...)` when negated; at least one value."""

    field: str
    values: tuple[Scalar, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Like:
    """`field LIKE 'pattern'`, or `NOT LIKE` when negated."""

    field: str
    pattern: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class IsNull:
    """`field IS NULL`, or `IS NOT NULL` when negated."""

    field: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class And:
    """Two or more conjuncts. The parser builds one node per chain: `a AND b AND c` is flat,
    `(a AND b) AND c` keeps its parentheses as a nested node."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Two or more disjuncts, built like `And`."""

    items: tuple[Expr, ...]


Expr = Compare | In | Like | IsNull | Not | And | Or

# ------------------------------------------------------------------------------------------ numbers

_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _number_from_text(text: str) -> int | float:
    """A text matching _NUMBER as int (no fraction) or float."""
    if "." in text:
        return float(text)
    try:
        return int(text)
    except ValueError:  # more digits than int() converts; only event values can be that long
        return float(text)


def _positional(x: float) -> str:
    """A finite float's shortest round-trip digits, without exponent (1e-07 -> '0.0000001')."""
    return format(Decimal(repr(x)), "f")


def _canonical_number(x: int | float) -> str | None:
    """The canonical text of a number: equal numbers (5, 5.0) get the same text, unequal ones differ."""
    if isinstance(x, int):
        try:
            return str(x)
        except ValueError:  # beyond Python's int-to-str digit limit: no text form
            return None
    if not math.isfinite(x):
        return repr(x)
    if x.is_integer():
        return str(int(x))
    return _positional(x)


def _literal_number_text(x: int | float) -> str:
    """How `to_text` writes a number literal: ints plainly, floats always with a fraction, so the
    text parses back to the same value *and* type."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise TypeError(f"not a number literal: {x!r}")
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        raise ValueError(f"number literal must be finite: {x!r}")
    text = _positional(x)
    return text if "." in text else text + ".0"


def _from_decimal(d: Decimal) -> int | float | None:
    try:
        if d.is_finite() and d == d.to_integral_value():
            return int(d)
        return float(d)
    except (ValueError, ArithmeticError):  # signalling NaN
        return None


# ---------------------------------------------------------------------------- value classification


def _text(v: Any) -> str | None:
    """The string form of a comparable value; None for absent and non-comparable values."""
    cls = v.__class__
    if cls is str:
        return v
    if v is None:
        return None
    if cls is bool:
        return "true" if v else "false"
    if cls is int or cls is float:
        return _canonical_number(v)
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return _canonical_number(int(v))
    if isinstance(v, float):
        return _canonical_number(float(v))
    if isinstance(v, Decimal):
        n = _from_decimal(v)
        return None if n is None else _canonical_number(n)
    return None


def _number(v: Any) -> int | float | None:
    """The numeric value of a comparable value; None when it has none (or is absent)."""
    cls = v.__class__
    if cls is int or cls is float:
        return v
    if cls is str:
        return _number_from_text(v) if _NUMBER.fullmatch(v) else None
    if v is None or cls is bool or isinstance(v, bool):
        return None
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, Decimal):
        return _from_decimal(v)
    if isinstance(v, str):
        return _number(str.__str__(v))
    return None


def canonical_value(value: Any) -> str | None:
    """The string form of a comparable value (the first of `value_keys`); None for absent or
    non-comparable values. One lookup under it finds the subscriptions that pin the field with a string
    literal, or with a number literal when the value is a number; a numeric *string* value can also
    equal a number literal spelt differently ('5.0' = 5), so complete lookups use `value_keys`."""
    return _text(value)


def value_keys(value: Any) -> tuple[str, ...]:
    """The index keys to look an event's field value up under (see `pinned`): its string form and,
    when different, the canonical text of its numeric value. () for absent or non-comparable values."""
    text = _text(value)
    if text is None:
        return ()
    number = _number(value)
    if number is None:
        return (text,)
    canonical = _canonical_number(number)
    return (text,) if canonical is None or canonical == text else (text, canonical)


# -------------------------------------------------------------------------------------------- lexer


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "field", "keyword", "string", "number", "op", "(", ")", ",", "end"
    value: Any  # field name, keyword (upper case), str, int/float, operator
    position: int
    text: str  # as written, for messages

    def describe(self) -> str:
        if self.kind == "end":
            return "end of input"
        if self.kind == "string":
            return "a string"
        shown = self.text if len(self.text) <= 20 else self.text[:17] + "..."
        return f"'{shown}'"


_SPACE = re.compile(r"\s+")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_OPERATOR = re.compile(r"[=!<>]+")
_OPERATORS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _scan(text: str, pos: int) -> _Token:
    """The token starting at or after `pos` (after whitespace)."""
    m = _SPACE.match(text, pos)
    if m:
        pos = m.end()
    if pos >= len(text):
        return _Token("end", None, len(text), "")
    ch = text[pos]
    if ch in "(),":
        return _Token(ch, ch, pos, ch)
    if ch == "'":
        parts = []
        i = pos + 1
        while True:
            j = text.find("'", i)
            if j < 0:
                raise MatchSyntaxError("unterminated string", pos)
            parts.append(text[i:j])
            if text.startswith("'", j + 1):
                parts.append("'")
                i = j + 2
            else:
                return _Token("string", "".join(parts), pos, text[pos : j + 1])
    m = _NUMBER.match(text, pos)
    if m:
        value = _number_from_text(m.group())
        if isinstance(value, float) and not math.isfinite(value):
            raise MatchSyntaxError("number out of range", pos)
        return _Token("number", value, pos, m.group())
    m = _FIELD.match(text, pos)
    if m:
        word = m.group()
        if word.upper() in KEYWORDS:
            return _Token("keyword", word.upper(), pos, word)
        return _Token("field", word, pos, word)
    m = _OPERATOR.match(text, pos)
    if m:
        op = _OPERATORS.get(m.group())
        if op is None:
            raise MatchSyntaxError(f"unknown operator '{m.group()}'", pos)
        return _Token("op", op, pos, m.group())
    if ch == '"':
        raise MatchSyntaxError("unexpected character '\"' (strings are in single quotes)", pos)
    raise MatchSyntaxError(f"unexpected character {ch!r}", pos)


# ------------------------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over lazily scanned tokens, so the first error in the text is the one reported."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.depth = 0
        self.tok = _scan(text, 0)

    def advance(self) -> _Token:
        tok = self.tok
        if tok.kind != "end":
            self.tok = _scan(self.text, tok.position + len(tok.text))
        return tok

    def is_keyword(self, word: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.value == word

    def fail(self, expected: str, after: str | None = None) -> MatchSyntaxError:
        reason = f"expected {expected}"
        if after:
            reason += f" after {after}"
        if self.tok.kind != "end":
            reason += f" but found {self.tok.describe()}"
        return MatchSyntaxError(reason, self.tok.position)

    def enter(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise MatchSyntaxError(f"nested deeper than {MAX_DEPTH} levels", tok.position)

    def parse(self) -> Expr | None:
        if self.tok.kind == "end":
            return None
        expr = self.expr(after=None)
        if self.tok.kind != "end":
            raise self.fail("AND, OR or end of input")
        return expr

    def expr(self, after: str | None) -> Expr:
        items = [self.and_expr(after)]
        while self.is_keyword("OR"):
            self.advance()
            items.append(self.and_expr("OR"))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self, after: str | None) -> Expr:
        items = [self.not_expr(after)]
        while self.is_keyword("AND"):
            self.advance()
            items.append(self.not_expr("AND"))
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self, after: str | None) -> Expr:
        tok = self.tok
        if self.is_keyword("NOT"):
            self.enter(tok)
            self.advance()
            operand = self.not_expr("NOT")
            self.depth -= 1
            return Not(operand)
        if tok.kind == "(":
            self.enter(tok)
            self.advance()
            inner = self.expr("'('")
            if self.tok.kind != ")":
                raise self.fail("AND, OR or ')'")
            self.advance()
            self.depth -= 1
            return inner
        if tok.kind == "field":
            self.advance()
            return self.predicate(tok.value)
        raise self.fail("a field name, NOT or '('", after)

    def predicate(self, field: str) -> Expr:
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            return Compare(field, tok.value, self.literal(f"'{tok.text}'"))
        if self.is_keyword("IN"):
            self.advance()
            return In(field, self.in_list("IN"), False)
        if self.is_keyword("LIKE"):
            self.advance()
            return Like(field, self.pattern("LIKE"), False)
        if self.is_keyword("NOT"):
            self.advance()
            if self.is_keyword("IN"):
                self.advance()
                return In(field, self.in_list("NOT IN"), True)
            if self.is_keyword("LIKE"):
                self.advance()
                return Like(field, self.pattern("NOT LIKE"), True)
            raise self.fail("IN or LIKE", "NOT")
        if self.is_keyword("IS"):
            self.advance()
            negated = self.is_keyword("NOT")
            if negated:
                self.advance()
            if not self.is_keyword("NULL"):
                raise self.fail("NULL", "IS NOT" if negated else "IS")
            self.advance()
            return IsNull(field, negated)
        raise self.fail("a comparison operator, IN, LIKE or IS", f"field '{field}'")

    def literal(self, after: str) -> Scalar:
        tok = self.tok
        if tok.kind not in ("string", "number"):
            raise self.fail("a value", after)
        self.advance()
        return tok.value

    def pattern(self, after: str) -> str:
        if self.tok.kind != "string":
            raise self.fail("a quoted pattern", after)
        return self.advance().value

    def in_list(self, after: str) -> tuple[Scalar, ...]:
        if self.tok.kind != "(":
            raise self.fail("'('", after)
        self.advance()
        values = [self.literal("'('")]
        while self.tok.kind == ",":
            self.advance()
            values.append(self.literal("','"))
        if self.tok.kind != ")":
            raise self.fail("',' or ')'")
        self.advance()
        return tuple(values)


def parse(text: str | None) -> Expr | None:
    """Parse a `match-crt`; None (match everything) for None, "" or only whitespace.

    Raises MatchSyntaxError (with `.position`) for anything that is not in the language.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError(f"match-crt must be a string, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise MatchSyntaxError(f"longer than {MAX_LENGTH} characters", MAX_LENGTH)
    return _Parser(text).parse()


# ------------------------------------------------------------------------------------------ printer


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _literal_text(value: Scalar) -> str:
    return _quote(value) if isinstance(value, str) else _literal_number_text(value)


def _print(e: Expr) -> str:
    if isinstance(e, Compare):
        return f"{e.field} {e.op} {_literal_text(e.value)}"
    if isinstance(e, In):
        values = ", ".join(_literal_text(v) for v in e.values)
        return f"{e.field} {'NOT IN' if e.negated else 'IN'} ({values})"
    if isinstance(e, Like):
        return f"{e.field} {'NOT LIKE' if e.negated else 'LIKE'} {_quote(e.pattern)}"
    if isinstance(e, IsNull):
        return f"{e.field} IS {'NOT NULL' if e.negated else 'NULL'}"
    if isinstance(e, Not):
        inner = _print(e.operand)
        return f"NOT ({inner})" if isinstance(e.operand, And | Or) else f"NOT {inner}"
    if isinstance(e, And):
        # An AND or OR inside an AND needs parentheses (the first would flatten, the second binds looser).
        return " AND ".join(f"({_print(i)})" if isinstance(i, And | Or) else _print(i) for i in e.items)
    if isinstance(e, Or):
        return " OR ".join(f"({_print(i)})" if isinstance(i, Or) else _print(i) for i in e.items)
    raise TypeError(f"not a match expression: {e!r}")


def to_text(expr: Expr | None) -> str:
    """Canonical text: upper-case keywords, single spaces, `!=` for `<>`, only the parentheses the tree
    needs, strings re-quoted, numbers that parse back to the same value and type. "" for None."""
    return "" if expr is None else _print(expr)


# ----------------------------------------------------------------------------------------- analysis


def fields(expr: Expr | None) -> set[str]:
    """Every field name the expression refers to."""
    out: set[str] = set()

    def walk(e: Expr) -> None:
        if isinstance(e, Not):
            walk(e.operand)
        elif isinstance(e, And | Or):
            for item in e.items:
                walk(item)
        else:
            out.add(e.field)

    if expr is not None:
        walk(expr)
    return out


def _key(value: Scalar) -> str:
    if isinstance(value, str):
        return value
    key = _canonical_number(value)
    assert key is not None  # literals have at most MAX_LENGTH digits
    return key


def pinned(expr: Expr | None) -> dict[str, str]:
    """Fields the expression pins to exactly one value, as canonical strings (see `value_keys`).

    Only `field = literal` (and `field IN (one literal)`) terms count, when they are the whole
    expression or conjuncts of the top-level AND chain (nested ANDs included); nothing under OR or NOT.
    A field pinned twice keeps its first value (if they differ the expression can never match, and
    indexing it under either value is still correct).
    """
    out: dict[str, str] = {}

    def walk(e: Expr) -> None:
        if isinstance(e, And):
            for item in e.items:
                walk(item)
        elif isinstance(e, Compare) and e.op == "=":
            out.setdefault(e.field, _key(e.value))
        elif isinstance(e, In) and not e.negated and len(e.values) == 1:
            out.setdefault(e.field, _key(e.values[0]))

    if expr is not None:
        walk(expr)
    return out


# ----------------------------------------------------------------------------------------- evaluate

Matcher = Callable[[Mapping[str, Any]], bool]

_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _always(values: Mapping[str, Any]) -> bool:
    return True


def _like_segment(seg: str) -> tuple[Callable[[str, int], bool], Callable[[str, int, int], int]]:
    """(matches_at(s, i), find(s, start, end)) for a `%`-free piece of a LIKE pattern."""
    n = len(seg)
    if "_" not in seg:
        return (lambda s, i: s.startswith(seg, i)), (lambda s, start, end: s.find(seg, start, end))
    fixed = [(k, c) for k, c in enumerate(seg) if c != "_"]

    def at(s: str, i: int) -> bool:
        for k, c in fixed:  # noqa: SIM110 - a plain loop beats all() over a generator on the hot path
            if s[i + k] != c:
                return False
        return True

    def find(s: str, start: int, end: int) -> int:
        for i in range(start, end - n + 1):
            if at(s, i):
                return i
        return -1

    # `at` is only called where s has n characters from i on (callers check lengths first).
    return at, find


def _like(pattern: str) -> Callable[[str], bool]:
    """A LIKE matcher in O(len(s) * len(pattern)) (no regex backtracking on hostile patterns).

    The first piece must match at the start, the last at the end, and each middle piece at its leftmost
    place after the previous one: pieces have fixed lengths, so the leftmost placement is never worse.
    """
    pieces = pattern.split("%")
    if len(pieces) == 1:
        n = len(pattern)
        if "_" not in pattern:
            return lambda s: s == pattern
        exact_at = _like_segment(pattern)[0]
        return lambda s: len(s) == n and exact_at(s, 0)
    head, *middle, tail = pieces
    middle = [p for p in middle if p]
    min_len = len(head) + len(tail) + sum(len(p) for p in middle)
    head_at = _like_segment(head)[0]
    tail_at = _like_segment(tail)[0]
    finders = [(len(p), _like_segment(p)[1]) for p in middle]
    head_len, tail_len = len(head), len(tail)

    def match(s: str) -> bool:
        if len(s) < min_len or not head_at(s, 0):
            return False
        end = len(s) - tail_len
        if not tail_at(s, end):
            return False
        pos = head_len
        for n, find in finders:
            i = find(s, pos, end)
            if i < 0:
                return False
            pos = i + n
        return True

    return match


def _compile_compare(e: Compare) -> Matcher:
    field, op, lit = e.field, e.op, e.value
    if isinstance(lit, str):
        if op == "=":

            def eq_text(values: Mapping[str, Any]) -> bool:
                v = values.get(field)
                if v.__class__ is str:
                    return v == lit
                return _text(v) == lit  # None (absent / not comparable) never equals a str

            return eq_text
        if op == "!=":

            def ne_text(values: Mapping[str, Any]) -> bool:
                t = _text(values.get(field))
                return t is not None and t != lit

            return ne_text
        cmp = _ORDER[op]

        def order_text(values: Mapping[str, Any]) -> bool:
            t = _text(values.get(field))
            return t is not None and cmp(t, lit)

        return order_text
    if op == "=":

        def eq_number(values: Mapping[str, Any]) -> bool:
            x = _number(values.get(field))
            return x is not None and x == lit

        return eq_number
    if op == "!=":

        def ne_number(values: Mapping[str, Any]) -> bool:
            v = values.get(field)
            x = _number(v)
            if x is None:
                return _text(v) is not None  # comparable without a numeric value: not equal
            return x != lit

        return ne_number
    cmp = _ORDER[op]

    def order_number(values: Mapping[str, Any]) -> bool:
        x = _number(values.get(field))
        return x is not None and cmp(x, lit)

    return order_number


def _compile_in(e: In) -> Matcher:
    field, negated = e.field, e.negated
    texts = frozenset(v for v in e.values if isinstance(v, str))
    numbers = frozenset(v for v in e.values if not isinstance(v, str))

    def member(values: Mapping[str, Any]) -> bool:
        v = values.get(field)
        t = _text(v)
        if t is None:
            return False
        found = t in texts
        if not found and numbers:
            x = _number(v)
            found = x is not None and x in numbers
        return found is not negated

    return member


def _compile_like(e: Like) -> Matcher:
    field, negated, match = e.field, e.negated, _like(e.pattern)

    def like(values: Mapping[str, Any]) -> bool:
        t = _text(values.get(field))
        return t is not None and match(t) is not negated

    return like


def _compile(e: Expr) -> Matcher:
    if isinstance(e, Compare):
        return _compile_compare(e)
    if isinstance(e, In):
        return _compile_in(e)
    if isinstance(e, Like):
        return _compile_like(e)
    if isinstance(e, IsNull):
        field = e.field
        if e.negated:
            return lambda values: values.get(field) is not None
        return lambda values: values.get(field) is None
    if isinstance(e, Not):
        inner = _compile(e.operand)
        return lambda values: not inner(values)
    if isinstance(e, And):
        conjuncts = tuple(_compile(i) for i in e.items)

        def all_of(values: Mapping[str, Any]) -> bool:
            for f in conjuncts:  # noqa: SIM110 - as above
                if not f(values):
                    return False
            return True

        return all_of
    if isinstance(e, Or):
        disjuncts = tuple(_compile(i) for i in e.items)

        def any_of(values: Mapping[str, Any]) -> bool:
            for f in disjuncts:  # noqa: SIM110 - as above
                if f(values):
                    return True
            return False

        return any_of
    raise TypeError(f"not a match expression: {e!r}")


def compile_expr(expr: Expr | None) -> Matcher:
    """The expression as a function of an event's field values; compile once, call per event."""
    return _always if expr is None else _compile(expr)


_cached = lru_cache(maxsize=1024)(compile_expr)


def evaluate(expr: Expr | None, values: Mapping[str, Any]) -> bool:
    """Whether an event with these field values matches (None matches everything).

    Compiled matchers are cached per expression; a hot loop should still keep `compile_expr(expr)`.
    """
    return _cached(expr)(values)


# --------------------------------------------------------------------------------------------- JSON
#
# Nodes are lists headed by their operator, literals are JSON strings, numbers are {"n": "<text>"}
# (exact, keeps int/float apart, and safe for DynamoDB, which rejects Python floats):
#   ["=", "f", lit]  ["!=" | "<" | "<=" | ">" | ">=", "f", lit]
#   ["IN" | "NOT IN", "f", [lit, ...]]  ["LIKE" | "NOT LIKE", "f", "pattern"]
#   ["IS NULL" | "IS NOT NULL", "f"]  ["NOT", node]  ["AND" | "OR", node, node, ...]
# and None (JSON null) is match-all.

_JSON_DEPTH = 4 * MAX_DEPTH


def _literal_json(value: Scalar) -> Any:
    return value if isinstance(value, str) else {"n": _literal_number_text(value)}


def _json(e: Expr) -> list[Any]:
    if isinstance(e, Compare):
        return [e.op, e.field, _literal_json(e.value)]
    if isinstance(e, In):
        return ["NOT IN" if e.negated else "IN", e.field, [_literal_json(v) for v in e.values]]
    if isinstance(e, Like):
        return ["NOT LIKE" if e.negated else "LIKE", e.field, e.pattern]
    if isinstance(e, IsNull):
        return ["IS NOT NULL" if e.negated else "IS NULL", e.field]
    if isinstance(e, Not):
        return ["NOT", _json(e.operand)]
    if isinstance(e, And | Or):
        return ["AND" if isinstance(e, And) else "OR", *(_json(i) for i in e.items)]
    raise TypeError(f"not a match expression: {e!r}")


def to_json(expr: Expr | None) -> list[Any] | None:
    """A compact JSON-serialisable form of the tree (lists, str, {"n": str}); None stays None."""
    return None if expr is None else _json(expr)


def _bad(data: Any, why: str) -> ValueError:
    shown = repr(data)
    return ValueError(f"invalid match expression data ({why}): {shown[:80]}")


def _field_from_json(data: Any) -> str:
    if not isinstance(data, str) or not _FIELD.fullmatch(data) or data.upper() in KEYWORDS:
        raise _bad(data, "field name")
    return data


def _literal_from_json(data: Any) -> Scalar:
    if isinstance(data, str):
        return data
    if isinstance(data, dict) and data.keys() == {"n"}:
        text = data["n"]
        if isinstance(text, str) and _NUMBER.fullmatch(text):
            value = _number_from_text(text)
            if not isinstance(value, float) or math.isfinite(value):
                return value
    raise _bad(data, "literal")


def _from_json(data: Any, depth: int) -> Expr:
    if depth > _JSON_DEPTH:
        raise _bad(data, "nested too deeply")
    if not isinstance(data, list | tuple) or not data or not isinstance(data[0], str):
        raise _bad(data, "node")
    head, args = data[0], data[1:]
    if head in COMPARISON_OPERATORS and len(args) == 2:
        return Compare(_field_from_json(args[0]), head, _literal_from_json(args[1]))
    if head in ("IN", "NOT IN") and len(args) == 2 and isinstance(args[1], list | tuple) and args[1]:
        return In(_field_from_json(args[0]), tuple(_literal_from_json(v) for v in args[1]), head == "NOT IN")
    if head in ("LIKE", "NOT LIKE") and len(args) == 2 and isinstance(args[1], str):
        return Like(_field_from_json(args[0]), args[1], head == "NOT LIKE")
    if head in ("IS NULL", "IS NOT NULL") and len(args) == 1:
        return IsNull(_field_from_json(args[0]), head == "IS NOT NULL")
    if head == "NOT" and len(args) == 1:
        return Not(_from_json(args[0], depth + 1))
    if head in ("AND", "OR") and len(args) >= 2:
        items = tuple(_from_json(a, depth + 1) for a in args)
        return And(items) if head == "AND" else Or(items)
    raise _bad(data, "node")


def from_json(data: Any) -> Expr | None:
    """The tree `to_json` wrote (tuples are accepted for lists). Raises ValueError on anything else."""
    return None if data is None else _from_json(data, 0)

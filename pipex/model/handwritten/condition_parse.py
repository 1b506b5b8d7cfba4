"""Tokenizer and parser of ``if`` conditions: JEXL text -> a small typed AST.

Hand-written on purpose: user text is never given to ``eval``/``ast``; the scanner is a single linear pass
(no regular expressions, so no backtracking blow-ups) and the parser is precedence climbing over the binary
precedences of JEXL's ``lib/grammar.js``::

    || && : 10     == != < <= > >= in : 20     + - : 30     * / // : 40     % ^ : 50

All binary operators are left-associative, exactly as in JEXL, so ``a || b && c`` is ``(a || b) && c``.
``!`` and unary ``-`` bind tighter than every binary operator but looser than ``.name`` / ``[index]``.
The ternary ``a ? b : c`` (and JEXL's elvis ``a ?: b``) is the loosest form and nests to the right.

Spec: pipeline-format.md, "Conditions (`if`)"; the grammar of JEXL. Why not a library: pyjexl, the only JEXL on PyPI,
uses Python's value rules (9 of 15 probe expressions differ, measured; see ``condition``'s docstring).
"""

from __future__ import annotations

from typing import Final, NamedTuple, TypeAlias

from pipex.model.handwritten.condition_ast import (
    ArrayLiteral,
    Binary,
    Conditional,
    ConditionSyntaxError,
    Expr,
    Identifier,
    Index,
    Literal,
    Member,
    Unary,
)

__all__ = ["BINARY_PRECEDENCE", "MAX_DEPTH", "parse", "tokenize"]

# Conditions are written by people; a deeper tree is a generated or hostile input, and refusing it keeps the
# recursive parser and evaluator far from Python's recursion limit.
MAX_DEPTH: Final = 50

BINARY_PRECEDENCE: Final[dict[str, int]] = {
    "||": 10,
    "&&": 10,
    "==": 20,
    "!=": 20,
    "<": 20,
    "<=": 20,
    ">": 20,
    ">=": 20,
    "in": 20,
    "+": 30,
    "-": 30,
    "*": 40,
    "/": 40,
    "//": 40,
    "%": 50,
    "^": 50,
}

_KEYWORDS: Final = frozenset({"true", "false", "null", "in"})
_TWO_CHAR: Final = frozenset({"||", "&&", "==", "!=", "<=", ">=", "//"})
_ONE_CHAR: Final = frozenset("<>+-*/%^!?:()[],.")
# Characters that are JEXL syntax pipex refuses, with what to write instead.
_REFUSED: Final[dict[str, str]] = {
    "===": 'use "==" (equality in conditions is always loose)',
    "!==": 'use "!=" (equality in conditions is always loose)',
    "=": 'use "==" to compare',
    "&": 'use "&&"',
    "|": 'transforms are not supported (did you mean "||"?)',
    "{": "object literals are not supported",
    "}": "object literals are not supported",
}
_IDENT_START: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$")
_IDENT_CHAR: Final = _IDENT_START | frozenset("0123456789")
_DIGITS: Final = frozenset("0123456789")


# --- the scanner -------------------------------------------------------------------------------------------


class _Token(NamedTuple):  # a NamedTuple: several times cheaper to build than a frozen dataclass
    kind: str  # "num", "str", "name", "op" (operators, keywords and punctuation) or "end"
    text: str  # the operator/name/number as written; the decoded value of a string
    pos: int
    op: str = ""  # ``text`` for an "op" token, so the parser tests operators with a single comparison

    def describe(self) -> str:
        if self.kind == "end":
            return "end of expression"
        if self.kind == "str":
            return "string"
        return f'"{self.text}"'


def _scan_string(text: str, start: int) -> tuple[str, int]:
    """Decode the string literal opening at ``start``; return it and the index after its closing quote.

    As in JEXL, a backslash escapes only the quote and the backslash; any other ``\\x`` stays as written, so
    Windows paths and regular-expression-like text need no doubling.
    """
    quote = text[start]
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise ConditionSyntaxError(f"unterminated string starting at column {start + 1}", start)


def tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in ("'", '"'):
            value, end = _scan_string(text, i)
            tokens.append(_Token("str", value, i))
            i = end
        elif ch in _DIGITS:
            j = i + 1
            while j < n and text[j] in _DIGITS:
                j += 1
            if j + 1 < n and text[j] == "." and text[j + 1] in _DIGITS:
                j += 2
                while j < n and text[j] in _DIGITS:
                    j += 1
            tokens.append(_Token("num", text[i:j], i))
            i = j
        elif ch in _IDENT_START:
            j = i + 1
            while j < n and text[j] in _IDENT_CHAR:
                j += 1
            word = text[i:j]
            tokens.append(_Token("op", word, i, word) if word in _KEYWORDS else _Token("name", word, i))
            i = j
        else:
            for refused in ("===", "!=="):
                if text.startswith(refused, i):
                    _refuse(refused, i)
            pair = text[i : i + 2]
            if pair in _TWO_CHAR:
                tokens.append(_Token("op", pair, i, pair))
                i += 2
            elif ch in _ONE_CHAR:
                tokens.append(_Token("op", ch, i, ch))
                i += 1
            elif ch in _REFUSED:
                _refuse(ch, i)
            else:
                raise ConditionSyntaxError(f'unexpected character "{ch}" at column {i + 1}', i)
    tokens.append(_Token("end", "", len(text.rstrip())))
    return tokens


def _refuse(text: str, pos: int) -> None:
    raise ConditionSyntaxError(f'unexpected "{text}" at column {pos + 1}: {_REFUSED[text]}', pos)


# --- the parser --------------------------------------------------------------------------------------------

_Parsed: TypeAlias = tuple[Expr, int]  # a node and the depth of its tree


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0  # live recursive calls, bounded so a hostile input cannot exhaust the stack

    def enter(self, pos: int) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.too_deep(pos)

    def too_deep(self, pos: int) -> ConditionSyntaxError:
        return ConditionSyntaxError(
            f"condition is too deeply nested or too long (more than {MAX_DEPTH} levels) at column {pos + 1}",
            pos,
        )

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def at(self, op: str) -> bool:
        return self.tokens[self.i].op == op

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def unexpected(self, tok: _Token | None = None) -> ConditionSyntaxError:
        tok = tok or self.tok
        if tok.kind == "end":
            return ConditionSyntaxError(f"expected a value at column {tok.pos + 1}, got end of expression", tok.pos)
        return ConditionSyntaxError(f"unexpected {tok.describe()} at column {tok.pos + 1}", tok.pos)

    def expect(self, op: str) -> None:
        if not self.at(op):
            tok = self.tok
            raise ConditionSyntaxError(f'expected "{op}" at column {tok.pos + 1}, got {tok.describe()}', tok.pos)
        self.i += 1

    def checked(self, node: Expr, depth: int, pos: int) -> _Parsed:
        if depth > MAX_DEPTH:
            raise self.too_deep(pos)
        return node, depth

    def expression(self) -> _Parsed:
        self.enter(self.tok.pos)
        try:
            return self.ternary()
        finally:
            self.nesting -= 1

    def ternary(self) -> _Parsed:
        test, depth = self.binary(0)
        if not self.at("?"):
            return test, depth
        pos = self.advance().pos
        consequent: Expr | None = None
        if self.at(":"):
            self.advance()
        else:
            consequent, d2 = self.checked(*self.expression(), pos)
            depth = max(depth, d2)
            self.expect(":")
        alternate, d3 = self.expression()
        return self.checked(Conditional(test, consequent, alternate), max(depth, d3) + 1, pos)

    def binary(self, min_precedence: int) -> _Parsed:
        left, depth = self.unary()
        while True:
            tok = self.tokens[self.i]
            precedence = BINARY_PRECEDENCE.get(tok.op, 0)
            if precedence <= min_precedence:
                return left, depth
            self.advance()
            right, d2 = self.binary(precedence)
            left, depth = self.checked(Binary(tok.text, left, right), max(depth, d2) + 1, tok.pos)

    def unary(self) -> _Parsed:
        if self.tokens[self.i].op in ("!", "-"):
            tok = self.advance()
            self.enter(tok.pos)
            operand, depth = self.unary()
            self.nesting -= 1
            return self.checked(Unary(tok.text, operand), depth + 1, tok.pos)
        return self.postfix()

    def postfix(self) -> _Parsed:
        node, depth = self.primary()
        while True:
            tok = self.tokens[self.i]
            if tok.op == ".":
                self.advance()
                name = self.tok
                if name.kind != "name" and name.op not in _KEYWORDS:
                    raise ConditionSyntaxError(
                        f'expected a name after "." at column {name.pos + 1}, got {name.describe()}', name.pos
                    )
                self.advance()
                node, depth = self.checked(Member(node, name.text), depth + 1, tok.pos)
            elif tok.op == "[":
                self.advance()
                index, d2 = self.checked(*self.expression(), tok.pos)
                self.expect("]")
                node, depth = self.checked(Index(node, index), max(depth, d2) + 1, tok.pos)
            elif tok.op == "(":
                raise ConditionSyntaxError(
                    f'unexpected "(" at column {tok.pos + 1}: function calls are not supported', tok.pos
                )
            else:
                return node, depth

    def primary(self) -> _Parsed:
        tok = self.advance()
        if tok.kind == "num":
            return Literal(float(tok.text)), 1
        if tok.kind == "str":
            return Literal(tok.text), 1
        if tok.kind == "name":
            return Identifier(tok.text), 1
        if tok.kind == "op":
            if tok.text in ("true", "false"):
                return Literal(tok.text == "true"), 1
            if tok.text == "null":
                return Literal(None), 1
            if tok.text == "(":
                inner, depth = self.checked(*self.expression(), tok.pos)
                self.expect(")")
                return self.checked(inner, depth + 1, tok.pos)
            if tok.text == "[":
                return self.array(tok.pos)
        raise self.unexpected(tok)

    def array(self, pos: int) -> _Parsed:
        items: list[Expr] = []
        depth = 0
        while not self.at("]"):
            item, d2 = self.checked(*self.expression(), pos)
            items.append(item)
            depth = max(depth, d2)
            if not self.at(","):
                break
            self.advance()
        self.expect("]")
        return self.checked(ArrayLiteral(tuple(items)), depth + 1, pos)


def parse(text: str) -> Expr:
    """Parse a condition; raise ConditionSyntaxError (with the column) when it is not valid."""
    if not text.strip():
        raise ConditionSyntaxError("empty condition", 0)
    parser = _Parser(text)
    node, _ = parser.expression()
    if parser.tok.kind != "end":
        raise parser.unexpected()
    return node

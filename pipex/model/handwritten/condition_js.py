"""JavaScript value semantics for conditions: the undefined sentinel, truthiness and the coercions.

JEXL evaluates with plain JavaScript operators, so a JEXL-compatible evaluator needs JavaScript's
ToBoolean / ToNumber / ToString / ToPrimitive and its loose (``==``) and strict equality. Each function
here follows the ECMAScript algorithm of the same name for the few value kinds a condition can hold.

Spec: pipeline-format.md, "Conditions (`if`)"; the coercions of JEXL. Why not a library: pyjexl, the only JEXL on PyPI,
uses Python's value rules (9 of 15 probe expressions differ, measured; see ``condition``'s docstring).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Final, TypeAlias


class _Undefined(enum.Enum):
    UNDEFINED = "undefined"

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined.UNDEFINED
"""What an unset variable (or any missing property, or a name other than ``env``) evaluates to."""

Value: TypeAlias = "str | float | bool | _Undefined | list[Value] | Mapping[str, Value] | None"
Primitive: TypeAlias = str | float | bool | _Undefined | None

# StrWhiteSpaceChar of ECMAScript: what Number("  5 ") trims (Python's str.strip() trims a different set).
_JS_SPACE: Final = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DIGITS: Final = frozenset("0123456789")
_RADIX: Final = {"x": 16, "o": 8, "b": 2}


def truthy(value: object) -> bool:
    """JEXL truthiness: "", 0, NaN, null, undefined and false are false; every other value is true.

    The strings "false" and "0" are true: compare explicitly (``env.X == "true"``) to read a flag.
    """
    if value is None or value is UNDEFINED or value is False:
        return False
    if isinstance(value, str):
        return value != ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def _kind(value: Value) -> str:
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def to_primitive(value: Value) -> Primitive:
    if isinstance(value, list):
        return ",".join("" if item is None or item is UNDEFINED else to_string(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return value


def to_string(value: Value) -> str:
    value = to_primitive(value)
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return number_to_string(float(value))


def number_to_string(x: float) -> str:
    """Number::toString: "1" for 1.0, "1e+21", "1.5e-7", "NaN", "Infinity"."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # repr() gives the shortest round-tripping digits, the same ones JavaScript picks.
    _, digit_tuple, exponent = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    assert isinstance(exponent, int)
    n = exponent + len("".join(map(str, digit_tuple)))  # the decimal point sits after n digits
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def to_number(value: Value) -> float:
    value = to_primitive(value)
    if value is UNDEFINED:
        return math.nan
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, str):
        return _string_to_number(value.strip(_JS_SPACE))
    return float(value)


def _string_to_number(text: str) -> float:
    if not text:
        return 0.0
    radix = _RADIX.get(text[1:2].lower()) if text[0] == "0" else None
    if radix is not None:
        digits = text[2:].lower()
        if not digits or not set(digits) <= set("0123456789abcdef"[:radix]):
            return math.nan
        try:
            return float(int(digits, radix))
        except OverflowError:
            return math.inf
    body = text[1:] if text[0] in "+-" else text
    if body == "Infinity":
        return -math.inf if text[0] == "-" else math.inf
    return float(text) if _is_decimal_literal(body) else math.nan


def _is_decimal_literal(text: str) -> bool:
    """StrUnsignedDecimalLiteral without Infinity: digits, an optional fraction, an optional exponent."""
    mantissa, has_exponent, exponent = text.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    if not (whole or fraction) or not set(whole + fraction) <= _DIGITS:
        return False
    if not has_exponent:
        return True
    digits = exponent[1:] if exponent[:1] in ("+", "-") else exponent
    return bool(digits) and set(digits) <= _DIGITS


def property_key(value: Value) -> str:
    return to_string(value)


def utf16_units(text: str) -> str | list[str]:
    """The string as JavaScript indexes it: one item per UTF-16 code unit."""
    if text.isascii() or all(ord(ch) < 0x10000 for ch in text):
        return text
    raw = text.encode("utf-16-le", "surrogatepass")
    return [raw[i : i + 2].decode("utf-16-le", "surrogatepass") for i in range(0, len(raw), 2)]


def strict_equal(a: Value, b: Value) -> bool:
    kind = _kind(a)
    if kind != _kind(b):
        return False
    if kind in ("undefined", "null"):
        return True
    if kind == "object":
        return a is b
    return a == b  # NaN != NaN and 0 == -0, as in JavaScript


def loose_equal(a: Value, b: Value) -> bool:
    """IsLooselyEqual (``==``): "5" == 5, null == undefined, true == 1, [5] == "5"."""
    ka, kb = _kind(a), _kind(b)
    if ka == kb:
        return strict_equal(a, b)
    nullish = ("undefined", "null")
    if ka in nullish or kb in nullish:
        return ka in nullish and kb in nullish
    if ka == "boolean" or kb == "boolean":
        return loose_equal(to_number(a) if ka == "boolean" else a, to_number(b) if kb == "boolean" else b)
    if ka == "object" or kb == "object":
        return loose_equal(to_primitive(a), to_primitive(b))
    return to_number(a) == to_number(b)  # a number and a string


def remainder(a: float, b: float) -> float:
    """The ``%`` of JavaScript: the sign of the dividend, NaN instead of an error."""
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or b == 0:
        return math.nan
    if math.isinf(b) or a == 0:
        return a
    return math.fmod(a, b)


def power(a: float, b: float) -> float:
    """Math.pow: NaN or an infinity where Python's math.pow raises."""
    if math.isnan(b):
        return math.nan
    if b == 0:
        return 1.0
    if math.isnan(a) or (abs(a) == 1 and math.isinf(b)):
        return math.nan
    odd = b.is_integer() and b % 2 == 1
    try:
        return math.pow(a, b)
    except OverflowError:
        return -math.inf if a < 0 and odd else math.inf
    except ValueError:  # 0 to a negative power, or a negative base to a fractional power
        if a == 0:
            return -math.inf if math.copysign(1.0, a) < 0 and odd else math.inf
        return math.nan

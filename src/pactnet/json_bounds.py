r"""Bounds on JSON from outside the node: nesting depth, integer size, and text that is Unicode without NUL.

What a request body or a partner's payload may hold is bounded before anything reads it deeply, so that no value
reaches a serializer, the clock or the database in a form they fail on: a value nested deeper than any report
needs (serializers stop at about 255 levels), an integer of thousands of digits (Python refuses to parse more
than 4,300; PostgreSQL's JSON keeps what it gets), a lone UTF-16 surrogate (`"\\ud800"` is valid JSON but not
Unicode text: it cannot be encoded to UTF-8 for the database), and NUL, which PostgreSQL text cannot hold.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

# STIX 2.1 objects nest a few levels (an extension holding a list of dicts); 32 leaves room for any real one.
MAX_DEPTH = 32
# Enough for any count or timestamp in milliseconds, and far from what parsing or storing would choke on.
MAX_INTEGER_DIGITS = 40
MAX_INTEGER_BITS = math.ceil(MAX_INTEGER_DIGITS * math.log2(10))
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonBoundsError(ValueError):
    """A JSON value outside the node's bounds; the message says which bound, and where."""


def text_problem(text: str, *, nul: bool = True) -> str | None:
    """Why a string cannot be stored as text: a lone surrogate, or (with `nul`) a NUL character."""
    if text.isascii():
        return "contains NUL" if nul and "\x00" in text else None
    if _SURROGATE.search(text):
        return "is not Unicode text (a lone UTF-16 surrogate)"
    return "contains NUL" if nul and "\x00" in text else None


def check_value(value: object, *, max_depth: int = MAX_DEPTH, nul: bool = True) -> None:
    """Raise JsonBoundsError if a parsed JSON value is nested too deep or holds a string that is not text."""
    pending: list[tuple[Any, int, str]] = [(value, 0, "")]
    while pending:
        item, depth, where = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item, nul=nul)
            if problem is not None:
                _refuse(where, f"a string {problem}")
        elif isinstance(item, float) and not math.isfinite(item):
            _refuse(where, "a number too large for JSON")
        elif isinstance(item, int) and not isinstance(item, bool):
            if item.bit_length() > MAX_INTEGER_BITS:
                _refuse(where, f"an integer of more than {MAX_INTEGER_DIGITS} digits")
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                _refuse(where, f"nested more than {max_depth} levels deep")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, inner in pairs:
                pending.append((key, depth + 1, f"{where}.{key}" if where else str(key)))
                pending.append((inner, depth + 1, f"{where}.{key}" if where else str(key)))


def _refuse(where: str, problem: str) -> NoReturn:
    place = where if len(where) <= 80 else f"{where[:77]}..."  # noqa: PLR2004 - a readable message
    place = place.encode("utf-8", "backslashreplace").decode("utf-8")  # the key itself may be a lone surrogate
    raise JsonBoundsError(f"{place or 'the value'}: {problem}")


def _no_constant(name: str) -> NoReturn:
    raise JsonBoundsError(f"{name} is not a JSON number")


def _bounded_integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise JsonBoundsError(f"an integer of more than {MAX_INTEGER_DIGITS} digits")
    return int(digits)


def parse_bounded(data: bytes, *, max_depth: int = MAX_DEPTH) -> Any:  # noqa: ANN401 - any JSON value
    """Parse UTF-8 JSON within the bounds; raises JsonBoundsError naming what is wrong."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JsonBoundsError("not UTF-8 text") from error
    try:
        value = json.loads(text, parse_int=_bounded_integer, parse_constant=_no_constant)
    except RecursionError as error:
        raise JsonBoundsError(f"nested more than {max_depth} levels deep") from error
    except JsonBoundsError:
        raise
    except ValueError as error:  # json.JSONDecodeError, or a float the parser cannot hold
        raise JsonBoundsError(f"not JSON ({error})") from error
    check_value(value, max_depth=max_depth)
    return value

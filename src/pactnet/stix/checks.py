"""Checks of the plain values a STIX marking holds, each refusal naming the object, the property and the problem.

Everything here reads JSON that came from outside the node (a TAXII client's envelope, a partner's stored
object) and walks only the paths a marking defines, never the whole value: a hostile object nested ten thousand
levels deep, holding an integer of a million digits or a lone UTF-16 surrogate, is refused where a marking
property is expected, with a message that never prints the value itself (an integer that long cannot even be
turned into text). Nothing but `StixMarkingError` leaves these functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from pactnet.errors import PactnetError

# A party code, a level or a category is a name, not a document; 200 characters hold any real one.
MAX_NAME = 200
# More categories, compartments or rel_to parties than this is no real marking, only a way to slow the node.
MAX_ITEMS = 100
# STIX 2.1 §2.9: an identifier is `type--UUID`; a marking-definition's is what object_marking_refs hold.
MARKING_ID = re.compile(r"marking-definition--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Lone surrogates are not Unicode text (they cannot be encoded as UTF-8 for the database); control characters
# (NUL among them) have no place in a name.
_NOT_TEXT = re.compile("[\ud800-\udfff\x00-\x1f\x7f]")
_SHOWN = 100
# bool before int: True is an int to Python, not a number to JSON.
_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "true or false"),
    ((int, float), "a number"),
    (str, "a string"),
    (Mapping, "an object"),
    ((list, tuple), "a list"),
)


class StixMarkingError(PactnetError):
    """A STIX object's marking is missing or malformed; the message names the object's id and what is wrong."""

    def __init__(self, object_id: str, problem: str) -> None:
        self.object_id = object_id
        self.problem = problem
        super().__init__(f"{object_id}: {problem}")


def shown(text: str) -> str:
    """A string as a message may quote it: short, and with any lone surrogate escaped (it must be encodable)."""
    cut = text if len(text) <= _SHOWN else f"{text[: _SHOWN - 3]}..."
    return cut.encode("utf-8", "backslashreplace").decode("utf-8")


def kind(value: object) -> str:
    """What a JSON value is, in words, for a message that must not print the value itself."""
    for types, words in _KINDS:
        if isinstance(value, types):
            return words
    return "null" if value is None else type(value).__name__


def object_id_of(obj: object) -> str:
    """The id a message names an object by: its own when it is a plain string, else a description of it."""
    if not isinstance(obj, Mapping):
        return f"(not a STIX object: {kind(obj)})"
    value = obj.get("id")
    if isinstance(value, str) and value:
        return shown(value)
    return "(an object without an id)"


@dataclass(frozen=True, slots=True)
class Place:
    """Where values are being read: the object a refusal names."""

    object_id: str

    def fail(self, where: str, problem: str) -> NoReturn:
        """Refuse the object: `where` is the property (a dotted path), `problem` what is wrong with it."""
        raise StixMarkingError(self.object_id, f"{where}: {problem}")

    def mapping(self, value: object, where: str) -> Mapping[str, Any]:
        """A JSON object whose keys are all strings."""
        if not isinstance(value, Mapping):
            self.fail(where, f"expected an object, found {kind(value)}")
        if not all(isinstance(key, str) for key in value):
            self.fail(where, "expected an object whose property names are strings")
        return value

    def text(self, value: object, where: str, *, max_length: int = MAX_NAME) -> str:
        """A non-empty string of Unicode text without control characters, at most `max_length` long."""
        if not isinstance(value, str):
            self.fail(where, f"expected a string, found {kind(value)}")
        if not value:
            self.fail(where, "expected a non-empty string")
        if len(value) > max_length:
            self.fail(where, f"longer than {max_length} characters")
        if _NOT_TEXT.search(value):
            self.fail(where, "not text (a lone UTF-16 surrogate or a control character)")
        return value

    def texts(self, value: object, where: str, *, max_items: int = MAX_ITEMS) -> tuple[str, ...]:
        """A list of distinct names (duplicates dropped, order kept), at most `max_items` long."""
        if not isinstance(value, list | tuple):
            self.fail(where, f"expected a list of strings, found {kind(value)}")
        if len(value) > max_items:
            self.fail(where, f"more than {max_items} items")
        return tuple(dict.fromkeys(self.text(item, f"{where}[{index}]") for index, item in enumerate(value)))

    def choice(self, value: object, where: str, choices: tuple[str, ...]) -> str:
        """One of a fixed vocabulary, named in the refusal."""
        if not isinstance(value, str) or value not in choices:
            found = f"{shown(value)!r}" if isinstance(value, str) else kind(value)
            self.fail(where, f"expected one of {', '.join(choices)}; found {found}")
        return value

    def marking_ref(self, value: object, where: str) -> str:
        """A marking-definition identifier (STIX 2.1 §2.9)."""
        ref = self.text(value, where)
        if not MARKING_ID.fullmatch(ref):
            self.fail(where, f"{shown(ref)!r} is not a marking-definition id (marking-definition--<uuid>)")
        return ref

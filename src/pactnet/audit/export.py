"""An exported audit log (JSON Lines, docs/audit.md) read back, so that anyone can verify it without the node."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pactnet.audit.chain import Checkpoint, Entry, Verification, canonical, checkpoint_from, verify_chain
from pactnet.crypto.keys import unb64
from pactnet.errors import PactnetError

if TYPE_CHECKING:
    from collections.abc import Iterable

EXPORT_FORMAT = "pactnet.audit-export/1"
_KEY_SIZE = 32
_ENTRY_TEXTS = ("at", "kind", "actor", "subject", "prev", "hash")


class ExportError(PactnetError):
    """A file that is not an audit export this pactnet can read; the message names the line and why."""


@dataclass(slots=True)
class Export:
    """What an export holds: whose log, the key its header names, and the log itself."""

    party: str = ""
    key: bytes = b""
    entries: list[Entry] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    head: Checkpoint | None = None

    def verify(self, first_key: str | None = None) -> Verification:
        """The export's chain, checkpoints and head, checked as a node checks its own log (docs/audit.md)."""
        return verify_chain(self.entries, self.checkpoints, self.head, self.key, first_key=first_key)


def _entry(value: object) -> Entry:
    if not isinstance(value, dict) or set(value) != {"seq", "data", *_ENTRY_TEXTS}:
        raise ValueError(f"an entry is an object with exactly seq, data, {', '.join(_ENTRY_TEXTS)}")
    seq = value["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 2**63:
        raise ValueError("seq: expected an entry number from 1 to 2^63 - 1")
    if not all(isinstance(value[name], str) for name in _ENTRY_TEXTS) or not isinstance(value["data"], dict):
        raise ValueError(f"{', '.join(_ENTRY_TEXTS)}: expected text; data: expected an object")
    # The hash covers the data as canonical JSON (docs/audit.md): re-encode it exactly so.
    data_json = canonical(value["data"]).decode("utf-8")
    texts = {name: value[name] for name in _ENTRY_TEXTS}
    return Entry(
        seq, texts["at"], texts["kind"], texts["actor"], texts["subject"], data_json, texts["prev"], texts["hash"]
    )


def _header(value: object) -> Export:
    if not isinstance(value, dict) or value.get("format") != EXPORT_FORMAT:
        raise ValueError(f'expected {{"format": "{EXPORT_FORMAT}", "party", "key"}}')
    party, key = value.get("party"), value.get("key")
    raw = unb64(key) if isinstance(key, str) else b""
    if not isinstance(party, str) or len(raw) != _KEY_SIZE:
        raise ValueError(f"party: expected text; key: expected an Ed25519 public key of {_KEY_SIZE} bytes, base64url")
    return Export(party, raw)


def _record(line: str) -> tuple[str, Any]:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"not JSON ({type(error).__name__})") from error
    if not isinstance(record, dict) or len(record) != 1:
        raise ValueError('expected one object with one key: "header", "entry", "checkpoint" or "head"')
    kind, value = next(iter(record.items()))
    return str(kind), value


def _take(export: Export | None, line: str) -> Export:
    """The export with one more line read into it."""
    kind, value = _record(line)
    if export is None:
        if kind != "header":
            raise ValueError("the first line of an export is its header")
        return _header(value)
    if kind == "entry":
        export.entries.append(_entry(value))
    elif kind == "checkpoint":
        export.checkpoints.append(checkpoint_from(value))
    elif kind == "head" and export.head is None:
        export.head = checkpoint_from(value)
    else:
        raise ValueError(f"unexpected {kind!r} (a header comes once, first; a head once)")
    return export


def read_export(lines: Iterable[str]) -> Export:
    """An export, from its lines: the header first, then entries, checkpoints and the head."""
    export: Export | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            export = _take(export, line)
        except ValueError as error:
            raise ExportError(f"line {number}: {error}") from error
    if export is None:
        raise ExportError(f"an empty file: an export begins with its header ({EXPORT_FORMAT})")
    return export

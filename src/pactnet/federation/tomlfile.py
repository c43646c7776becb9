"""The TOML files federation writes: strings encoded safely, and files replaced atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# TOML 1.0 §String: in a basic string, the quotation mark, the backslash and the control characters other than
# tab must be escaped.
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def toml_string(text: str) -> str:
    """`text` as a TOML basic string, quotes included."""
    encoded = "".join(
        _ESCAPES.get(character)
        or (f"\\u{ord(character):04x}" if ord(character) < 0x20 or ord(character) == 0x7F else character)  # noqa: PLR2004 - TOML's control characters
        for character in text
    )
    return f'"{encoded}"'


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and `os.replace`.

    A reader sees the old file or the new one, never a mix; after a crash the old one is still there. The file
    is flushed to disk before the rename, so the rename never points at missing data. Mode 0600: the folder
    is the node's alone.
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        Path(temporary).replace(path)  # os.replace: atomic on POSIX within one file system
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX: a rename is recorded in the folder's entry)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

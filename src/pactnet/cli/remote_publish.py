"""The body of `pactnet remote report publish`: from flags, from a JSON file as the API takes it, or a STIX bundle."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pactnet.client import ClientError

if TYPE_CHECKING:
    from pathlib import Path

STDIN = "-"


@dataclass(frozen=True)
class Draft:
    """What the command line said about a report to publish."""

    title: str | None = None
    level: str | None = None
    categories: list[str] = field(default_factory=list)
    precedence: str | None = None
    recipients: list[str] = field(default_factory=list)
    rel_to: list[str] = field(default_factory=list)
    compartments: list[str] = field(default_factory=list)
    body: str | None = None
    body_file: Path | None = None
    file: Path | None = None
    stix: Path | None = None


def read_text(path: Path, option: str) -> str:
    """A UTF-8 file's text (`-`: standard input), or a ClientError naming the option and the file."""
    if str(path) == STDIN:
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ClientError(f"{option} {path}: cannot be read ({error.strerror or type(error).__name__})") from error
    except UnicodeDecodeError as error:
        raise ClientError(f"{option} {path}: not UTF-8 text ({error.reason} at byte {error.start})") from error


def read_json_object(path: Path, option: str) -> dict[str, Any]:
    """A JSON object from a file, or a ClientError saying where it is not one."""
    text = read_text(path, option)
    try:
        found = json.loads(text)
    except json.JSONDecodeError as error:
        raise ClientError(
            f"{option} {path}: not JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from error
    if not isinstance(found, dict):
        raise ClientError(f"{option} {path}: expected a JSON object, found a {type(found).__name__}")
    return found


def bundle_title(bundle: dict[str, Any]) -> str | None:
    """The name of the bundle's first object that has one (an indicator's, a report's), if any."""
    for one in bundle.get("objects") or []:
        name = one.get("name") if isinstance(one, dict) else None
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


def _stix_body(path: Path) -> dict[str, Any]:
    bundle = read_json_object(path, "--stix")
    if bundle.get("type") != "bundle":
        found = bundle.get("type")
        raise ClientError(f'--stix {path}: expected a STIX 2.1 bundle ("type": "bundle"), found "type": {found!r}')
    return bundle


def _body(draft: Draft) -> str | dict[str, Any] | None:
    given = [
        name
        for name, value in (("--body", draft.body), ("--body-file", draft.body_file), ("--stix", draft.stix))
        if value is not None
    ]
    if len(given) > 1:
        raise ClientError(f"give the body once: {' or '.join(given)}, not both")
    if draft.stix is not None:
        return _stix_body(draft.stix)
    if draft.body_file is not None:
        return read_text(draft.body_file, "--body-file")
    return draft.body


def _from_flags(draft: Draft) -> dict[str, Any]:
    body = _body(draft)
    title = draft.title or (bundle_title(body) if isinstance(body, dict) else None)
    if title is None:
        named = " (no object of the bundle has a name)" if isinstance(body, dict) else ""
        raise ClientError(f"--title is needed{named}")
    if draft.level is None:
        raise ClientError("--level is needed: a level or alias of the node's scheme")
    report: dict[str, Any] = {"title": title, "level": draft.level, "categories": draft.categories}
    optional = {
        "precedence": draft.precedence,
        "recipients": draft.recipients or None,
        "rel_to": draft.rel_to or None,
        "compartments": draft.compartments or None,
        "body": body,
    }
    report.update({key: value for key, value in optional.items() if value is not None})
    return report


def report_to_publish(draft: Draft) -> dict[str, Any]:
    """The API's JSON of the report: --file as it is, or built from the flags (and --stix as its body)."""
    if draft.file is None:
        return _from_flags(draft)
    flags = [value for name, value in vars(draft).items() if name != "file" and value not in (None, [])]
    if flags:
        raise ClientError("--file holds the whole report: give no other flag about it (--title, --level, ...)")
    return read_json_object(draft.file, "--file")

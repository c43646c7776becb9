"""The partner registry (`partners.toml`): each partner's node URL, its current keys and its retired ones.

The file lives in the node's folder and is written only by `pactnet node trust`, atomically. Its format
(docs/federation.md):

    [partners."JPN"]
    url = "https://jpn.example:8470"
    signing_key = "<Ed25519 public key, base64url>"
    encryption_key = "<X25519 public key, base64url>"
    fingerprint = "<fingerprint of signing_key>"
    issued_at = "<RFC 3339 instant of the identity document trusted>"

    [[partners."JPN".retired_keys]]
    signing_key = "<a retired Ed25519 public key, base64url>"
    fingerprint = "<its fingerprint>"
    retired_at = "<RFC 3339 instant of the rotation that retired it>"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pactnet.crypto.identity import (
    KEY_SIZE,
    Identity,
    IdentityError,
    KeyHistory,
    RetiredKey,
    Rotation,
    accept_rotation,
    check_url,
    read_rotation,
)
from pactnet.crypto.keys import b64, fingerprint, unb64
from pactnet.crypto.tls import PartnerTls, TlsError, check_ca_file, check_certificate_text
from pactnet.errors import PactnetError
from pactnet.federation.tomlfile import toml_string, write_atomically
from pactnet.policy.clock import parse_instant

if TYPE_CHECKING:
    from collections.abc import Iterable

PARTNERS_FILE = "partners.toml"
HEADER = "# pactnet partner registry, written by `pactnet node trust`; the format is in docs/federation.md.\n"
PARTNER_KEYS = (
    "url",
    "signing_key",
    "encryption_key",
    "fingerprint",
    "issued_at",
    "tls_ca_file",
    "tls_certificate",
    "retired_keys",
)
RETIRED_KEYS = ("signing_key", "fingerprint", "retired_at")


class PartnerError(PactnetError):
    """A partner that cannot be trusted or a registry that is invalid; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner's node as this node trusts it."""

    party: str
    url: str
    signing_key: bytes
    encryption_key: bytes
    issued_at: datetime
    retired: tuple[RetiredKey, ...] = ()
    # How an https:// URL's certificate is verified (set by hand or `node trust --tls-ca/--tls-pin`).
    tls: PartnerTls = field(default_factory=PartnerTls)

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the current signing key."""
        return fingerprint(self.signing_key)

    @property
    def history(self) -> KeyHistory:
        """The partner's signing keys over time, for `key_valid_at`."""
        return KeyHistory(self.signing_key, self.retired)


@dataclass(frozen=True, slots=True)
class PartnerRegistry:
    """The partners of the node speaking for `party`, among the `parties` of its world."""

    party: str
    parties: frozenset[str]
    partners: dict[str, Partner] = field(default_factory=dict)

    def get(self, party: str) -> Partner | None:
        """The partner speaking for `party`, if it is trusted."""
        return self.partners.get(party)

    def check_party(self, party: str) -> None:
        """Refuse a party this node cannot have as a partner: its own, or one its world does not know."""
        if party == self.party:
            raise PartnerError(f"{party} is this node's own party; a node does not trust itself as a partner")
        if party not in self.parties:
            known = ", ".join(sorted(self.parties - {self.party}))
            raise PartnerError(f"{party!r} is not a party of this node's world (its partners can be: {known})")

    def trust(self, identity: Identity) -> PartnerRegistry:
        """The registry with `identity`'s node added, or updated if its signing key is the one trusted.

        A different signing key for a known partner is refused: it takes a rotation signed by the trusted key.
        """
        self.check_party(identity.party)
        known = self.partners.get(identity.party)
        if known is None:
            partner = Partner(
                identity.party, identity.url, identity.signing_key, identity.encryption_key, identity.issued_at
            )
            return self._with(partner)
        if identity.signing_key != known.signing_key:
            retired = [old.fingerprint for old in known.retired if old.signing_key == identity.signing_key]
            why = f"its retired key {retired[0]}" if retired else f"a new key {identity.fingerprint}"
            raise PartnerError(
                f"{identity.party} is trusted with the signing key {known.fingerprint}, but this identity carries "
                f"{why}; a changed key is accepted only through a rotation statement signed by the trusted key "
                "(pactnet node trust DIR ROTATION_FILE)"
            )
        if identity.issued_at < known.issued_at:
            raise PartnerError(
                f"this identity of {identity.party} was issued at {identity.issued_at.isoformat()}, before the one "
                f"trusted ({known.issued_at.isoformat()}); an older identity does not replace a newer one"
            )
        return self._with(
            replace(known, url=identity.url, encryption_key=identity.encryption_key, issued_at=identity.issued_at)
        )

    def accept_rotation(self, document: dict[str, Any]) -> tuple[Rotation, PartnerRegistry]:
        """Verify a rotation statement against the partner's trusted key; the rotation and the registry after."""
        party = document.get("party")
        if not isinstance(party, str):
            raise PartnerError(f"party: expected a party code, found {party!r}")
        self.check_party(party)
        known = self.partners.get(party)
        if known is None:
            raise PartnerError(f"{party} is not a trusted partner yet: trust its identity before its key rotation")
        try:
            if read_rotation(document).signing_key == known.signing_key:
                raise PartnerError(f"this rotation of {party} was already accepted: its new key is the trusted one")
            rotation, history = accept_rotation(known.history, document)
        except IdentityError as error:
            raise PartnerError(f"the key rotation of {party} is refused: {error}") from error
        partner = replace(
            known, signing_key=history.signing_key, encryption_key=rotation.encryption_key, retired=history.retired
        )
        return rotation, self._with(partner)

    def with_tls(self, party: str, tls: PartnerTls) -> PartnerRegistry:
        """The registry with a trusted partner's certificate verified as `tls` says."""
        return self._with(replace(self.partners[party], tls=tls))

    def _with(self, partner: Partner) -> PartnerRegistry:
        return replace(self, partners={**self.partners, partner.party: partner})

    def to_toml(self) -> str:
        """The registry as `partners.toml`, partners in order of their party code."""
        blocks = [HEADER, *(_partner_toml(self.partners[code]) for code in sorted(self.partners))]
        return "\n".join(blocks)


def _partner_toml(partner: Partner) -> str:
    table = f"partners.{toml_string(partner.party)}"
    lines = [
        f"[{table}]",
        f"url = {toml_string(partner.url)}",
        f"signing_key = {toml_string(b64(partner.signing_key))}",
        f"encryption_key = {toml_string(b64(partner.encryption_key))}",
        f"fingerprint = {toml_string(partner.fingerprint)}",
        f"issued_at = {toml_string(partner.issued_at.isoformat())}",
    ]
    if partner.tls.ca_file is not None:
        lines.append(f"tls_ca_file = {toml_string(str(partner.tls.ca_file))}")
    if partner.tls.pinned_certificate is not None:
        lines.append(f"tls_certificate = {toml_string(partner.tls.pinned_certificate)}")
    for old in partner.retired:
        lines += [
            "",
            f"[[{table}.retired_keys]]",
            f"signing_key = {toml_string(b64(old.signing_key))}",
            f"fingerprint = {toml_string(old.fingerprint)}",
            f"retired_at = {toml_string(old.retired_at.isoformat())}",
        ]
    return "\n".join(lines) + "\n"


def load_partners(folder: Path, party: str, parties: Iterable[str]) -> PartnerRegistry:
    """Read and validate `partners.toml` in a node's folder; no file is an empty registry.

    The dispatcher reads it every round and a receiver every batch, so a registry read is kept until the file
    changes (its inode, size or modification time: `save_partners` replaces it with a new file).
    """
    path = folder / PARTNERS_FILE
    wanted = frozenset(parties)
    try:
        status = path.stat()
    except FileNotFoundError:
        return PartnerRegistry(party, wanted)
    except OSError as error:
        raise PartnerError(f"{path}: cannot be read ({error})") from error
    version = (status.st_ino, status.st_size, status.st_mtime_ns, party, wanted)
    kept = _READ.get(path)
    if kept is not None and kept[0] == version:
        return kept[1]
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return PartnerRegistry(party, wanted)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise PartnerError(f"{path}: cannot be read as TOML ({error})") from error
    registry = parse_partners(document, party, wanted, str(path), folder)
    _READ[path] = (version, registry)
    return registry


# The last registry read from each partners.toml, with the version of the file it was read from.
_READ: dict[Path, tuple[tuple[object, ...], PartnerRegistry]] = {}


def save_partners(folder: Path, registry: PartnerRegistry) -> None:
    """Write the registry to `partners.toml` in the node's folder, atomically."""
    write_atomically(folder / PARTNERS_FILE, registry.to_toml())


def parse_partners(
    document: dict[str, Any], party: str, parties: Iterable[str], source: str, folder: Path = Path()
) -> PartnerRegistry:
    """Validate a parsed registry; every problem is named, with its path, in one PartnerError.

    A partner's `tls_ca_file` is resolved against the node's `folder`.
    """
    registry = PartnerRegistry(party, frozenset(parties))
    problems: list[str] = [f"{key}: unknown table (expected only partners)" for key in document if key != "partners"]
    tables = document.get("partners", {})
    if not isinstance(tables, dict):
        problems.append("partners: expected a table of partners by party code")
        tables = {}
    partners: dict[str, Partner] = {}
    for code, table in tables.items():
        reader = _Reader(f"partners.{code}", problems, folder)
        try:
            registry.check_party(code)
        except PartnerError as error:
            problems.append(f"partners.{code}: {error}")
        partner = reader.partner(code, table)
        if partner is not None:
            partners[code] = partner
    if problems:
        raise PartnerError(f"{source}: " + "; ".join(problems))
    return replace(registry, partners=partners)


@dataclass(slots=True)
class _Reader:
    """Reads one partner's table, noting every problem with its path instead of stopping at the first."""

    path: str
    problems: list[str]
    folder: Path

    def partner(self, code: str, table: object) -> Partner | None:
        if not isinstance(table, dict):
            self.problems.append(f"{self.path}: expected a table")
            return None
        self.problems.extend(
            f"{self.path}.{key}: unknown key (known: {', '.join(PARTNER_KEYS)})"
            for key in table
            if key not in PARTNER_KEYS
        )
        url = self.text(table, "url", self.path)
        if url is not None:
            try:
                check_url(url)
            except IdentityError as error:
                self.problems.append(f"{self.path}.{error}")
        signing_key = self.key(table, "signing_key", self.path)
        encryption_key = self.key(table, "encryption_key", self.path)
        self.fingerprint(table, signing_key, self.path)
        issued_at = self.instant(table, "issued_at", self.path)
        retired = self.retired(table.get("retired_keys", []))
        tls = self.tls(table)
        if url is None or signing_key is None or encryption_key is None or issued_at is None or retired is None:
            return None
        return Partner(code, url, signing_key, encryption_key, issued_at, retired, tls)

    def tls(self, table: dict[str, Any]) -> PartnerTls:
        ca_file = self.text(table, "tls_ca_file", self.path) if "tls_ca_file" in table else None
        pinned = self.text(table, "tls_certificate", self.path) if "tls_certificate" in table else None
        if ca_file is not None and pinned is not None:
            self.problems.append(f"{self.path}: tls_ca_file and tls_certificate: name one, not both")
        resolved = None if ca_file is None else (self.folder / ca_file).resolve()
        try:
            if resolved is not None:
                check_ca_file(resolved)
            if pinned is not None:
                check_certificate_text(pinned)
        except TlsError as error:
            where = "tls_ca_file" if pinned is None else "tls_certificate"
            self.problems.append(f"{self.path}.{where}: {error}")
        return PartnerTls(resolved, pinned)

    def retired(self, items: object) -> tuple[RetiredKey, ...] | None:
        path = f"{self.path}.retired_keys"
        if not isinstance(items, list):
            self.problems.append(f"{path}: expected an array of tables ([[{path}]])")
            return None
        found: list[RetiredKey] = []
        for index, item in enumerate(items):
            where = f"{path}[{index}]"
            if not isinstance(item, dict):
                self.problems.append(f"{where}: expected a table")
                continue
            self.problems.extend(f"{where}.{key}: unknown key" for key in item if key not in RETIRED_KEYS)
            key = self.key(item, "signing_key", where)
            self.fingerprint(item, key, where)
            retired_at = self.instant(item, "retired_at", where)
            if key is not None and retired_at is not None:
                if found and retired_at <= found[-1].retired_at:
                    self.problems.append(f"{where}.retired_at: retired keys are listed oldest first")
                found.append(RetiredKey(key, retired_at))
        return tuple(found) if len(found) == len(items) else None

    def text(self, table: dict[str, Any], key: str, where: str) -> str | None:
        value = table.get(key)
        if not isinstance(value, str) or not value:
            self.problems.append(
                f"{where}.{key}: {'required' if value is None else f'expected a string, found {value!r}'}"
            )
            return None
        return value

    def key(self, table: dict[str, Any], name: str, where: str) -> bytes | None:
        text = self.text(table, name, where)
        if text is None:
            return None
        try:
            raw = unb64(text)
        except ValueError:
            self.problems.append(f"{where}.{name}: not base64url")
            return None
        if len(raw) != KEY_SIZE:
            self.problems.append(f"{where}.{name}: a raw public key is {KEY_SIZE} bytes, found {len(raw)}")
            return None
        return raw

    def fingerprint(self, table: dict[str, Any], key: bytes | None, where: str) -> None:
        text = self.text(table, "fingerprint", where)
        if text is not None and key is not None and text != fingerprint(key):
            self.problems.append(f"{where}.fingerprint: {text!r} is not the signing key's ({fingerprint(key)})")

    def instant(self, table: dict[str, Any], name: str, where: str) -> datetime | None:
        value = table.get(name)
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value
        if not isinstance(value, str):
            self.problems.append(f"{where}.{name}: {'required' if value is None else 'expected an RFC 3339 instant'}")
            return None
        try:
            return parse_instant(value)
        except ValueError as error:
            self.problems.append(f"{where}.{name}: expected {error}")
            return None

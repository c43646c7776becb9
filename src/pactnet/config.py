"""A node's configuration file (`node.toml`): every setting, its default, and validation with clear messages."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pactnet.errors import PactnetError

CONFIG_FILE = "node.toml"


class ConfigError(PactnetError):
    """The node's configuration file is missing or invalid; the message names the setting."""


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Every setting of a node. The TOML file holds the same keys; anything not set takes the default."""

    # The party this node speaks for: a party code of the world.
    party: str
    # The world: a path (relative to the node's folder) or a bundled world's name.
    world: str
    # SQLAlchemy URL of the database; default: node.db in the node's folder (SQLite).
    database: str = ""
    # Where `pactnet node serve` listens unless told otherwise.
    host: str = "127.0.0.1"
    port: int = 8470
    # HTTPS: a PEM certificate (chain) and its private key, paths relative to the node's folder; both empty:
    # plain HTTP, which `node serve` accepts on a loopback address only (unless --allow-plain-http).
    tls_cert: str = ""
    tls_key: str = ""
    # A signed checkpoint of the audit log every this many entries (plus one on demand).
    checkpoint_every: int = 1000
    # Bounds on input, so that no request can exhaust the node.
    max_body_bytes: int = 1_048_576
    default_page_size: int = 50
    max_page_size: int = 500
    # Connections to the database per API worker.
    pool_size: int = 5
    # The dispatcher: envelopes per request to a partner, and the backoff while a partner is unreachable
    # (doubling from the first delay up to the longest, each with random jitter).
    dispatch_batch: int = 128
    retry_first_ms: int = 500
    retry_longest_ms: int = 30_000
    # The longest a client may take to send a request's headers, and then its body (408 past it).
    request_timeout_ms: int = 30_000
    # The level (of this party's scheme) an object posted to the TAXII collection to publish to is marked at when
    # it carries no pactnet marking (a MISP push, say); empty: such an object is refused (docs/taxii.md).
    taxii_default_level: str = ""
    folder: Path = field(default=Path(), compare=False)

    def database_url(self) -> str:
        """The database URL, defaulting to SQLite in the node's folder."""
        return self.database or f"sqlite:///{(self.folder / 'node.db').resolve()}"

    def tls_files(self) -> tuple[Path, Path] | None:
        """The certificate and key to serve HTTPS with, resolved against the node's folder; None: plain HTTP."""
        if not self.tls_cert:
            return None
        return (self.folder / self.tls_cert).resolve(), (self.folder / self.tls_key).resolve()

    def world_reference(self) -> str:
        """A bundled world's name as is; a path resolved against the node's folder."""
        from pactnet.world import BUNDLED  # noqa: PLC0415 - keeps config importable without the world loader

        if self.world in BUNDLED:
            return self.world
        return str((self.folder / self.world).resolve())

    def to_toml(self) -> str:
        """The file `pactnet node init` writes, with every setting and a comment on each."""
        lines = ["# pactnet node configuration. Every setting is shown with its value; see docs/node.md.", ""]
        for item in fields(self):
            if item.name == "folder":
                continue
            value = getattr(self, item.name)
            lines.append(f"{item.name} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


_TYPES: dict[str, type] = {
    "party": str,
    "world": str,
    "database": str,
    "host": str,
    "tls_cert": str,
    "tls_key": str,
    "taxii_default_level": str,
}
_NUMBERS = {
    "port": (1, 65535),
    "checkpoint_every": (1, 10_000_000),
    "max_body_bytes": (1024, 64 * 1_048_576),
    "default_page_size": (1, 10_000),
    "max_page_size": (1, 10_000),
    "pool_size": (1, 100),
    "dispatch_batch": (1, 256),
    "retry_first_ms": (10, 600_000),
    "retry_longest_ms": (10, 86_400_000),
    "request_timeout_ms": (100, 600_000),
}


def load_config(folder: Path) -> NodeConfig:
    """Read and validate `node.toml` in a node's folder; every problem is named in one ConfigError."""
    path = folder / CONFIG_FILE
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such file; is {folder} a node folder made by `pactnet node init`?") from error
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read as TOML ({error})") from error
    return parse_config(document, folder, str(path))


def parse_config(document: dict[str, Any], folder: Path, source: str) -> NodeConfig:
    """Validate a parsed configuration."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    known = {item.name for item in fields(NodeConfig)} - {"folder"}
    for key, value in document.items():
        if key not in known:
            problems.append(f"{key}: unknown setting (known: {', '.join(sorted(known))})")
        elif key in _TYPES:
            if not isinstance(value, str) or (key in {"party", "world", "host"} and not value):
                problems.append(f"{key}: expected a non-empty string, found {value!r}")
            else:
                values[key] = value
        else:
            low, high = _NUMBERS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(f"{key}: expected a whole number from {low} to {high}, found {value!r}")
            else:
                values[key] = value
    problems.extend(f"{key}: required" for key in ("party", "world") if key not in document)
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    config = NodeConfig(folder=folder, **values)
    if config.default_page_size > config.max_page_size:
        raise ConfigError(f"{source}: default_page_size ({config.default_page_size}) exceeds max_page_size")
    if bool(config.tls_cert) != bool(config.tls_key):
        raise ConfigError(f"{source}: tls_cert and tls_key go together: set both (HTTPS) or neither (plain HTTP)")
    if config.retry_first_ms > config.retry_longest_ms:
        raise ConfigError(f"{source}: retry_first_ms ({config.retry_first_ms}) exceeds retry_longest_ms")
    return config

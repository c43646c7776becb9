"""TLS for a node: the server's certificate and key, and how a partner's https:// URL is verified.

A partner's certificate is verified against the system's trust store by default, against a CA file when the
operator names one, or against one pinned certificate (its PEM in partners.toml), which then is the only trust
anchor for that partner: a self-signed certificate, or a CA-issued one that no other CA can replace. The host
name is checked in every case (RFC 6125). Plain HTTP is for loopback; anywhere else a bearer token would travel
in clear text.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509

from pactnet.errors import PactnetError

if TYPE_CHECKING:
    from pathlib import Path

LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


class TlsError(PactnetError):
    """A certificate, key or CA file cannot be used; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class PartnerTls:
    """How this node verifies a partner's https:// certificate; both None: the system's trust store."""

    ca_file: Path | None = None
    pinned_certificate: str | None = None

    def context(self) -> ssl.SSLContext:
        """A client context that verifies the partner as this says (TLS 1.2 at least, host name checked)."""
        if self.pinned_certificate is not None:
            context = ssl.create_default_context(cadata=self.pinned_certificate)
            # The pinned certificate is the trust anchor even when it is not a CA's own (OpenSSL's partial chain).
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        elif self.ca_file is not None:
            context = ssl.create_default_context(cafile=str(self.ca_file))
        else:
            context = ssl.create_default_context()
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def is_loopback(host: str) -> bool:
    """Whether a listening address is a loopback one (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_certificate(path: Path) -> str:
    """A PEM certificate file's text, once it is known to hold one X.509 certificate."""
    try:
        text = path.read_text(encoding="ascii")
        x509.load_pem_x509_certificate(text.encode("ascii"))
    except (OSError, UnicodeDecodeError) as error:
        raise TlsError(f"{path}: cannot be read ({error})") from error
    except ValueError as error:
        raise TlsError(f"{path}: not a PEM X.509 certificate ({error})") from error
    return text


def check_certificate_text(text: str) -> None:
    """Refuse a pinned certificate that is not one PEM X.509 certificate."""
    try:
        x509.load_pem_x509_certificate(text.encode("ascii"))
    except (UnicodeEncodeError, ValueError) as error:
        raise TlsError(f"not a PEM X.509 certificate ({error})") from error


def check_ca_file(path: Path) -> None:
    """Refuse a CA file that does not exist or holds no certificate OpenSSL can load."""
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as error:
        raise TlsError(f"{path}: cannot be loaded as CA certificates ({error})") from error


def check_server_files(certificate: Path, key: Path) -> None:
    """Refuse, before listening, a certificate and key that do not load together."""
    for path in (certificate, key):
        if not path.is_file():
            raise TlsError(f"{path}: no such file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(certificate), str(key))
    except (OSError, ssl.SSLError) as error:
        raise TlsError(
            f"the certificate {certificate} and the key {key} cannot be used together ({error}): "
            "expected a PEM certificate (chain) and its PEM private key, unencrypted"
        ) from error

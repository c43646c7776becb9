"""TAXII 2.1's media types (§1.6.8) and the checks of what a client accepts and sends."""

from __future__ import annotations

import json

from starlette.responses import Response

from pactnet.taxii.errors import TaxiiError

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
# What an Accept header may name for a TAXII resource: the media type with or without its version, or anything.
_ACCEPTED = frozenset({"application/taxii+json", "application/*", "*/*"})


def _parts(value: str) -> tuple[str, dict[str, str]]:
    """A media range's type and its parameters (RFC 9110 §8.3.1), lower case, spaces removed."""
    kind, *parameters = (part.strip().lower() for part in value.split(";"))
    named = dict(parameter.partition("=")[::2] for parameter in parameters if "=" in parameter)
    return kind, {name.strip(): given.strip().strip('"') for name, given in named.items()}


def _is_taxii_21(value: str) -> bool:
    kind, parameters = _parts(value)
    return kind in _ACCEPTED and parameters.get("version", "2.1") == "2.1"


def check_accept(accept: str | None) -> None:
    """406 unless the client accepts TAXII 2.1 (a missing Accept accepts anything: RFC 9110 §12.5.1)."""
    if accept is None or not accept.strip():
        return
    if not any(_is_taxii_21(one) for one in accept[:1000].split(",")):
        raise TaxiiError(
            406,
            "Not Acceptable",
            f"this server answers {TAXII} only; send Accept: {TAXII}",
        )


def check_content_type(content_type: str | None) -> None:
    """415 unless the body is sent as TAXII 2.1 (TAXII 2.1 §5.5: an envelope)."""
    kind, parameters = _parts(content_type or "")
    if kind != "application/taxii+json" or parameters.get("version") != "2.1":
        raise TaxiiError(
            415,
            "Unsupported Media Type",
            f"send the envelope with Content-Type: {TAXII} (found {str(content_type)[:80]!r})",
        )


def taxii_response(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A TAXII resource as a response, in TAXII 2.1's media type."""
    return Response(json.dumps(data, ensure_ascii=False), status_code=status, media_type=TAXII, headers=headers)

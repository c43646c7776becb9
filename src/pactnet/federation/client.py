"""Posting envelopes to a partner node (`POST /federation/v1/envelopes/batch`) over HTTP, with httpx."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from pactnet.crypto.tls import PartnerTls
from pactnet.errors import PactnetError
from pactnet.federation.priority import priority_header

BATCH_PATH = "/federation/v1/envelopes/batch"
# A partner that does not accept a connection within this is treated as down; the rest bounds a batch.
TIMEOUT = httpx.Timeout(15.0, connect=2.0)
URGENT_HEADERS = priority_header("flash")
# What every partner-to-partner route starts with (their body limit is request_limit, not max_body_bytes).
FEDERATION_PREFIX = "/federation/"
# JSON punctuation per envelope field, with room to spare; and room for a request's own wrapper (the bound is
# three times max_body_bytes and this).
_ENVELOPE_FIELD = 16
_REQUEST_SLACK = 65_536


def request_limit(max_body_bytes: int) -> int:
    """The largest federation request a node accepts, and a dispatcher sends, for its `max_body_bytes`.

    An envelope is larger than the report in it: the payload is JSON (a STIX bundle's quotes escaped), encrypted,
    then base64 (4/3), with a signed header and the consents that travel with the item. Three times the body
    limit lets the largest report a node takes from its own users travel in one envelope.
    """
    return 3 * max_body_bytes + _REQUEST_SLACK


def envelope_size(envelope: dict[str, Any]) -> int:
    """About how many bytes the envelope takes in a request (its fields are short ASCII strings and base64)."""
    return sum(len(str(value)) + len(name) + _ENVELOPE_FIELD for name, value in envelope.items())


def requests_within(envelopes: list[dict[str, Any]], limit: int) -> list[list[dict[str, Any]]]:
    """The envelopes in order, in as few requests as keep each under `limit` (one envelope alone may exceed it)."""
    parts: list[list[dict[str, Any]]] = []
    budget = limit - _REQUEST_SLACK
    size = 0
    for envelope in envelopes:
        one = envelope_size(envelope)
        if not parts or size + one > budget:
            parts.append([])
            size = 0
        parts[-1].append(envelope)
        size += one
    return parts


class PartnerUnreachableError(PactnetError):
    """The partner could not be reached, or did not answer as a pactnet node; worth retrying later."""


class PartnerClient:
    """Keep-alive HTTP clients for the partners: one for each way of verifying a partner's certificate."""

    def __init__(self) -> None:
        self._clients: dict[PartnerTls, httpx.Client] = {}
        # The dispatcher's lanes post from several threads: two must not both make (and one leak) a client.
        self._lock = threading.Lock()
        self._http(PartnerTls())  # made now, as before: loading the trust store is no flash report's to wait for

    def _http(self, tls: PartnerTls) -> httpx.Client:
        with self._lock:
            client = self._clients.get(tls)
            if client is None:
                client = httpx.Client(timeout=TIMEOUT, headers={"user-agent": "pactnet"}, verify=tls.context())
                self._clients[tls] = client
            return client

    def post(
        self, url: str, envelopes: list[dict[str, Any]], *, urgent: bool = False, tls: PartnerTls | None = None
    ) -> list[dict[str, Any]]:
        """One answer per envelope, in order: `{"envelope": answer}` or `{"error": {...}}`.

        `urgent` (flash or immediate traffic) says so in the request's Priority header (pactnet.federation.priority):
        the partner's node takes the batch ahead of its routine work once it has verified an urgent envelope in it.
        `tls` says how an https:// partner's certificate is verified (the system's trust store by default).
        """
        headers = URGENT_HEADERS if urgent else None
        http = self._http(tls or PartnerTls())
        try:
            response = http.post(url.rstrip("/") + BATCH_PATH, json={"envelopes": envelopes}, headers=headers)
        except httpx.HTTPError as error:
            raise PartnerUnreachableError(f"{url}: {type(error).__name__}: {error}") from error
        if response.status_code != httpx.codes.OK:
            raise PartnerUnreachableError(f"{url}: HTTP {response.status_code}: {_error_text(response)}")
        try:
            answers = response.json()["answers"]
        except (ValueError, KeyError, TypeError) as error:
            raise PartnerUnreachableError(f"{url}: the answer is not a pactnet batch answer") from error
        if not isinstance(answers, list) or len(answers) != len(envelopes):
            raise PartnerUnreachableError(f"{url}: {len(envelopes)} envelopes sent, the answer does not match")
        return [answer if isinstance(answer, dict) else {} for answer in answers]

    def close(self) -> None:
        """Close the connections."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"[:500]
    except (ValueError, KeyError, TypeError):
        return response.text[:200]

"""Posting envelopes to a partner node (`POST /federation/v1/envelopes/batch`) over HTTP, with httpx."""

from __future__ import annotations

from typing import Any

import httpx

from pactnet.api.priority import priority_header
from pactnet.errors import PactnetError

BATCH_PATH = "/federation/v1/envelopes/batch"
# A partner that does not accept a connection within this is treated as down; the rest bounds a batch.
TIMEOUT = httpx.Timeout(15.0, connect=2.0)
URGENT_HEADERS = priority_header("flash")


class PartnerUnreachableError(PactnetError):
    """The partner could not be reached, or did not answer as a pactnet node; worth retrying later."""


class PartnerClient:
    """One keep-alive HTTP client for every partner."""

    def __init__(self) -> None:
        self._http = httpx.Client(timeout=TIMEOUT, headers={"user-agent": "pactnet"})

    def post(self, url: str, envelopes: list[dict[str, Any]], *, urgent: bool = False) -> list[dict[str, Any]]:
        """One answer per envelope, in order: `{"envelope": answer}` or `{"error": {...}}`.

        `urgent` (flash or immediate traffic) says so in the request's Priority header (pactnet.api.priority), so
        that the partner's node takes it ahead of its routine work from the moment it arrives.
        """
        headers = URGENT_HEADERS if urgent else None
        try:
            response = self._http.post(url.rstrip("/") + BATCH_PATH, json={"envelopes": envelopes}, headers=headers)
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
        self._http.close()


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"[:500]
    except (ValueError, KeyError, TypeError):
        return response.text[:200]

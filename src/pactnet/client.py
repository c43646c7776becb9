"""A client of a running node's user API (`/api/v1`, docs/node.md) over HTTP(S), by URL and bearer token.

The errors it raises, all carrying a message fit for one line (never the token):

    ClientError                 the node could not be asked, or did not do what was asked
    ├── RequestRefusedError     the node answered 4xx in its error shape: a refusal, bad input, no such thing
    └── NodeUnavailableError    no answer: refused connection, TLS, timeout; or a 5xx or an answer not from a node
"""

from __future__ import annotations

import re
import ssl
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self, TypedDict, Unpack
from urllib.parse import quote

import httpx

from pactnet.crypto.tls import PartnerTls, is_loopback
from pactnet.errors import PactnetError

if TYPE_CHECKING:
    from pathlib import Path

# A request waits 5 s for a connection and 60 s for an answer: a publication decides every transfer before
# answering, which on a large world takes a moment.
TIMEOUT = httpx.Timeout(60.0, connect=5.0)
# The tokens `pactnet user add` prints are URL-safe; anything else could not be sent in a header as it is.
_TOKEN = re.compile(r"[\x21-\x7e]{1,200}")
# RFC 9218: the urgency a node gives a request before reading its body (docs/node.md, "Urgent requests").
_URGENCY = {"flash": "u=0", "immediate": "u=1"}
# How long a publish whose answer was lost waits before asking again, with its key, each time: a node whose
# database restarts answers within seconds.
RETRY_PAUSES = (0.5, 2.0, 5.0)
# The transport errors after which the request may have been done: it was sent, and the answer did not come.
_LOST_ANSWER = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
_BAD_REQUEST = 400
_SERVER_ERROR = 500


class _Options(TypedDict, total=False):
    """What a request sends besides its method and path."""

    json: dict[str, Any]
    params: dict[str, str | int]
    headers: dict[str, str]


class ClientError(PactnetError):
    """A node's API could not be asked, or did not do what was asked."""


class RequestRefusedError(ClientError):
    """The node answered 4xx: `status`, its `code` and `message`, and its `details`."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.details = details


class NodeUnavailableError(ClientError):
    """The node could not be reached, failed (5xx), or answered what a pactnet node does not.

    `maybe_done`: the request may have reached the node and been done there, its answer lost (a connection cut
    after the request was sent, a 503 from a database that went away while committing): a request sent with an
    idempotency key is safe to send again, and only then is it.
    """

    def __init__(self, message: str, *, maybe_done: bool = False) -> None:
        super().__init__(message)
        self.maybe_done = maybe_done


def check_url(url: str, *, allow_plain_http: bool = False) -> str:
    """The node's base URL without a trailing slash; plain HTTP only to a loopback address unless allowed."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as error:
        raise ClientError(f"the node's URL {url!r} is not a URL ({error})") from error
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise ClientError(f"the node's URL {url!r}: expected http(s)://HOST[:PORT], e.g. https://rok.example:8470")
    if parsed.query or parsed.fragment or parsed.userinfo:
        raise ClientError(f"the node's URL {url!r}: expected no query, fragment or user name, only the node's address")
    if parsed.scheme == "http" and not allow_plain_http and not is_loopback(parsed.host):
        raise ClientError(
            f"the node's URL {url!r} is plain HTTP to another machine: the token would cross the network in clear "
            "text; use https://, or say --allow-plain-http"
        )
    return str(parsed).rstrip("/")


def check_token(token: str) -> str:
    """The token as sent; a wrong one is refused without being repeated."""
    token = token.strip()
    if not _TOKEN.fullmatch(token):
        raise ClientError("the token is not one `pactnet user add` prints (expected pn_... without spaces)")
    return token


def _segment(value: str) -> str:
    """An id as one path segment: a slash or a question mark in it stays part of the id."""
    return quote(value, safe="")


def _message(answer: httpx.Response) -> tuple[str, str, list[dict[str, Any]]]:
    """The code, message and details of the one error shape; a summary when the answer is not in it."""
    try:
        error = answer.json()["error"]
        return str(error["code"]), str(error["message"]), list(error.get("details") or [])
    except (ValueError, KeyError, TypeError):
        reason = answer.reason_phrase or "error"
        return reason.lower().replace(" ", "_"), f"not an answer of a pactnet node ({answer.url})", []


@dataclass
class NodeClient:
    """One node's user API, asked as the user whose token this is; close it, or use it as a context manager."""

    url: str
    token: str = field(repr=False)
    ca_file: Path | None = None
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            verify: ssl.SSLContext = PartnerTls(ca_file=self.ca_file).context()
        except (OSError, ssl.SSLError) as error:
            raise ClientError(f"the CA file {self.ca_file}: cannot be used ({error})") from error
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            timeout=TIMEOUT,
            verify=verify,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _ask(self, method: str, path: str, options: _Options) -> object:
        try:
            answer = self._http.request(method, path, **options)
        except httpx.TimeoutException as error:
            # Not asked again: a node that took the whole timeout is not helped by a second request.
            waited = "" if isinstance(error, httpx.ConnectTimeout) else " (what was sent may have been done there)"
            raise NodeUnavailableError(f"{self.url} did not answer in time ({type(error).__name__}){waited}") from error
        except httpx.HTTPError as error:
            raise NodeUnavailableError(
                f"cannot reach {self.url}: {_cause(error)}", maybe_done=isinstance(error, _LOST_ANSWER)
            ) from error
        if answer.status_code >= _BAD_REQUEST:
            code, message, details = _message(answer)
            if answer.status_code >= _SERVER_ERROR:
                unavailable = answer.status_code == httpx.codes.SERVICE_UNAVAILABLE
                raise NodeUnavailableError(f"{answer.status_code} {code}: {message}", maybe_done=unavailable)
            raise RequestRefusedError(answer.status_code, code, message, details)
        try:
            found: object = answer.json()
        except ValueError as error:
            raise NodeUnavailableError(f"{self.url} answered {path} with something other than JSON") from error
        return found

    def _dict(self, method: str, path: str, **options: Unpack[_Options]) -> dict[str, Any]:
        found = self._ask(method, path, options)
        if not isinstance(found, dict):
            raise NodeUnavailableError(f"{self.url} answered {path} with a {type(found).__name__}, not an object")
        return found

    def _list(self, path: str, **options: Unpack[_Options]) -> list[dict[str, Any]]:
        found = self._ask("GET", path, options)
        if not isinstance(found, list):
            raise NodeUnavailableError(f"{self.url} answered {path} with a {type(found).__name__}, not a list")
        return found

    def health(self) -> dict[str, Any]:
        """`{"status": "ok", "party": ...}`."""
        return self._dict("GET", "/api/v1/health")

    def publish(self, report: dict[str, Any]) -> dict[str, Any]:
        """Publish a report (the API's JSON); the answer is its id and the decision for every recipient.

        Sent with an idempotency key of its own: an answer lost on the way (a cut connection, a 503) is asked for
        again with the same key, so the report is published once whatever the node got.
        """
        urgency = _URGENCY.get(str(report.get("precedence")))
        headers = {"Idempotency-Key": str(uuid.uuid4())} | ({"Priority": urgency} if urgency else {})
        for pause in RETRY_PAUSES:
            try:
                return self._dict("POST", "/api/v1/reports", json=report, headers=headers)
            except NodeUnavailableError as error:
                if not error.maybe_done:
                    raise
            time.sleep(pause)
        return self._dict("POST", "/api/v1/reports", json=report, headers=headers)

    def reports(self, filters: dict[str, str | int | None]) -> dict[str, Any]:
        """A page of reports, newest first: `{"items": [...], "next": cursor or None}`."""
        params = {name: value for name, value in filters.items() if value is not None}
        return self._dict("GET", "/api/v1/reports", params=params)

    def report(self, report_id: str) -> dict[str, Any]:
        """One report the user is cleared for."""
        return self._dict("GET", f"/api/v1/reports/{_segment(report_id)}")

    def trail(self, report_id: str) -> list[dict[str, Any]]:
        """The decisions taken on a report, with their reasons."""
        return self._list("/api/v1/decisions", params={"report": report_id})

    def deliveries(self, report_id: str) -> list[dict[str, Any]]:
        """Each transfer of a report from this node, and its receipt or refusal."""
        return self._list(f"/api/v1/reports/{_segment(report_id)}/deliveries")

    def release(self, report_id: str, to: str) -> dict[str, Any]:
        """Release a held report onward to a party: the decision, and the queued envelope if allowed."""
        return self._dict("POST", f"/api/v1/reports/{_segment(report_id)}/releases", json={"to": to})

    def report_compromise(self, report_id: str, description: str) -> dict[str, Any]:
        """Report the loss or compromise of a received report to its originator (GSOMIA art. 17)."""
        path = f"/api/v1/reports/{_segment(report_id)}/compromise"
        return self._dict("POST", path, json={"description": description})

    def compromises(self, limit: int) -> list[dict[str, Any]]:
        """Losses and compromises reported here or to this party, newest first."""
        return self._list("/api/v1/compromises", params={"limit": limit})

    def request_consent(self, report_id: str, to: str, purpose: str) -> dict[str, Any]:
        """As a holder, ask a received item's originator for consent to release it to a third party."""
        path = f"/api/v1/reports/{_segment(report_id)}/consent-requests"
        return self._dict("POST", path, json={"to": to, "purpose": purpose})

    def consent_requests(self, limit: int) -> list[dict[str, Any]]:
        """Consent requests asked here or of this party, newest first."""
        return self._list("/api/v1/consent-requests", params={"limit": limit})

    def answer_consent(self, request_id: str, *, grant: bool, reason: str | None, until: str | None) -> dict[str, Any]:
        """As originator, grant or refuse a consent request."""
        body = {"grant": grant, "reason": reason, "until": until}
        return self._dict("POST", f"/api/v1/consent-requests/{_segment(request_id)}/answer", json=body)

    def grant_consent(self, report_id: str, target: dict[str, str], until: str | None) -> dict[str, Any]:
        """As originator, consent to release a report (`{"to": ...}`) or relay it (`{"arrangement": ...}`)."""
        path = f"/api/v1/reports/{_segment(report_id)}/consents"
        return self._dict("POST", path, json={**target, "until": until})

    def consents(self, limit: int) -> list[dict[str, Any]]:
        """The consent inbox: originators' consents about items held here."""
        return self._list("/api/v1/consents", params={"limit": limit})

    def agreements(self) -> list[dict[str, Any]]:
        """Every agreement and arrangement, with its status now at the node."""
        return self._list("/api/v1/agreements")

    def agreement(self, pact_id: str) -> dict[str, Any]:
        """One agreement: its status now at the node, every act recorded there counted, and its timeline."""
        return self._dict("GET", f"/api/v1/agreements/{_segment(pact_id)}")

    def record_act(self, pact_id: str, act: str) -> dict[str, Any]:
        """Record a lifecycle act of the node's party now; the answer is the agreement afterwards."""
        return self._dict("POST", f"/api/v1/agreements/{_segment(pact_id)}/events", json={"type": act})


def _cause(error: httpx.HTTPError) -> str:
    """Why a request got no answer, in a line; a certificate that does not verify says what to do."""
    text = str(error) or type(error).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"{text} (a node with a private CA: --ca-file FILE)"
    return text

"""`pactnet remote consent`: ask an originator for consent at a running node, list the requests, answer them."""

from __future__ import annotations

from pathlib import Path

import typer

from pactnet.cli import remote_tables as tables
from pactnet.cli.remote_access import AS_JSON, CA_FILE, PLAIN_HTTP, TOKEN, TOKEN_FILE, URL, Access, connected
from pactnet.cli.terminal import fail, instant, out, print_json

app = typer.Typer(
    help="Consent to pass items on (GSOMIA art. 6) at a running node: request, list, answer, grant, inbox."
)
MANY = typer.Option(100, "--limit", min=1, max=1000, help="At most this many, newest first.")
UNTIL = typer.Option(None, "--until", help="When a granted consent ends, RFC 3339 with an offset.")


def _until(until: str | None) -> str | None:
    return None if until is None else instant(until, "--until").isoformat()


@app.command("request")
def request(
    report_id: str = typer.Argument(..., help="The id of a report the node received."),
    to: str = typer.Option(..., "--to", help="The third party to release it to."),
    purpose: str = typer.Option(..., "--purpose", help="What the third party needs it for."),
    as_json: bool = AS_JSON,
    url: str | None = URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca_file: Path | None = CA_FILE,
    allow_plain_http: bool = PLAIN_HTTP,
) -> None:
    """As a holder, ask a received report's originator for consent to release it to a third party."""
    with connected(Access(url, token, token_file, ca_file, allow_plain_http)) as node:
        asked = node.request_consent(report_id, to, purpose)
    if as_json:
        print_json(asked)
        return
    out.print(f"consent request {asked['id']}: {report_id} to {to}, asked of {asked['originator']}", markup=False)


@app.command("list")
def list_(
    limit: int = MANY,
    as_json: bool = AS_JSON,
    url: str | None = URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca_file: Path | None = CA_FILE,
    allow_plain_http: bool = PLAIN_HTTP,
) -> None:
    """The consent requests asked at the node (outgoing) or of its party as originator (incoming)."""
    with connected(Access(url, token, token_file, ca_file, allow_plain_http)) as node:
        found = node.consent_requests(limit)
    if as_json:
        print_json(found)
    else:
        tables.consent_requests(found)


@app.command("answer")
def answer(
    request_id: str = typer.Argument(..., help="The id of a request asked of the node's party."),
    grant: bool = typer.Option(..., "--grant/--refuse", help="Grant (a signed consent) or refuse."),
    reason: str | None = typer.Option(None, "--reason", help="Why; required to refuse."),
    until: str | None = UNTIL,
    as_json: bool = AS_JSON,
    url: str | None = URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca_file: Path | None = CA_FILE,
    allow_plain_http: bool = PLAIN_HTTP,
) -> None:
    """As originator (an officer), grant or refuse a request; the answer is sent to the holder's node."""
    ends = _until(until)
    with connected(Access(url, token, token_file, ca_file, allow_plain_http)) as node:
        answered = node.answer_consent(request_id, grant=grant, reason=reason, until=ends)
    if as_json:
        print_json(answered)
        return
    out.print(f"consent request {request_id} {answered['state']}: {answered['report_id']} to {answered['to']}")


@app.command("grant")
def grant_(
    report_id: str = typer.Argument(..., help="The id of a report the node's party originated."),
    to: str | None = typer.Option(None, "--to", help="The party it may be released to."),
    arrangement: str | None = typer.Option(None, "--arrangement", help="The arrangement it may be relayed under."),
    until: str | None = UNTIL,
    as_json: bool = AS_JSON,
    url: str | None = URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca_file: Path | None = CA_FILE,
    allow_plain_http: bool = PLAIN_HTTP,
) -> None:
    """As originator (an officer), consent unasked to release a report to a party or relay it under an arrangement."""
    if (to is None) == (arrangement is None):
        fail("say one of --to PARTY or --arrangement ID")
    target = {"to": to} if to is not None else {"arrangement": str(arrangement)}
    ends = _until(until)
    with connected(Access(url, token, token_file, ca_file, allow_plain_http)) as node:
        granted = node.grant_consent(report_id, target, ends)
    if as_json:
        print_json(granted)
        return
    whom = f"to {granted['to']}" if granted["to"] else f"relay under {granted['arrangement']}"
    ending = f", until {granted['until']}" if granted["until"] else ""
    out.print(f"consent {granted['id']}: {report_id} {whom}{ending}", markup=False)


@app.command("inbox")
def inbox(
    limit: int = MANY,
    as_json: bool = AS_JSON,
    url: str | None = URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca_file: Path | None = CA_FILE,
    allow_plain_http: bool = PLAIN_HTTP,
) -> None:
    """The originators' consents about items held at the node; an unasked one waits for `remote report release`."""
    with connected(Access(url, token, token_file, ca_file, allow_plain_http)) as node:
        found = node.consents(limit)
    if as_json:
        print_json(found)
    else:
        tables.consents(found)

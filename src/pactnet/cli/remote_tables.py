"""How `pactnet remote` shows a node's answers to a person: tables of the API's JSON, a dash for nothing."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from pactnet.cli.terminal import out


def _text(value: object) -> str:
    if value is None or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(one) for one in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _reasons(reasons: list[dict[str, Any]]) -> str:
    return "; ".join(f"{one.get('code')}: {one.get('message')}" for one in reasons) or "—"


def _route(route: list[str]) -> str:
    return " → ".join(route) or "—"


def table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    """A table with these columns, every cell as text."""
    shown = Table(title=title)
    for column in columns:
        shown.add_column(column, no_wrap=column in {"id", "report", "envelope"})
    for row in rows:
        shown.add_row(*(_text(cell) for cell in row))
    out.print(shown)


def fields(title: str, data: dict[str, Any], keys: list[str]) -> None:
    """One thing, a field a line."""
    shown = Table(title=title, show_header=False)
    for key in keys:
        shown.add_row(key, _text(data.get(key)))
    out.print(shown)


def decisions(title: str, found: list[dict[str, Any]], *, trail: bool = False) -> None:
    """Transfer decisions: to whom, allowed or not, by which route, marked how, or why not (`trail`: when, asked by)."""
    rows: list[list[object]] = []
    for one in found:
        marking = one.get("marking") or {}
        asked = [one.get("at"), one.get("asked_by")] if trail else []
        verdict = "allowed" if one["allowed"] else "refused"
        rows.append([one["to"], verdict, _route(one["route"]), marking.get("level"), *asked, _reasons(one["reasons"])])
    columns = ["to", "decision", "route", "marked", *(["at", "asked by"] if trail else []), "reasons"]
    table(title, columns, rows)


def trail(report_id: str, found: list[dict[str, Any]]) -> None:
    """A report's decision trail: every transfer decided, when, and who asked."""
    decisions(f"decision trail of {report_id}", found, trail=True)


def reports(page: dict[str, Any]) -> None:
    """A page of reports, and the cursor of the next one."""
    rows = [
        [
            one["id"],
            one["originator"],
            one["level"],
            one["precedence"],
            one["categories"],
            one["created_at"],
            one["title"],
        ]
        for one in page["items"]
    ]
    table("reports", ["id", "originator", "level", "precedence", "categories", "created", "title"], rows)
    if page.get("next"):
        out.print(f"more: --cursor {page['next']}", markup=False)


def report(found: dict[str, Any]) -> None:
    """One report: its fields, then its body as it is."""
    keys = ["id", "title", "originator", "received_from", "level", "precedence", "categories", "rel_to"]
    fields(found["id"], found, [*keys, "compartments", "created_at", "body_type"])
    out.print(found["body"].rstrip("\n"), markup=False)  # print() ends the line itself


def deliveries(report_id: str, found: list[dict[str, Any]]) -> None:
    """Each envelope sent about a report, and what became of it."""
    rows = [
        [
            one["envelope"],
            one["kind"],
            one["to"],
            _route(one["route"]),
            one["state"],
            one["attempts"],
            one["settled_at"],
            one["last_error"],
            _reasons(one["reasons"]),
        ]
        for one in found
    ]
    columns = ["envelope", "kind", "to", "route", "state", "attempts", "settled", "last error", "reasons"]
    table(f"deliveries of {report_id}", columns, rows)


def release(report_id: str, released: dict[str, Any]) -> None:
    """An onward release: the legs and the envelope queued, or every reason why not."""
    verdict = "allowed" if released["allowed"] else "refused"
    rows = [[leg["from"], leg["to"], leg["under"], leg["level"]] for leg in released["legs"]]
    table(f"release of {report_id} to {released['to']}: {verdict}", ["from", "to", "under", "marked on arrival"], rows)
    if released["allowed"]:
        out.print(f"transfer {released['envelope']} queued at the node", markup=False)
    else:
        out.print(f"refused: {_reasons(released['reasons'])}", markup=False)


def sent_cell(one: dict[str, Any]) -> str:
    """How a notice went to the other party's node: its delivery's state and to whom, or a dash."""
    delivery = one.get("delivery")
    return "—" if delivery is None else f"{delivery['state']} ({delivery['to']})"


def compromise_cells(one: dict[str, Any]) -> list[Any]:
    """A compromise as a row, up to how it was sent: id, report, title, direction, reported, at, description."""
    reported = f"{one['reporter']} ({one['reported_by']}) → {one['originator']}"
    return [one["id"], one["report_id"], one["report_title"], one["direction"], reported, one["at"], one["description"]]


def compromises(found: list[dict[str, Any]]) -> None:
    """Losses and compromises, incoming and outgoing."""
    rows = [[*compromise_cells(one), sent_cell(one)] for one in found]
    columns = ["id", "report", "title", "direction", "reported", "at", "description", "sent"]
    table("losses and compromises", columns, rows)


def consent_request_cells(one: dict[str, Any]) -> list[Any]:
    """A consent request as a row, up to how it was sent: id, report, title, purpose, direction, asked, to, state."""
    asked = f"{one['holder']} → {one['originator']}"
    return [
        one["id"],
        one["report_id"],
        one["report_title"],
        one["purpose"],
        one["direction"],
        asked,
        one["to"],
        one["state"],
    ]


def consent_requests(found: list[dict[str, Any]]) -> None:
    """Consent requests, asked here or of this party."""
    rows = [[*consent_request_cells(one), sent_cell(one)] for one in found]
    columns = ["id", "report", "title", "purpose", "direction", "asked", "to", "state", "sent"]
    table("consent requests", columns, rows)


def consent_requested(asked: dict[str, Any]) -> None:
    """A consent request just asked, here or at a running node: of which report, to whom, asked of whom."""
    out.print(f"consent request {asked['id']}: {asked['report_id']} to {asked['to']}, asked of {asked['originator']}")


def consent_answered(answered: dict[str, Any]) -> None:
    """A consent request just answered, here or at a running node: granted or refused, about what, to whom."""
    out.print(f"consent request {answered['id']} {answered['state']}: {answered['report_id']} to {answered['to']}")


def consent_cells(one: dict[str, Any]) -> list[Any]:
    """A consent as a row: id, report, title, by, to (or the arrangement it is relayed under), at, until, request."""
    to = one["to"] or f"relay under {one['arrangement']}"
    until = one["until"] or "—"
    request = one["request"] or "—"
    return [one["id"], one["report_id"], one["title"], one["originator"], to, one["at"], until, request]


def consents(found: list[dict[str, Any]]) -> None:
    """The consent inbox."""
    rows = [consent_cells(one) for one in found]
    table("consents", ["id", "report", "title", "by", "to", "at", "until", "request"], rows)


def agreements(found: list[dict[str, Any]]) -> None:
    """Every agreement and arrangement with its status now."""
    rows = [
        [
            one["id"],
            one["kind"],
            one["parties"],
            one["status"]["state"],
            one["status"]["notice"],
            one["status"]["term_ends"],
            one["status"]["ends_at"],
        ]
        for one in found
    ]
    table("agreements, now", ["id", "kind", "parties", "state", "notice", "term ends", "ends at"], rows)


def agreement(found: dict[str, Any]) -> None:
    """One agreement: its status now at the node, then its timeline."""
    status = found["status"]
    fields(f"{found['id']} at {status['at']}", status, ["state", "notice", "term_ends", "ends_at", "ended_at"])
    rows = [
        [one["from"], one["until"], one["state"], one["notice"], one["what"]] for one in found.get("timeline") or []
    ]
    table(f"{found['id']}: {found['title']}", ["from", "until", "state", "notice", "what happened"], rows)

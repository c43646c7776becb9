"""Receiving envelopes: a transfer is re-decided, stored once in the receiver's marking, receipted; bad ones refused."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from pactnet.crypto.envelope import HEADER_FIELDS, SIGNED_DOMAIN, open_envelope, seal
from pactnet.crypto.identity import verify_identity
from pactnet.crypto.keys import NodeKeys, b64, unb64
from pactnet.federation.client import PartnerClient
from pactnet.federation.partners import load_partners, save_partners
from pactnet.node import Node, identity_document, init_node, open_node
from pactnet.services import ServiceError, audit
from pactnet.services.inbound import receive, receive_batch
from pactnet.store.audit_log import read_entries
from pactnet.store.tables import decisions, envelopes, report_categories, reports
from tests.databases import fresh_postgres_database
from tests.integration.conftest import Clock, LoopbackServer
from tests.integration.test_priority import CountingUrgency

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

JULY = datetime(2019, 7, 25, 6, 0, tzinfo=UTC)
AFTER_THE_END = datetime.fromisoformat("2019-11-23T06:00:00+09:00")
GSOMIA = "JPN-ROK-GSOMIA-2016"


@dataclass
class Pair:
    """A ROK node (the sender) and a JPN node (the receiver), each trusting the other."""

    rok: Node
    jpn: Node
    clock: Clock

    def envelope(self, payload: dict[str, Any], kind: str = "transfer", **overrides: Any) -> dict[str, Any]:
        """An envelope sealed with ROK's keys to JPN, sent now unless `sent_at` says otherwise."""
        arguments: dict[str, Any] = {
            "keys": self.rok.keys,
            "sender": "ROK",
            "recipient": "JPN",
            "recipient_encryption_key": self.jpn.keys.public_encryption,
            "kind": kind,
            "payload": payload,
            "sent_at": self.clock.at,
        } | overrides
        return seal(**arguments)

    def open_answer(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The payload of JPN's answer, opened by ROK with JPN's signing key."""
        opened = open_envelope(self.rok.keys, "ROK", answer, self.jpn.keys.public_signing, self.clock.at)
        assert opened.sender == "JPN"
        return {"kind": opened.kind} | opened.payload

    def stored(self) -> int:
        with self.jpn.uow.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(reports)).scalar_one())

    def audit_kinds(self) -> list[str]:
        with self.jpn.uow.engine.connect() as connection:
            return [entry.kind for entry in read_entries(connection)]


def transfer(
    level: str = "군사II급비밀", categories: tuple[str, ...] = ("dprk-missile",), body: str = "launch at 05:59"
) -> dict[str, Any]:
    """A transfer payload of a ROK report, as the sending side builds it (docs/federation.md)."""
    return {
        "report": {
            "id": uuid.uuid4().hex,
            "originator": "ROK",
            "title": "Launch from Wonsan",
            "level": level,
            "categories": list(categories),
            "rel_to": None,
            "precedence": "flash",
            "compartments": [],
            "body_type": "text",
            "body": body,
            "created": "2019-07-25T05:59:00+00:00",
        },
        "under": GSOMIA,
        "route": ["ROK"],
    }


@pytest.fixture
def second_database_url(database_url: str) -> Iterator[str | None]:
    """A database for the JPN node, of the same kind as `database_url` (None: SQLite in its folder)."""
    if database_url.startswith("sqlite"):
        yield None
        return
    with fresh_postgres_database("pactnet_test") as url:
        yield url


def _trust(folder: Path, other: Path, party: str) -> None:
    registry = load_partners(folder, party, ("JPN", "ROK", "USA"))
    document = identity_document(other, "http://127.0.0.1:8470", JULY - timedelta(days=1))
    save_partners(folder, registry.trust(verify_identity(document)))


def pair_of_nodes(tmp_path: Path, database_url: str, second: str | None, world: str, clock: Clock) -> Iterator[Pair]:
    """ROK and JPN on `world`, each trusting the other; JPN on `second` (None: SQLite in its folder)."""
    rok_folder, jpn_folder = tmp_path / f"rok-{world}", tmp_path / f"jpn-{world}"
    init_node(rok_folder, world, "ROK", None if database_url.startswith("sqlite") else database_url)
    init_node(jpn_folder, world, "JPN", second)
    _trust(rok_folder, jpn_folder, "ROK")
    _trust(jpn_folder, rok_folder, "JPN")
    rok, jpn = open_node(rok_folder, clock), open_node(jpn_folder, clock)
    try:
        yield Pair(rok, jpn, clock)
    finally:
        rok.close()
        jpn.close()


@pytest.fixture
def pair(tmp_path: Path, database_url: str, second_database_url: str | None, clock: Clock) -> Iterator[Pair]:
    """ROK and JPN on the GSOMIA world, on 25 July 2019."""
    yield from pair_of_nodes(tmp_path, database_url, second_database_url, "gsomia-2019", clock)


@pytest.fixture
def ended(tmp_path: Path, database_url: str, second_database_url: str | None) -> Iterator[Pair]:
    """ROK and JPN in the world without the suspension, the morning after the pact ended."""
    yield from pair_of_nodes(
        tmp_path, database_url, second_database_url, "gsomia-2019-no-suspension", Clock(AFTER_THE_END)
    )


# Refused alike outwardly, so that nobody learns which parties a node trusts; the audit log keeps which.
UNAUTHENTICATED = {"unknown-sender", "bad-signature"}


def _refused_with(pair: Pair, envelope: dict[str, Any], code: str) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        receive(pair.jpn, envelope)
    assert caught.value.details[0]["code"] == ("unauthenticated" if code in UNAUTHENTICATED else code)
    assert _last_entry(pair).data["code"] == code
    return caught.value


def _last_entry(pair: Pair) -> Any:
    with pair.jpn.uow.engine.connect() as connection:
        return list(read_entries(connection))[-1]


def _altered(envelope: dict[str, Any]) -> dict[str, Any]:
    ciphertext = bytearray(unb64(envelope["ciphertext"]))
    ciphertext[0] ^= 1
    return envelope | {"ciphertext": b64(bytes(ciphertext))}


def _signed_by(keys: NodeKeys, envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope signed again as it stands, as its sender would have signed it (crypto.envelope)."""
    signed = {name: envelope[name] for name in (*HEADER_FIELDS, "epk", "nonce", "ciphertext")}
    text = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return envelope | {"signature": b64(keys.sign(SIGNED_DOMAIN + text))}


def _nothing_recorded(pair: Pair) -> None:
    assert pair.stored() == 0
    with pair.jpn.uow.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(envelopes)).scalar_one() == 0
    assert pair.audit_kinds()[-1] == "refused-envelope"
    assert audit.verify(pair.jpn).intact


class TestAcceptedTransfer:
    """An allowed transfer is stored once, marked in the receiver's scheme, and receipted."""

    def test_a_rok_report_is_stored_at_jpn_marked_gokuhi_with_a_receipt_rok_can_open(self, pair: Pair) -> None:
        payload = transfer()
        envelope = pair.envelope(payload)
        receipt = pair.open_answer(receive(pair.jpn, envelope))
        assert receipt["kind"] == "receipt"
        assert receipt["envelope"] == envelope["id"]
        assert receipt["report"] == payload["report"]["id"]
        assert receipt["marking"] == {"originator": "ROK", "level": "極秘"}
        assert receipt["decision"]["allowed"] is True
        with pair.jpn.uow.engine.connect() as connection:
            row = connection.execute(select(reports)).one()
            trail = connection.execute(select(decisions)).one()
        assert (row.originator, row.received_from, row.origin_id) == ("ROK", "ROK", payload["report"]["id"])
        assert (row.level, row.level_rank, row.id) == ("極秘", 1, receipt["stored_as"])
        assert (trail.holder, trail.recipient, trail.allowed) == ("ROK", "JPN", True)
        assert pair.audit_kinds()[-2:] == ["receive", "decide"]
        assert audit.verify(pair.jpn).intact

    def test_a_replayed_envelope_gets_the_same_receipt_and_is_stored_once(self, pair: Pair) -> None:
        envelope = pair.envelope(transfer())
        first = receive(pair.jpn, envelope)
        pair.clock.advance(seconds=30)
        assert receive(pair.jpn, envelope) == first
        assert pair.stored() == 1
        assert pair.audit_kinds()[-1] == "replayed-envelope"
        assert audit.verify(pair.jpn).intact

    def test_the_same_item_in_a_new_envelope_is_acknowledged_but_not_stored_again(self, pair: Pair) -> None:
        payload = transfer()
        first = pair.open_answer(receive(pair.jpn, pair.envelope(payload)))
        second = pair.open_answer(receive(pair.jpn, pair.envelope(payload)))
        assert second["stored_as"] == first["stored_as"]
        assert pair.stored() == 1


class TestOneBatch:
    """A batch is written a chunk at a time, with its look-ups and inserts shared: each envelope still counts alone."""

    def test_repeats_within_one_batch_are_answered_as_replays_and_duplicates(self, pair: Pair) -> None:
        first, other = transfer(), transfer(categories=("dprk-missile", "dprk-nuclear"))
        envelope = pair.envelope(first)
        again = pair.envelope(first)  # the same item under a new envelope id
        refused = pair.envelope(transfer("군사I급비밀", ("pla-navy",)))  # no Japanese equivalent
        answers = receive_batch(pair.jpn, [envelope, envelope, again, pair.envelope(other), refused])
        assert all(isinstance(answer, dict) for answer in answers)
        opened = [pair.open_answer(answer) for answer in answers]  # type: ignore[arg-type]
        assert answers[1] == answers[0]
        assert opened[2]["stored_as"] == opened[0]["stored_as"]
        assert opened[3]["stored_as"] != opened[0]["stored_as"]
        assert [answer["kind"] for answer in opened] == ["receipt"] * 4 + ["refusal"]
        assert pair.stored() == 2
        with pair.jpn.uow.engine.connect() as connection:
            recorded = connection.execute(select(envelopes.c.id, envelopes.c.outcome)).all()
            categories = connection.execute(
                select(report_categories.c.category)
                .join(reports, reports.c.seq == report_categories.c.report_seq)
                .where(reports.c.id == opened[3]["stored_as"])
            ).scalars()
            trail = connection.execute(select(decisions.c.report_id).order_by(decisions.c.seq)).scalars().all()
            assert sorted(categories) == ["dprk-missile", "dprk-nuclear"]
        accepted = [(envelope["id"], "accepted"), (again["id"], "accepted"), (opened[3]["envelope"], "accepted")]
        assert sorted(recorded) == sorted([*accepted, (refused["id"], "refused")])
        assert trail == [opened[0]["stored_as"], opened[0]["stored_as"], opened[3]["stored_as"]]
        assert pair.audit_kinds()[-8:] == [
            "receive",
            "decide",
            "replayed-envelope",
            "receive",
            "decide",
            "receive",
            "decide",
            "refused-envelope",
        ]
        assert audit.verify(pair.jpn).intact

    def test_an_act_between_two_transfers_keeps_its_place_in_the_log(self, pair: Pair) -> None:
        act = {"at": "2024-01-10T10:00:00+09:00", "type": "notify_termination", "agreement": GSOMIA, "by": "ROK"}
        batch = [pair.envelope(transfer()), pair.envelope({"act": act}, kind="act"), pair.envelope(transfer())]
        answers = [pair.open_answer(answer) for answer in receive_batch(pair.jpn, batch)]  # type: ignore[arg-type]
        assert [answer["kind"] for answer in answers] == ["receipt"] * 3
        assert pair.stored() == 2
        assert pair.audit_kinds()[-5:] == ["receive", "decide", "lifecycle", "receive", "decide"]
        assert audit.verify(pair.jpn).intact

    def test_a_transfer_after_an_act_in_its_batch_is_decided_with_the_act(self, pair: Pair) -> None:
        # Every transfer is worked out before the transaction with the world as it stood; the act in between
        # changes it (a notice in 2023 ended the pact at the term's end, 2023-11-23), so the last one is refused.
        pair.clock.at = datetime.fromisoformat("2024-01-10T10:00:00+09:00")
        notice = {"at": "2023-08-01T10:00:00+09:00", "type": "notify_termination", "agreement": GSOMIA, "by": "ROK"}
        batch = [pair.envelope(transfer()), pair.envelope({"act": notice}, kind="act"), pair.envelope(transfer())]
        answers = [pair.open_answer(answer) for answer in receive_batch(pair.jpn, batch)]  # type: ignore[arg-type]
        assert [answer["kind"] for answer in answers] == ["receipt", "receipt", "refusal"]
        assert "ended at 2023-11-23T00:00:00+09:00" in answers[2]["reasons"][0]["message"]
        assert pair.stored() == 1
        assert audit.verify(pair.jpn).intact


class TestUnverifiableEnvelopes:
    """An envelope that cannot be verified is refused without an answer, audited, and its id not recorded."""

    def test_a_forged_signature_is_refused(self, pair: Pair) -> None:
        envelope = pair.envelope(transfer(), keys=NodeKeys.generate())
        _refused_with(pair, envelope, "bad-signature")
        _nothing_recorded(pair)

    def test_a_forged_envelope_does_not_poison_its_id(self, pair: Pair) -> None:
        envelope_id = uuid.uuid4().hex
        _refused_with(
            pair, pair.envelope(transfer(), keys=NodeKeys.generate(), envelope_id=envelope_id), "bad-signature"
        )
        answer = pair.open_answer(receive(pair.jpn, pair.envelope(transfer(), envelope_id=envelope_id)))
        assert answer["kind"] == "receipt"

    def test_an_envelope_for_another_party_is_refused(self, pair: Pair) -> None:
        envelope = pair.envelope(transfer(), recipient="USA")
        _refused_with(pair, envelope, "wrong-recipient")
        _nothing_recorded(pair)

    def test_a_stale_envelope_is_refused(self, pair: Pair) -> None:
        envelope = pair.envelope(transfer(), sent_at=pair.clock.at - timedelta(minutes=6))
        _refused_with(pair, envelope, "stale")
        _nothing_recorded(pair)

    def test_a_ciphertext_altered_in_transit_is_refused(self, pair: Pair) -> None:
        envelope = _altered(pair.envelope(transfer()))
        _refused_with(pair, envelope, "bad-signature")
        _nothing_recorded(pair)

    def test_a_ciphertext_that_does_not_decrypt_is_refused(self, pair: Pair) -> None:
        envelope = _signed_by(pair.rok.keys, _altered(pair.envelope(transfer())))
        _refused_with(pair, envelope, "undecryptable")
        _nothing_recorded(pair)

    def test_an_unknown_sender_is_refused_with_a_plain_error(self, pair: Pair) -> None:
        envelope = pair.envelope(transfer(), sender="USA")
        error = _refused_with(pair, envelope, "unknown-sender")
        assert "USA" not in error.message  # the answer names nobody
        assert "USA" in _last_entry(pair).data["message"]  # the audit log does
        _nothing_recorded(pair)

    def test_something_that_is_not_an_envelope_is_refused(self, pair: Pair) -> None:
        _refused_with(pair, {"id": "x"}, "malformed")
        _nothing_recorded(pair)


class TestReusedIds:
    """An envelope id another partner already used is refused, and the refusal is audited."""

    def test_an_id_used_by_another_partner_is_refused_and_audited(self, pair: Pair) -> None:
        envelope = pair.envelope(transfer())
        with pair.jpn.uow.engine.begin() as connection:
            connection.execute(
                insert(envelopes).values(
                    id=envelope["id"],
                    sender="USA",
                    kind="transfer",
                    received_at="2019-07-25T00:00:00.000000Z",
                    outcome="accepted",
                    report_id=None,
                    reasons=[],
                    answer={},
                )
            )
        _refused_with(pair, envelope, "id-reused")
        assert pair.stored() == 0
        assert pair.audit_kinds()[-1] == "refused-envelope"
        assert audit.verify(pair.jpn).intact


class TestRefusedTransfers:
    """A verified transfer this node does not allow is answered with a signed refusal; nothing is stored."""

    def _refusal(self, pair: Pair, payload: dict[str, Any]) -> list[str]:
        refusal = pair.open_answer(receive(pair.jpn, pair.envelope(payload)))
        assert refusal["kind"] == "refusal"
        assert pair.stored() == 0
        assert pair.audit_kinds()[-1] == "refused-envelope"
        assert audit.verify(pair.jpn).intact
        return [reason["code"] for reason in refusal["reasons"]]

    def test_a_level_with_no_japanese_equivalent_is_refused(self, pair: Pair) -> None:
        assert "no-equivalent-level" in self._refusal(pair, transfer("군사I급비밀", ("pla-navy",)))

    def test_a_body_over_the_limit_is_refused(self, pair: Pair) -> None:
        body = "x" * (pair.jpn.config.max_body_bytes + 1)
        assert self._refusal(pair, transfer(body=body)) == ["body-too-large"]

    def test_a_level_the_originator_does_not_have_is_refused(self, pair: Pair) -> None:
        assert self._refusal(pair, transfer("TOP SECRET")) == ["malformed-payload"]

    def test_a_marking_the_receiver_does_not_find_is_refused(self, pair: Pair) -> None:
        claimed = transfer() | {"marking": {"originator": "ROK", "level": "秘"}}
        assert self._refusal(pair, claimed) == ["marking-mismatch"]

    def test_the_marking_the_receiver_finds_is_accepted(self, pair: Pair) -> None:
        agreed = transfer() | {"marking": {"originator": "ROK", "level": "極秘"}}
        receipt = pair.open_answer(receive(pair.jpn, pair.envelope(agreed)))
        assert (receipt["kind"], receipt["marking"]["level"]) == ("receipt", "極秘")

    def test_an_agreement_not_in_force_is_refused(self, ended: Pair) -> None:
        codes = self._refusal(ended, transfer(categories=("pla-navy",)))
        assert "agreement-not-in-force" in codes

    def test_a_replayed_refusal_gets_the_same_answer(self, pair: Pair) -> None:
        envelope = pair.envelope(transfer("군사I급비밀", ("pla-navy",)))
        assert receive(pair.jpn, envelope) == receive(pair.jpn, envelope)
        with pair.jpn.uow.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(envelopes)).scalar_one() == 1


class TestEndpoint:
    """`POST /federation/v1/envelopes` answers with the envelope, or the one error shape; never a 500."""

    def _post(self, pair: Pair, body: object) -> httpx.Response:
        with LoopbackServer(pair.jpn) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
            return http.post("/federation/v1/envelopes", json=body)

    def test_a_transfer_is_answered_with_a_receipt(self, pair: Pair) -> None:
        response = self._post(pair, pair.envelope(transfer()))
        assert response.status_code == 200
        assert pair.open_answer(response.json())["kind"] == "receipt"

    @pytest.mark.parametrize(
        ("change", "status", "code"),
        [
            ({"from": "USA"}, 403, "unauthenticated"),
            ({"to": "USA"}, 403, "wrong-recipient"),
            ({"signature": b64(b"\0" * 64)}, 403, "unauthenticated"),
            ({"epk": "A"}, 400, "malformed"),
        ],
    )
    def test_a_bad_envelope_gets_the_error_shape(
        self, pair: Pair, change: dict[str, str], status: int, code: str
    ) -> None:
        response = self._post(pair, pair.envelope(transfer()) | change)
        assert response.status_code == status
        error = response.json()["error"]
        assert error["status"] == status
        assert error["details"][0]["code"] == code

    def test_a_body_that_is_not_an_object_is_invalid(self, pair: Pair) -> None:
        assert self._post(pair, ["not", "an", "envelope"]).status_code == 422


def test_a_flash_envelope_sent_as_urgent_does_not_wait_for_itself(pair: Pair) -> None:
    """Marked urgent on arrival (its Priority header), the request is the urgent work its routine checks wait for."""
    urgency = CountingUrgency()
    pair.jpn.uow.urgency = urgency
    client = PartnerClient()
    try:
        with LoopbackServer(pair.jpn) as base_url:
            answers = client.post(base_url, [pair.envelope(transfer()), pair.envelope(transfer())], urgent=True)
    finally:
        client.close()
    assert [pair.open_answer(answer["envelope"])["kind"] for answer in answers] == ["receipt", "receipt"]
    assert urgency.marked >= 1
    assert urgency.gave_way == 0

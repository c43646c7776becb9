"""Partners witness each other's audit logs: a log cut back, or rewritten, no longer matches a head they hold."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import select

from pactnet.audit.chain import Checkpoint
from pactnet.audit.trust import RETIRED_KEYS_FILE
from pactnet.crypto.envelope import seal
from pactnet.crypto.identity import verify_identity
from pactnet.crypto.keys import NodeKeys, b64
from pactnet.federation.partners import load_partners, save_partners
from pactnet.federation.witness import HEAD, HEADS_PATH, HeadPusher, exchange
from pactnet.node import identity_document, init_node, open_node, rotate_node_keys
from pactnet.services import audit
from pactnet.services.context import system_clock
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from pactnet.store.audit_log import read_head
from pactnet.store.tables import audit_entries, audit_witnessed
from tests.cli.runner import pactnet
from tests.databases import fresh_postgres_database
from tests.integration.audit_tampering import cut_back_to_checkpoint, forge_rewrite
from tests.integration.conftest import LoopbackServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pactnet.node import Node

PARTIES = ("JPN", "ROK", "USA")


class Witnessed:
    """ROK, whose log is witnessed, and JPN, its witness, served on loopback; both on the system clock."""

    def __init__(self, rok: Node, jpn: Node, jpn_url: str) -> None:
        self.rok, self.jpn, self.jpn_url = rok, jpn, jpn_url

    def fill(self, reports: int = 5) -> None:
        self.rok.audit.checkpoint_every = 4
        user, _ = add_user(self.rok, f"officer{time.monotonic_ns()}", "군사II급비밀", [])
        for index in range(reports):
            publish(self.rok, user, Publication(title=f"r{index}", level="군사III급비밀", categories=["dprk-missile"]))

    def head(self) -> Checkpoint:
        with self.rok.uow.engine.connect() as connection:
            head = read_head(connection)
        assert head is not None
        return head

    def give_head(self) -> Checkpoint:
        head = self.head()
        [answer] = exchange(self.rok, head)
        assert answer.witnessed is not None, answer.problem
        assert answer.witnessed.head == head
        return head


def _trust(folder: Path, other: Path, party: str, url: str) -> None:
    registry = load_partners(folder, party, PARTIES)
    document = identity_document(other, url, system_clock() - timedelta(days=1))
    save_partners(folder, registry.trust(verify_identity(document)))


@pytest.fixture
def jpn_database_url(database_url: str) -> Iterator[str | None]:
    if database_url.startswith("sqlite"):
        yield None
        return
    with fresh_postgres_database("pactnet_test") as url:
        yield url


@pytest.fixture
def witnessed(tmp_path: Path, database_url: str, jpn_database_url: str | None) -> Iterator[Witnessed]:
    rok_folder, jpn_folder = tmp_path / "rok", tmp_path / "jpn"
    init_node(rok_folder, "gsomia-2019", "ROK", None if database_url.startswith("sqlite") else database_url)
    init_node(jpn_folder, "gsomia-2019", "JPN", jpn_database_url)
    jpn = open_node(jpn_folder)
    try:
        with LoopbackServer(jpn) as jpn_url:
            _trust(rok_folder, jpn_folder, "ROK", jpn_url)
            _trust(jpn_folder, rok_folder, "JPN", "http://127.0.0.1:9")
            rok = open_node(rok_folder)
            try:
                yield Witnessed(rok, jpn, jpn_url)
            finally:
                rok.close()
    finally:
        jpn.close()


class TestAWitness:
    """A partner keeps the latest signed head of a log and answers, signed, with what it holds."""

    def test_a_witness_keeps_the_head_it_is_given(self, witnessed: Witnessed) -> None:
        witnessed.fill()
        head = witnessed.give_head()
        with witnessed.jpn.uow.engine.connect() as connection:
            row = connection.execute(select(audit_witnessed)).one()
        assert (row.party, row.seq, row.hash) == ("ROK", head.seq, head.hash)

    def test_an_older_head_does_not_replace_a_later_one(self, witnessed: Witnessed) -> None:
        witnessed.fill()
        later = witnessed.give_head()
        earlier = Checkpoint.sign(witnessed.rok.keys, 1, "a" * 64, later.at)
        [answer] = exchange(witnessed.rok, earlier)
        assert answer.witnessed is not None
        assert answer.witnessed.head == later
        assert not answer.conflict

    def test_two_heads_for_the_same_entry_are_kept_as_evidence(self, witnessed: Witnessed) -> None:
        witnessed.fill()
        held = witnessed.give_head()
        fork = Checkpoint.sign(witnessed.rok.keys, held.seq, "b" * 64, held.at)
        [answer] = exchange(witnessed.rok, fork)
        assert answer.conflict
        assert answer.witnessed is not None
        assert answer.witnessed.head == held
        with witnessed.jpn.uow.engine.connect() as connection:
            kinds = connection.execute(select(audit_entries.c.kind)).scalars().all()
        assert "witness-conflict" in kinds
        assert audit.verify(witnessed.jpn).intact

    def test_a_head_not_signed_by_the_partner_is_refused(self, witnessed: Witnessed) -> None:
        head = Checkpoint.sign(NodeKeys.generate(), 3, "c" * 64, witnessed.head().at)
        partner = load_partners(witnessed.rok.config.folder, "ROK", PARTIES).get("JPN")
        assert partner is not None
        payload = {"head": head.as_dict()}
        envelope = seal(witnessed.rok.keys, "ROK", "JPN", partner.encryption_key, HEAD, payload, system_clock())
        response = httpx.post(witnessed.jpn_url + HEADS_PATH, json=envelope)
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["code"] == "bad-head"

    def test_an_unknown_sender_and_a_forged_signature_get_the_same_refusal(self, witnessed: Witnessed) -> None:
        partner = load_partners(witnessed.rok.config.folder, "ROK", PARTIES).get("JPN")
        assert partner is not None
        codes = []
        for sender in ("ROK", "USA"):  # ROK is trusted but the key is not its; USA is not trusted at all
            envelope = seal(
                NodeKeys.generate(), sender, "JPN", partner.encryption_key, HEAD, {"head": None}, system_clock()
            )
            response = httpx.post(witnessed.jpn_url + HEADS_PATH, json=envelope)
            codes.append((response.status_code, response.json()["error"]["message"]))
        assert codes[0] == codes[1]
        assert codes[0][0] == 403

    def test_the_head_a_key_rotation_leaves_signed_by_the_retired_key_is_taken(self, witnessed: Witnessed) -> None:
        # The rotation's own entry is the last one signed by the old key, at the very instant that key retires:
        # until the node writes again, that is its head, and its witnesses must take it.
        witnessed.fill()
        folder = witnessed.rok.config.folder
        witnessed.rok.close()
        statement = rotate_node_keys(folder)
        jpn_folder = witnessed.jpn.config.folder
        _, registry = load_partners(jpn_folder, "JPN", PARTIES).accept_rotation(statement)
        save_partners(jpn_folder, registry)
        witnessed.rok = open_node(folder)
        try:
            head = witnessed.head()
            assert head.key != b64(witnessed.rok.keys.public_signing)  # signed by the retired key
            [answer] = exchange(witnessed.rok, head)
            assert answer.witnessed is not None, answer.problem
            assert answer.witnessed.head == head
        finally:
            witnessed.rok.close()

    def test_a_serving_node_gives_its_head_to_its_witnesses(self, witnessed: Witnessed) -> None:
        witnessed.fill()
        pusher = HeadPusher(witnessed.rok, every=0.05)
        pusher.start()
        try:
            deadline = time.monotonic() + 10
            held = None
            while time.monotonic() < deadline and held != witnessed.head():
                [answer] = exchange(witnessed.rok, None)
                held = None if answer.witnessed is None else answer.witnessed.head
                time.sleep(0.05)
        finally:
            pusher.stop()
        assert held == witnessed.head()


class TestVerifyingWithWitnesses:
    """`audit verify --witnesses` reports a log shorter than, or inconsistent with, a head a witness holds."""

    def test_a_log_cut_back_to_a_checkpoint_verifies_alone_but_not_against_its_witness(
        self, witnessed: Witnessed
    ) -> None:
        witnessed.fill()
        head = witnessed.give_head()
        with witnessed.rok.uow.engine.begin() as connection:
            cut = cut_back_to_checkpoint(connection)
        assert cut is not None
        assert cut < head.seq
        assert audit.verify(witnessed.rok).intact  # nothing in the database tells: the witness does
        answers = exchange(witnessed.rok, None)
        result = audit.verify(witnessed.rok, witnessed=[a.witnessed for a in answers if a.witnessed is not None])
        assert (result.intact, result.first_bad) == (False, cut + 1)
        assert result.problem is not None
        assert "tail was cut" in result.problem
        assert "JPN" in result.problem

    def test_a_rewrite_of_folder_and_log_is_reported_by_the_witness(self, witnessed: Witnessed) -> None:
        witnessed.fill()
        witnessed.give_head()
        attacker = NodeKeys.generate()
        with witnessed.rok.uow.engine.begin() as connection:
            forge_rewrite(connection, witnessed.rok.keys, attacker, {2}, system_clock())
        (witnessed.rok.config.folder / RETIRED_KEYS_FILE).write_text(
            f'[[retired_keys]]\nsigning_key = "{b64(attacker.public_signing)}"\n', encoding="utf-8"
        )
        assert audit.verify(witnessed.rok).intact
        answers = exchange(witnessed.rok, None)
        result = audit.verify(witnessed.rok, witnessed=[a.witnessed for a in answers if a.witnessed is not None])
        assert not result.intact
        assert result.witnesses[0]["agrees"] is False

    def test_the_command_reports_a_cut_tail_and_names_the_witness(self, witnessed: Witnessed) -> None:
        witnessed.fill()
        folder = str(witnessed.rok.config.folder)
        given = pactnet("audit", "witness", folder)
        assert given.code == 0, given.output
        assert "witness JPN: holds the head at entry" in given.stdout
        with witnessed.rok.uow.engine.begin() as connection:
            cut_back_to_checkpoint(connection)
        assert pactnet("audit", "verify", folder).code == 0
        run = pactnet("audit", "verify", folder, "--witnesses", "--json")
        assert run.code == 1, run.output
        result = json.loads(run.stdout)
        assert {"intact", "entries", "checkpoints", "first_bad_seq", "problem"} <= set(result)
        assert result["witnesses"][0]["party"] == "JPN"
        assert result["witnesses"][0]["agrees"] is False
        assert "tail was cut" in result["problem"]

    def test_the_witnesses_answers_come_as_json(self, witnessed: Witnessed) -> None:
        witnessed.fill()
        given = pactnet("audit", "witness", str(witnessed.rok.config.folder), "--json")
        assert given.code == 0, given.output
        [answer] = json.loads(given.stdout)
        assert (answer["party"], answer["taken"]) == ("JPN", True)
        assert answer["said"].startswith("holds the head at entry")

    def test_a_witness_that_cannot_be_reached_is_reported_not_a_crash(self, witnessed: Witnessed) -> None:
        witnessed.fill()
        folder = witnessed.rok.config.folder
        text = (folder / "partners.toml").read_text(encoding="utf-8")
        (folder / "partners.toml").write_text(text.replace(witnessed.jpn_url, "http://127.0.0.1:9"), encoding="utf-8")
        run = pactnet("audit", "verify", str(folder), "--witnesses")
        assert run.code == 0, run.output
        assert "witness JPN: not asked: unreachable at http://127.0.0.1:9" in run.stdout
        assert "Traceback" not in run.output
        given = pactnet("audit", "witness", str(folder))
        assert given.code == 1
        assert "witness JPN: not given: unreachable" in given.stdout

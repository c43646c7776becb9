"""`pactnet remote` as an analyst and an officer use it: the command as a process, a `pactnet node serve` process
on loopback, a URL and a token, and no access to the node's folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from pactnet.crypto.tls import PartnerTls
from tests.certificates import make_server_files
from tests.cli.runner import Run, pactnet
from tests.e2e.conftest import ServedNode, add_user, copy_node, free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PACT = "JPN-ROK-GSOMIA-2016"
ANALYST = ("--clearance", "군사II급비밀", "--role", "analyst")
OFFICER_ONLY = ("--clearance", "군사II급비밀", "--role", "officer")
BUNDLE = {
    "type": "bundle",
    "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
    "objects": [
        {"type": "identity", "id": "identity--8c6af861-7b20-41ef-9b59-6344fd872a8f"},
        {"type": "indicator", "id": "indicator--1f2b3c4d-0000-4000-8000-000000000001", "name": "KN-23 telemetry"},
    ],
}


@dataclass(frozen=True)
class Remote:
    """A served node, and how an analyst and an officer reach it."""

    url: str
    analyst: str
    officer_file: Path
    folder: Path

    def as_analyst(self, *args: str) -> Run:
        return pactnet("remote", *args, env={"PACTNET_URL": self.url, "PACTNET_TOKEN": self.analyst})

    def as_officer(self, *args: str) -> Run:
        return pactnet("remote", *args, "--token-file", str(self.officer_file), env={"PACTNET_URL": self.url})

    def publish(self, *args: str) -> dict[str, Any]:
        run = self.as_analyst("report", "publish", *args, "--json")
        assert run.code == 0, run.output
        published: dict[str, Any] = json.loads(run.stdout)
        return published


def _one_line_failure(run: Run, code: int) -> str:
    """The exit code, and one `error:` line on standard error: no stack trace, nothing on standard output."""
    assert run.code == code, run.output
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(scope="class")
def remote(node_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    """One ROK node served for the whole class, with an analyst and an officer (the officer's token in a file)."""
    place = tmp_path_factory.mktemp("remote")
    folder = copy_node(node_template, place / "rok")
    analyst = add_user(folder, "ann", *ANALYST)
    officer_file = place / "otto.token"
    officer_file.write_text(add_user(folder, "otto", *OFFICER_ONLY) + "\n", encoding="utf-8")
    with ServedNode(folder, place / "serve.log") as served:
        yield Remote(served.url, analyst, officer_file, folder)


class TestAnAnalystAtARunningNode:
    """An analyst publishes, lists, reads and follows reports by URL and token; an officer records acts."""

    def test_a_report_published_from_flags_is_listed_and_shown(self, remote: Remote) -> None:
        published = remote.publish("--title", "Launch at Wonsan", "--level", "군사II급비밀", "--body", "two missiles")
        assert {one["to"] for one in published["decisions"]} == {"JPN", "USA"}
        listed = json.loads(remote.as_analyst("report", "list", "--json").stdout)
        assert published["id"] in [one["id"] for one in listed["items"]]
        shown = remote.as_analyst("report", "show", published["id"])
        assert shown.code == 0, shown.output
        assert "Launch at Wonsan" in shown.stdout
        assert "two missiles" in shown.stdout

    def test_a_stix_bundle_is_the_body_and_its_first_named_object_the_title(
        self, remote: Remote, tmp_path: Path
    ) -> None:
        bundle = tmp_path / "bundle.json"
        bundle.write_text(json.dumps(BUNDLE), encoding="utf-8")
        published = remote.publish("--stix", str(bundle), "--level", "군사III급비밀", "--to", "USA")
        shown = json.loads(remote.as_analyst("report", "show", published["id"], "--json").stdout)
        assert (shown["title"], shown["body_type"]) == ("KN-23 telemetry", "stix")
        assert json.loads(shown["body"])["objects"] == BUNDLE["objects"]

    def test_a_report_in_the_apis_json_is_published_as_it_is(self, remote: Remote, tmp_path: Path) -> None:
        report = {"title": "Track data", "level": "군사III급비밀", "recipients": ["JPN"], "categories": ["missile"]}
        (tmp_path / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
        published = remote.publish("--file", str(tmp_path / "report.json"))
        assert [one["to"] for one in published["decisions"]] == ["JPN"]
        shown = json.loads(remote.as_analyst("report", "show", published["id"], "--json").stdout)
        assert (shown["title"], shown["categories"]) == ("Track data", ["missile"])

    def test_the_trail_and_the_deliveries_name_each_recipient(self, remote: Remote) -> None:
        published = remote.publish("--title", "Trail", "--level", "군사III급비밀")
        trail = remote.as_analyst("report", "trail", published["id"])
        assert trail.code == 0, trail.output
        assert "ROK → JPN" in trail.stdout
        assert "ROK → USA" in trail.stdout
        assert "recipients" in trail.stdout
        deliveries = json.loads(remote.as_analyst("report", "deliveries", published["id"], "--json").stdout)
        assert sorted((one["kind"], one["to"]) for one in deliveries) == [("transfer", "JPN"), ("transfer", "USA")]

    def test_an_officers_act_is_refused_to_an_analyst_in_one_line(self, remote: Remote) -> None:
        line = _one_line_failure(remote.as_analyst("agreement", "act", PACT, "notify_termination"), 2)
        assert line.startswith("error: 403 forbidden: ann may not record-act")
        assert "officer" in line

    def test_an_act_recorded_at_the_node_counts_in_its_agreement_status(self, remote: Remote) -> None:
        before = json.loads(remote.as_officer("agreement", "status", PACT, "--json").stdout)
        acted = remote.as_officer("agreement", "act", PACT, "notify_termination", "--json")
        assert acted.code == 0, acted.output
        after = json.loads(remote.as_officer("agreement", "status", PACT, "--json").stdout)
        assert (before["status"]["notice"], after["status"]["notice"]) == ("none", "pending")
        assert (before["status"]["ends_at"], after["status"]["ends_at"]) == (None, after["status"]["term_ends"])
        # The world file alone does not know of the act: only the running node does.
        now = datetime.now(UTC).isoformat()
        from_world = json.loads(pactnet("agreement", "status", "gsomia-2019", PACT, "--at", now, "--json").stdout)
        assert from_world["notice"] == "none"

    def test_consent_requests_are_listed_and_only_an_officer_may_answer_one(self, remote: Remote) -> None:
        listed = remote.as_officer("consent", "list")
        assert listed.code == 0, listed.output
        assert "consent requests" in listed.stdout
        own = remote.publish("--title", "Own", "--level", "군사III급비밀")
        asked = remote.as_analyst("consent", "request", own["id"], "--to", "USA", "--purpose", "relay")
        assert _one_line_failure(asked, 2).startswith("error: 4")
        answered = remote.as_officer("consent", "answer", "no-such-request", "--refuse", "--reason", "need to know")
        assert _one_line_failure(answered, 2).startswith("error: 404 not_found")
        by_analyst = remote.as_analyst("consent", "answer", "no-such-request", "--grant")
        assert _one_line_failure(by_analyst, 2).startswith("error: 403 forbidden: ann may not answer-consent")

    def test_a_wrong_token_is_refused_with_401_and_never_repeated(self, remote: Remote) -> None:
        wrong = "pn_" + "x" * 40
        run = pactnet("remote", "report", "list", env={"PACTNET_URL": remote.url, "PACTNET_TOKEN": wrong})
        assert _one_line_failure(run, 2).startswith("error: 401 unauthorized")
        assert wrong not in run.output

    def test_a_node_that_cannot_be_reached_exits_1_in_one_line(self, remote: Remote) -> None:
        run = remote.as_analyst("report", "list", "--url", f"http://127.0.0.1:{free_port()}")
        assert "cannot reach http://127.0.0.1:" in _one_line_failure(run, 1)
        assert remote.analyst not in run.output


class TestBadInputIsRefusedBeforeAnythingIsSent:
    """What cannot be sent is refused on this machine, exit 2, saying what to give instead."""

    def test_no_url_names_the_variable_and_the_flag(self) -> None:
        line = _one_line_failure(pactnet("remote", "report", "list", env={"PACTNET_URL": ""}), 2)
        assert "PACTNET_URL" in line
        assert "--url" in line

    def test_a_token_is_not_sent_in_clear_text_to_another_machine(self) -> None:
        env = {"PACTNET_URL": "http://192.0.2.1:8470", "PACTNET_TOKEN": "pn_secret"}
        run = pactnet("remote", "report", "list", env=env)
        assert "--allow-plain-http" in _one_line_failure(run, 2)
        assert "pn_secret" not in run.output

    def test_a_stix_file_that_is_not_a_bundle_says_what_it_found(self, tmp_path: Path) -> None:
        (tmp_path / "x.json").write_text('{"type": "indicator"}', encoding="utf-8")
        run = pactnet("remote", "report", "publish", "--stix", str(tmp_path / "x.json"), "--level", "L")
        assert "found \"type\": 'indicator'" in _one_line_failure(run, 2)


class TestHttps:
    """A node served over HTTPS with a private CA is verified with --ca-file, and refused without it."""

    def test_the_ca_file_verifies_the_node_and_without_it_the_command_says_so(
        self, node_template: Path, tmp_path: Path
    ) -> None:
        folder = copy_node(node_template, tmp_path / "rok")
        token = add_user(folder, "ann", *ANALYST)
        files = make_server_files(tmp_path / "tls", "rok")
        options = ("--tls-cert", str(files.certificate), "--tls-key", str(files.key))
        verify = PartnerTls(ca_file=files.ca).context()
        with ServedNode(folder, tmp_path / "serve.log", *options, verify=verify) as served:
            env = {"PACTNET_URL": served.url, "PACTNET_TOKEN": token}
            trusted = pactnet("remote", "agreement", "list", "--ca-file", str(files.ca), env=env)
            untrusted = pactnet("remote", "agreement", "list", env=env)
        assert trusted.code == 0, trusted.output
        assert PACT in trusted.stdout
        line = _one_line_failure(untrusted, 1)
        assert "CERTIFICATE_VERIFY_FAILED" in line
        assert "--ca-file" in line

"""What `pactnet remote` makes of its command line before it sends anything: the URL, the token, the report."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pactnet.cli.remote_publish import Draft, bundle_title, report_to_publish
from pactnet.client import ClientError, NodeClient, check_token, check_url

if TYPE_CHECKING:
    from pathlib import Path


class TestTheNodesUrl:
    """A node's URL is its address only; plain HTTP carries a token only to this machine unless allowed."""

    def test_a_trailing_slash_is_dropped(self) -> None:
        assert check_url("https://rok.example:8470/") == "https://rok.example:8470"

    @pytest.mark.parametrize("url", ["http://127.0.0.1:8470", "http://localhost:8470", "http://[::1]:8470"])
    def test_plain_http_to_loopback_is_accepted(self, url: str) -> None:
        assert check_url(url) == url

    def test_plain_http_to_another_machine_is_refused_unless_allowed(self) -> None:
        with pytest.raises(ClientError, match="clear text"):
            check_url("http://rok.example:8470")
        assert check_url("http://rok.example:8470", allow_plain_http=True) == "http://rok.example:8470"

    @pytest.mark.parametrize("url", ["rok.example:8470", "ftp://rok.example", "https://rok.example/?a=1"])
    def test_what_is_not_a_nodes_address_is_refused(self, url: str) -> None:
        with pytest.raises(ClientError, match="the node's URL"):
            check_url(url)


class TestTheToken:
    """A token is sent as it was printed; one that could not be is refused without being repeated."""

    def test_surrounding_white_space_is_dropped(self) -> None:
        assert check_token(" pn_abc-DEF_123\n") == "pn_abc-DEF_123"

    def test_a_token_with_a_space_or_a_non_ascii_letter_is_refused_without_repeating_it(self) -> None:
        for wrong in ("pn_secret with space", "pn_sécret", ""):
            with pytest.raises(ClientError) as refused:
                check_token(wrong)
            assert "cret" not in str(refused.value)

    def test_a_client_does_not_show_its_token(self) -> None:
        with NodeClient("http://127.0.0.1:8470", "pn_secret") as client:
            assert "pn_secret" not in repr(client)
            assert "127.0.0.1:8470" in repr(client)

    def test_a_ca_file_that_is_not_one_is_refused_naming_it(self, tmp_path: Path) -> None:
        (tmp_path / "ca.pem").write_text("not a certificate", encoding="utf-8")
        with pytest.raises(ClientError, match=r"ca\.pem: cannot be used"):
            NodeClient("https://rok.example", "pn_secret", tmp_path / "ca.pem")


class TestTheReportToPublish:
    """The report is built from flags, read from --file as it is, or has a STIX bundle for its body."""

    def test_flags_make_the_apis_json_with_only_what_was_given(self) -> None:
        draft = Draft(title="T", level="秘", categories=["missile"], recipients=["USA"], body="text")
        report = report_to_publish(draft)
        assert report == {"title": "T", "level": "秘", "categories": ["missile"], "recipients": ["USA"], "body": "text"}

    def test_a_bundle_is_titled_by_its_first_named_object(self, tmp_path: Path) -> None:
        bundle = {"type": "bundle", "id": "bundle--x", "objects": [{"type": "identity"}, {"name": "KN-23"}]}
        (tmp_path / "b.json").write_text(json.dumps(bundle), encoding="utf-8")
        report = report_to_publish(Draft(level="秘", stix=tmp_path / "b.json"))
        assert (report["title"], report["body"]) == ("KN-23", bundle)
        assert bundle_title({"objects": [{"type": "identity"}]}) is None

    def test_a_report_file_takes_no_other_flag(self, tmp_path: Path) -> None:
        (tmp_path / "r.json").write_text('{"title": "T", "level": "秘"}', encoding="utf-8")
        assert report_to_publish(Draft(file=tmp_path / "r.json")) == {"title": "T", "level": "秘"}
        with pytest.raises(ClientError, match="--file holds the whole report"):
            report_to_publish(Draft(file=tmp_path / "r.json", level="秘"))

    def test_a_body_given_twice_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "body.txt").write_text("text", encoding="utf-8")
        with pytest.raises(ClientError, match="give the body once"):
            report_to_publish(Draft(title="T", level="秘", body="x", body_file=tmp_path / "body.txt"))

    def test_a_file_that_is_not_json_names_the_line(self, tmp_path: Path) -> None:
        (tmp_path / "r.json").write_text('{"title":\n  oops}', encoding="utf-8")
        with pytest.raises(ClientError, match=r"not JSON .* at line 2"):
            report_to_publish(Draft(file=tmp_path / "r.json"))

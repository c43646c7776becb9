"""The operator's log formats: one line an event, and fields that would hold a secret left out."""

from __future__ import annotations

import json
import logging

from pactnet.logs import JsonFormatter, TextFormatter


def _record(**fields: object) -> logging.LogRecord:
    record = logging.LogRecord("pactnet.test", logging.WARNING, __file__, 1, "delivery-failed", None, None)
    record.pactnet_fields = fields
    return record


class TestFormats:
    """Each format writes the event and its fields on one line."""

    def test_json_is_one_object_with_the_fields(self) -> None:
        line = JsonFormatter().format(_record(partner="JPN", attempts=3))
        assert "\n" not in line
        shown = json.loads(line)
        assert (shown["event"], shown["level"], shown["partner"], shown["attempts"]) == (
            "delivery-failed",
            "warning",
            "JPN",
            3,
        )

    def test_text_names_each_field(self) -> None:
        line = TextFormatter().format(_record(partner="JPN", cause="ConnectError: refused"))
        assert line.endswith('WARNING delivery-failed partner="JPN" cause="ConnectError: refused"')


class TestSecrets:
    """A field whose name says it holds a secret or a report's content is never written."""

    def test_tokens_keys_and_content_are_dropped(self) -> None:
        fields = {"token": "pn_x", "signing_key": "k", "title": "t", "body": "b", "db_password": "p", "partner": "JPN"}
        for formatter in (JsonFormatter(), TextFormatter()):
            line = formatter.format(_record(**fields))
            assert "JPN" in line
            assert not any(value in line for value in ("pn_x", '"k"', '"t"', '"b"', '"p"'))

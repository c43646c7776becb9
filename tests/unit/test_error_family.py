"""The one error family: a partner's unreadable payload is a PactnetError, mapped to HTTP with the others."""

from __future__ import annotations

import pytest

from pactnet.api.errors import UnauthorizedError, status_of
from pactnet.errors import PactnetError, PayloadError, PolicyError
from pactnet.services import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from pactnet.services.consents import StatementError
from pactnet.services.notices import MALFORMED, FieldError


class TestPayloadErrors:
    """Reading a partner's payload fails with a PayloadError, whatever the payload."""

    @pytest.mark.parametrize("error", [FieldError("to: expected a text"), StatementError("the signature is not JPN's")])
    def test_a_notice_or_statement_error_is_a_payload_error_of_the_tree(self, error: PayloadError) -> None:
        assert isinstance(error, PayloadError)
        assert isinstance(error, PactnetError)
        assert error.message == str(error)

    def test_each_carries_the_code_its_refusal_is_sent_with(self) -> None:
        assert FieldError("at: expected an instant").code == MALFORMED
        assert StatementError("not a statement").code == "bad-consent"
        assert PayloadError("body-too-large", "too large").code == "body-too-large"


class TestStatusOf:
    """Each kind of error has its HTTP status in one table, found by the nearest kind in the tree."""

    @pytest.mark.parametrize(
        ("error", "status"),
        [
            (UnauthorizedError("no token"), 401),
            (ForbiddenError("no duty"), 403),
            (NotFoundError("no report"), 404),
            (ConflictError("sent already"), 409),
            (InvalidInputError("no such level"), 422),
            (FieldError("to: expected a text"), 422),
            (StatementError("not a statement"), 422),
            (PolicyError("no such agreement"), 400),
        ],
    )
    def test_the_status_of_an_error_is_that_of_its_kind(self, error: PactnetError, status: int) -> None:
        assert status_of(error) == status

"""Sealed cursors: a position comes back only to the user, purpose and node it was sealed for."""

from __future__ import annotations

import pytest

from pactnet.crypto.keys import NodeKeys
from pactnet.services.cursors import LONGEST, BadCursorError, Cursors

KEYS = NodeKeys.generate()


class TestCursors:
    """Seal and open, and refuse anything else."""

    def test_a_position_opens_again_for_its_user(self) -> None:
        cursors = Cursors(KEYS, "events")
        for position in (0, 1, 41, 2**62):
            assert cursors.open(cursors.seal(position, 7), 7) == position

    def test_each_seal_is_fresh_and_no_longer_than_the_longest_accepted(self) -> None:
        cursors = Cursors(KEYS, "events")
        sealed = {cursors.seal(41, 7) for _ in range(20)}
        assert len(sealed) == 20
        assert all(len(one) <= LONGEST for one in sealed)

    def test_another_user_purpose_or_node_cannot_open_it(self) -> None:
        sealed = Cursors(KEYS, "events").seal(41, 7)
        for cursors, user in (
            (Cursors(KEYS, "events"), 8),
            (Cursors(KEYS, "reports"), 7),
            (Cursors(NodeKeys.generate(), "events"), 7),
        ):
            with pytest.raises(BadCursorError):
                cursors.open(sealed, user)

    def test_every_single_character_changed_is_refused(self) -> None:
        cursors = Cursors(KEYS, "events")
        sealed = cursors.seal(41, 7)
        for index in range(len(sealed)):
            changed = sealed[:index] + ("B" if sealed[index] != "B" else "C") + sealed[index + 1 :]
            with pytest.raises(BadCursorError):
                cursors.open(changed, 7)

"""The audit log as users and operators see it: pages of entries, verification, export, checkpoints."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pactnet.audit.export import EXPORT_FORMAT
from pactnet.audit.trust import first_key_on_record
from pactnet.services import redaction
from pactnet.store import audit_log
from pactnet.store.instants import instant_text

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

    from pactnet.audit.chain import Checkpoint, Verification, Witnessed
    from pactnet.services.context import Node
    from pactnet.services.users import User


def verify(node: Node, *, expect_key: str | None = None, witnessed: Sequence[Witnessed] = ()) -> Verification:
    """Check the whole log: chain, checkpoints, signed head; from the node's first key; against its witnesses.

    The log must begin with `expect_key` (a fingerprint: the key partners first trusted) when it is given,
    otherwise with the first key the node's folder records (pactnet.audit.trust). Reads only.
    """
    first_key = expect_key or first_key_on_record(node.config.folder, node.keys.public_signing)
    # One snapshot for the head, the entries and the checkpoints: on PostgreSQL's default READ COMMITTED,
    # entries appended while the log is read would look like entries added behind the node's back.
    with node.uow.read(snapshot=True) as connection:
        return audit_log.verify(connection, node.keys.public_signing, first_key=first_key, witnessed=witnessed)


def page(node: Node, user: User, after: int, limit: int, *, with_verification: bool = True) -> dict[str, Any]:
    """Entries after `after`, as the user may see them (services.redaction), and the verification of the log.

    Verifying reads every entry; a client paging through a long log declines it (`?verify=false`).
    """
    with node.uow.read() as connection:
        entries = redaction.entries_for(connection, user, list(audit_log.read_entries(connection, after, limit)))
    following = entries[-1]["seq"] if len(entries) == limit else None
    verification = verify(node).as_dict() if with_verification else None
    return {"entries": entries, "next_after": following, "verification": verification}


def last_checkpoint(node: Node) -> Checkpoint | None:
    """The newest signed checkpoint in the log, if any."""
    with node.uow.read() as connection:
        marks = audit_log.read_checkpoints(connection)
    return marks[-1] if marks else None


def checkpoint(node: Node) -> Checkpoint | None:
    """A signed checkpoint at the last entry, now."""
    with node.uow.transaction() as connection:
        return node.audit.checkpoint_now(connection, instant_text(node.now()))


def export(node: Node, out: TextIO) -> int:
    """Write the log as JSON Lines (docs/audit.md): a header, every entry, every checkpoint, the head."""
    from pactnet.crypto.keys import b64  # noqa: PLC0415 - only export needs it

    with node.uow.read() as connection:
        header = {"format": EXPORT_FORMAT, "party": node.party, "key": b64(node.keys.public_signing)}
        out.write(json.dumps({"header": header}, ensure_ascii=False) + "\n")
        count = 0
        for entry in audit_log.read_entries(connection):
            out.write(json.dumps({"entry": entry.as_dict()}, ensure_ascii=False) + "\n")
            count += 1
        out.writelines(
            json.dumps({"checkpoint": mark.as_dict()}) + "\n" for mark in audit_log.read_checkpoints(connection)
        )
        head = audit_log.read_head(connection)
        if head is not None:
            out.write(json.dumps({"head": head.as_dict()}) + "\n")
    return count

"""What if an agreement ended at an instant: the core's impact analysis over the world and this node's reports.

The routes between every pair of parties come from the world alone. The report flows are those of the reports
stored at this node that the asking user may read (need to know, GSOMIA art. 7): a user is never told, even
as a count, of an item above their clearance or outside their compartments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy import select

from pactnet.policy.impact import Impact, impact
from pactnet.services import NotFoundError
from pactnet.services.consents import held_item
from pactnet.services.roles import Duty
from pactnet.store.tables import reports

if TYPE_CHECKING:
    from datetime import datetime

    from pactnet.services.context import Node
    from pactnet.services.users import User


@dataclass(frozen=True, slots=True)
class WhatIf:
    """The impact, and how many of this node's reports it counted (None: the user may not read reports)."""

    impact: Impact
    counted: int | None
    titles: dict[str, str]


# The newest readable reports counted: enough for a liaison officer's question, bounded for the page's sake.
MOST_REPORTS = 2000


def what_if(node: Node, user: User, pact_id: str, at: datetime) -> WhatIf:
    """Routes and flows at `at` as the world stands, and as if `pact_id` ended at `at`."""
    with node.uow.read() as connection:
        world = node.refresh(connection)
        if world.pact(pact_id) is None:
            raise NotFoundError(f"no agreement or arrangement {pact_id!r}")
        rows = []
        if user.may(Duty.READ):
            query = select(reports).where(reports.c.level_rank <= user.rank).order_by(reports.c.seq.desc())
            for row in connection.execute(query):
                if user.may_see(row.level_rank, row.compartments):
                    rows.append(row)
                    if len(rows) == MOST_REPORTS:
                        break
    items = {row.origin_id: held_item(node, row) for row in rows}
    titles = {row.origin_id: str(row.title) for row in rows}
    found = impact(replace(world, reports=items), pact_id, at)
    return WhatIf(found, len(items) if user.may(Duty.READ) else None, titles)

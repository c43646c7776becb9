"""The garbage collector of a serving process, set so that its pauses do not make a flash report wait.

A full collection walks every object the interpreter holds, and a node holds some 100 MB at rest (FastAPI, the
world, SQLAlchemy's caches): measured on the benchmark's sender, each took 70-130 ms with every thread stopped,
about every ten seconds under load, and freed a few dozen objects. A flash report that met one was late by that
much. So the objects that exist once the node has started are moved out of the collector's sight (`gc.freeze`:
they live as long as the process anyway); a full collection then walks only what was built since, 10-20 ms.
Only for `pactnet node serve`: a test process that froze each app it built would never free them.
"""

from __future__ import annotations

import gc


def settle_for_serving() -> None:
    """Collect once and freeze what is left; call once the node is open and its app built."""
    gc.collect()
    gc.freeze()

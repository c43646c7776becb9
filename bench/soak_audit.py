"""Tamper soak of the audit log: random tamperings of a real node's witnessed log; the share detected.

The engine of tests/integration/test_audit_soak.py (50 tamperings in CI), for as many as asked: ROK publishes,
rotates its key and publishes again (a checkpoint every 7 entries), JPN witnesses its log over loopback HTTP;
each tampering (edit a field, delete, reorder, renumber, insert, truncate the tail, cut back to a checkpoint,
copy an old checkpoint into the head, key-forged rewrites with an attacker's key) is made in a transaction on
ROK's database, verified there, and rolled back.

    .venv/bin/python bench/soak_audit.py --tamperings 1000 --seed 17

`--without-anchors` verifies as before issue 17 (no first key, no witnesses), to show what they catch. Exit
status 0 when every tampering was detected (or, with --without-anchors, whatever was found), 1 when one was
missed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the engine lives in the test suite
    sys.path.insert(0, str(ROOT))

from tests.databases import fresh_postgres_database  # noqa: E402
from tests.integration.audit_soak import is_untouched, soak, witnessed_node  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--tamperings", type=int, default=1000, help="tamperings to make (1000)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the tamperings (default: random, printed)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite", help="ROK's and JPN's")
    parser.add_argument("--reports", type=int, default=20, help="reports ROK publishes before and after its rotation")
    parser.add_argument("--without-anchors", action="store_true", help="verify without the first key and the witnesses")
    args = parser.parse_args(argv)
    if args.tamperings < 1 or args.reports < 1:
        parser.error("--tamperings and --reports must be positive")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pactnet-soak-audit-")))
        rok: str | None = None
        jpn: str | None = None
        if args.database == "postgresql":
            rok = stack.enter_context(fresh_postgres_database("pactnet_soak"))
            jpn = stack.enter_context(fresh_postgres_database("pactnet_soak"))
        target = stack.enter_context(witnessed_node(folder, rok, jpn, args.reports))
        head = target.witnessed[0].head
        entries = head.seq if head is not None else 0
        if args.without_anchors:
            target.first_key, target.witnessed = None, []  # as verification was before issue 17
        started = time.perf_counter()
        result = soak(target, args.tamperings, random.Random(seed))
        wall = time.perf_counter() - started
        untouched = is_untouched(target)
    print(f"seed={seed} database={args.database} tamperings={result.total} log={entries} entries (witnessed)")
    print(f"wall {wall:.1f} s ({1000 * wall / result.total:.1f} ms per tampering, verification included)")
    for name in sorted(result.made):
        print(f"  {name:34} {result.detected.get(name, 0):5} / {result.made[name]:5} detected")
    share = 100 * result.found / result.total
    print(f"detected: {result.found} / {result.total} = {share:.1f}%; log intact after the soak: {untouched}")
    for missed in result.missed[:20]:
        print(f"MISSED {missed}")
    return 0 if (args.without_anchors or not result.missed) and untouched else 1


if __name__ == "__main__":
    sys.exit(main())

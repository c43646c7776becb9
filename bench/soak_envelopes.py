"""Bad-envelope soak: every kind of lie a trusted partner can sign, many times over HTTP, each between two good ones.

The lies of tests/integration/test_hostile_envelopes.py (plaintext that is not JSON or not UTF-8, deep nesting,
huge integers, lone surrogates, NUL bytes, instants at the calendar's edges, all-zero and small-order ephemeral
keys), sealed with ROK's real keys to JPN, which is served on loopback. Each batch sent to
`POST /federation/v1/envelopes/batch` is [good, bad, good]; the soak counts, per kind, the batches answered
without a server error, the bad envelope refused with a signed refusal, nothing of it stored, and both
neighbours accepted. At the end JPN's audit log must verify.

    .venv/bin/python bench/soak_envelopes.py --rounds 50                          # SQLite
    .venv/bin/python bench/soak_envelopes.py --rounds 50 --database postgresql

Exit status 0 when every bad envelope was refused alone and every neighbour accepted, 1 otherwise, 2 on bad
arguments.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the lies live in the test suite
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from tests.databases import fresh_postgres_database  # noqa: E402
from tests.integration.conftest import Clock, LoopbackServer  # noqa: E402
from tests.integration.test_hostile_envelopes import LIES  # noqa: E402
from tests.integration.test_inbound import JULY, Pair, pair_of_nodes, transfer  # noqa: E402

from pactnet.services import audit  # noqa: E402


def soak_kind(pair: Pair, url: str, lie: str, rounds: int) -> Counter[str]:
    """`rounds` batches of [good, this lie, good]: what became of each."""
    seen: Counter[str] = Counter()
    with httpx.Client(base_url=url, timeout=120) as http:
        for _ in range(rounds):
            before = pair.stored()
            bad = LIES[lie](pair)
            batch = [pair.envelope(transfer()), bad, pair.envelope(transfer())]
            response = http.post("/federation/v1/envelopes/batch", json={"envelopes": batch})
            seen["batches"] += 1
            if response.status_code >= 500:  # noqa: PLR2004 - a server error
                seen["server errors"] += 1
                continue
            answers: list[dict[str, Any]] = response.json().get("answers", [])
            kinds = [pair.open_answer(answer["envelope"])["kind"] for answer in answers]
            seen["bad refused alone"] += kinds == ["receipt", "refusal", "receipt"]
            seen["neighbours stored"] += pair.stored() - before == 2  # noqa: PLR2004 - the two good envelopes
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=50, help="batches per kind of lie (50)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite", help="both nodes'")
    parser.add_argument("--only", choices=sorted(LIES), action="append", help="one kind of lie (repeatable)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be positive")
    kinds = args.only or sorted(LIES)
    logging.getLogger("pactnet").setLevel(logging.ERROR)  # a refusal warning per bad envelope says nothing new here
    failed = False
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pactnet-soak-envelopes-")))
        urls: list[str] = []
        if args.database == "postgresql":
            urls = [stack.enter_context(fresh_postgres_database("pactnet_soak")) for _ in range(2)]
        first = urls[0] if urls else f"sqlite:///{folder / 'rok.db'}"
        pair = stack.enter_context(
            contextmanager(pair_of_nodes)(folder, first, urls[1] if urls else None, "gsomia-2019", Clock(JULY))
        )
        url = stack.enter_context(LoopbackServer(pair.jpn))
        print(f"database={args.database} rounds={args.rounds} kinds={len(kinds)}")
        started = time.perf_counter()
        for lie in kinds:
            seen = soak_kind(pair, url, lie, args.rounds)
            ok = seen["bad refused alone"] == seen["neighbours stored"] == args.rounds and not seen["server errors"]
            failed |= not ok
            print(
                f"  {lie:<28} refused alone {seen['bad refused alone']:>4} / {args.rounds}"
                f"   neighbours stored {seen['neighbours stored']:>4} / {args.rounds}"
                f"   server errors {seen['server errors']}"
            )
        wall = time.perf_counter() - started
        intact = audit.verify(pair.jpn).intact
        total = args.rounds * len(kinds)
        print(f"wall {wall:.1f} s for {total} batches; JPN's audit log intact: {intact}")
        failed |= not intact
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

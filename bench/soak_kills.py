"""Soak run of kill -9 among senders, a hub and receivers during fan-out and relay, on SQLite or PostgreSQL.

The engine of tests/e2e/test_kill_soak.py (4 kills per database in CI), for as many kills as asked: ROK, USA and
JPN as `pactnet node serve` processes (on PostgreSQL with `--workers N`, each worker a dispatcher on the one
database), ROK publishing for USA and, relayed through the USA under TISA with ROK's consent, for JPN, while a
random process is killed with SIGKILL at a random moment. At the end it waits until no outbox row is pending
and counts, from the databases, what was lost and what was duplicated (tests/e2e/kill_soak.py says exactly what
is checked).

    .venv/bin/python bench/soak_kills.py --kills 500 --backend sqlite --seed 7
    .venv/bin/python bench/soak_kills.py --kills 500 --backend postgresql --workers 2 --seed 7

Exit status 0 when everything held, 1 when a problem was found (each is printed), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the engine lives in the test suite
    sys.path.insert(0, str(ROOT))

from tests.e2e.kill_soak import KillSoak  # noqa: E402


def _terminated(_signal: int, _frame: object) -> NoReturn:
    raise SystemExit(143)  # stop the nodes and drop the databases on the way out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=100, help="processes killed with SIGKILL, one a round (100)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite", help="the nodes' database")
    parser.add_argument("--workers", type=int, default=2, help="API workers a node, on PostgreSQL (2)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the kills (default: random)")
    parser.add_argument("--keep", action="store_true", help="keep the node folders; kept anyway after a problem")
    args = parser.parse_args(argv)
    if args.kills < 1 or not 1 <= args.workers <= 8:  # noqa: PLR2004 - the bound the help states
        parser.error("--kills must be positive and --workers between 1 and 8")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    signal.signal(signal.SIGTERM, _terminated)
    base = Path(tempfile.mkdtemp(prefix="pactnet-kills-"))
    soak = KillSoak(base, seed, args.backend, args.workers)
    keep = True
    try:
        figures = soak.run(args.kills)
        keep = args.keep or bool(figures.problems)
    finally:
        soak.keep_databases = keep
        soak.close()
        if keep:
            print(f"node folders kept in {base}")
            if args.backend == "postgresql":
                print("their databases kept:", " ".join(soak.urls.values()))
        else:
            shutil.rmtree(base, ignore_errors=True)
    print()
    print(figures.summary())
    return 1 if figures.problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Soak run of crash safety: kill -9 the sending node at random moments of a fan-out, many times over.

The same loop as tests/e2e/test_crash_safety.py (which runs 20 rounds in CI), for as many rounds as asked:
ROK, JPN and USA nodes as real `pactnet node serve` processes in a temporary folder; each round publishes at
ROK from a thread (batches and single reports) while ROK's dispatcher fans them out, kills ROK with SIGKILL at
a random moment (every third round a receiver too), and starts what was killed again. At the end it waits
until ROK's outbox has nothing pending and checks that every accepted report exists at ROK, that every report
at ROK reached JPN and USA exactly once, that every transfer shows `delivered`, and that every node's audit
log verifies.

    .venv/bin/python bench/soak_crash.py --iterations 200 --seed 7

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

from tests.e2e.test_crash_safety import LONGEST_DELAY, REPORTS_PER_ROUND, CrashLoop  # noqa: E402


def _terminated(_signal: int, _frame: object) -> NoReturn:
    raise SystemExit(143)  # stop the nodes and remove the folder on the way out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=200, help="rounds, each ending in a kill -9 (200)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the kill moments (default: random)")
    parser.add_argument(
        "--reports-per-round",
        type=int,
        default=REPORTS_PER_ROUND,
        help=f"reports published per round, at most ({REPORTS_PER_ROUND})",
    )
    parser.add_argument(
        "--longest-delay",
        type=float,
        default=LONGEST_DELAY,
        help=f"seconds from the start of a round to its kill, at most ({LONGEST_DELAY})",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the node folders (serve.log, node.db); kept anyway after a problem"
    )
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.reports_per_round < 1 or args.longest_delay < 0:
        parser.error("--iterations and --reports-per-round must be positive, --longest-delay not negative")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    signal.signal(signal.SIGTERM, _terminated)
    base = Path(tempfile.mkdtemp(prefix="pactnet-soak-"))
    loop = CrashLoop(
        base,
        seed,
        say=print,
        reports_per_round=args.reports_per_round,
        longest_delay=args.longest_delay,
    )
    keep = True  # also when the run itself fails: its serve.log files say why
    try:
        figures = loop.run(args.iterations)
        keep = args.keep or bool(figures.problems)
    finally:
        loop.close()
        if keep:
            print(f"node folders kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    print()
    print(figures.summary())
    return 1 if figures.problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the policy core on a generated world: load and validate, status lookups, and decisions."""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli

from machine import cpu_model
from pactnet.policy.decisions import decide
from pactnet.world import load_world

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pactnet.policy.lifecycle import History
    from pactnet.policy.model import Report, World

# The figures the issue asks for, on one core.
TARGET_DIRECT = 300_000
TARGET_RELAYED = 100_000
TARGET_LOAD_SECONDS = 2.0
TARGET_LOAD_MB = 500.0
# Questions are asked at instants in 2025-2026, when most generated agreements are in force.
WINDOW = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))

Question = tuple["Report", str, str, datetime]


@dataclass(slots=True)
class Workloads:
    """Inputs precomputed (and classified with decide) before anything is timed."""

    status: list[tuple[History, datetime]]
    direct: list[Question]
    relayed: list[Question]
    refused: list[Question]
    refusal_codes: Counter[str]


def rss_mb() -> float:
    """The peak resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pin_to_one_core(cpu: int | None) -> str:
    """The benchmark is one thread; optionally pin it to one CPU too. Returns how it runs."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return "one thread, not pinned"
    os.sched_setaffinity(0, {cpu})
    return f"one thread, pinned to CPU {cpu}"


def median_seconds(run: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    seconds, times, _ = median_wall_and_cpu(run, repeat)
    return seconds, times


def median_wall_and_cpu(run: Callable[[], object], repeat: int) -> tuple[float, list[float], float]:
    """Median wall-clock seconds, every wall-clock time, and median CPU seconds (steadier on a shared machine)."""
    times, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(times), times, statistics.median(cpus)


# -- loading ---------------------------------------------------------------------------------------------
def toml_parse_seconds(path: Path, repeat: int) -> float:
    """The TOML parsing alone, with the parser load_world uses."""
    text = path.read_text(encoding="utf-8")
    seconds, _ = median_seconds(lambda: tomli.loads(text), repeat)
    return seconds


def timed_load(path: Path) -> tuple[World, float, float]:
    """One load_world: the world, wall-clock seconds, and CPU seconds (steadier on a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    world = load_world(path)
    return world, time.perf_counter() - wall, time.process_time() - cpu


def measure_load(path: Path, repeat: int) -> tuple[World, dict[str, Any]]:
    """Time load_world (read, TOML, validate, replay) and measure its memory two ways."""
    gc.collect()
    rss_before = rss_mb()
    world, wall, cpu = timed_load(path)
    rss_after = rss_mb()  # the high-water mark of the first load, before anything else is built
    walls, cpus = [wall], [cpu]
    for _ in range(repeat - 1):
        del world
        gc.collect()
        world, wall, cpu = timed_load(path)
        walls.append(wall)
        cpus.append(cpu)
    del world
    gc.collect()
    toml_seconds = toml_parse_seconds(path, repeat)
    tracemalloc.start()
    world = load_world(path)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return world, {
        "file_mb": path.stat().st_size / 1e6,
        "seconds_median": statistics.median(walls),
        "seconds_all": walls,
        "cpu_seconds_median": statistics.median(cpus),
        "toml_parse_seconds_median": toml_seconds,
        "rss_peak_mb": rss_after,
        "rss_before_load_mb": rss_before,
        "rss_growth_mb": rss_after - rss_before,
        "tracemalloc_peak_mb": traced_peak / 2**20,
    }


# -- workloads -------------------------------------------------------------------------------------------
def instant(rng: random.Random, start: datetime, stop: datetime) -> datetime:
    return start + timedelta(seconds=rng.randrange(int((stop - start).total_seconds())))


def question_at(rng: random.Random, report: Report) -> datetime:
    start = WINDOW[0] if report.created is None else max(WINDOW[0], report.created)
    return instant(rng, start, max(WINDOW[1], start + timedelta(days=1)))


def build_workloads(world: World, samples: int, seed: int) -> Workloads:
    """Classify candidate questions with decide itself: allowed direct, allowed through a hub, refused."""
    rng = random.Random(seed)
    histories = [agreement.history for agreement in world.agreements.values()]
    status = [
        (rng.choice(histories), instant(rng, datetime(1990, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)))
        for _ in range(samples)
    ]
    reports = list(world.reports.values())
    partners: dict[str, list[str]] = {}
    for a, b in world.between:
        partners.setdefault(a, []).append(b)
    fellows: dict[str, list[str]] = {}
    for a, b in world.relays:
        fellows.setdefault(a, []).append(b)
    codes = sorted(world.parties)
    # Reports whose originator consented to a relay: per-item arrangements relay little else.
    consented = sorted({event.report for event in world.events if event.arrangement and event.report})
    direct: list[Question] = []
    relayed: list[Question] = []
    refused: list[Question] = []
    refusal_codes: Counter[str] = Counter()
    for _ in range(samples * 40):
        if len(direct) >= samples and len(relayed) >= samples and len(refused) >= samples:
            break
        pool = rng.choice((partners, fellows, fellows, None))
        relay_consent = pool is fellows and consented and rng.random() < 0.5  # noqa: PLR2004
        report = world.reports[rng.choice(consented)] if relay_consent else rng.choice(reports)
        holder = report.originator
        choices = pool.get(holder) if pool is not None else codes
        if not choices:
            continue
        recipient = rng.choice(choices)
        question = (report, holder, recipient, question_at(rng, report))
        decision = decide(world, *question)
        if not decision.allowed:
            if len(refused) < samples:
                refused.append(question)
                refusal_codes.update(reason.code.value for reason in decision.reasons)
        elif len(decision.route) == 2 and len(direct) < samples:  # noqa: PLR2004 - holder, recipient
            direct.append(question)
        elif len(decision.route) == 3 and len(relayed) < samples:  # noqa: PLR2004 - holder, hub, recipient
            relayed.append(question)
    return Workloads(status, direct, relayed, refused, refusal_codes)


def status_run(world: World, work: list[tuple[History, datetime]]) -> Callable[[], object]:
    del world

    def run() -> None:
        for history, at in work:
            history.status(at)

    return run


def decide_run(world: World, work: list[Question]) -> Callable[[], object]:
    def run() -> None:
        for report, holder, recipient, at in work:
            decide(world, report, holder, recipient, at)

    return run


def check_classes(world: World, work: Workloads) -> None:
    """The timed questions still get the answers they were chosen for (nothing cached a wrong one)."""
    for questions, allowed, route in ((work.direct, True, 2), (work.relayed, True, 3), (work.refused, False, 0)):
        for question in questions[:500]:
            decision = decide(world, *question)
            if decision.allowed is not allowed or (allowed and len(decision.route) != route):
                raise SystemExit(f"unstable decision for {question}: {decision}")


# -- reporting -------------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def print_table(results: dict[str, Any]) -> None:
    env, load = results["environment"], results["load"]
    print(f"pactnet policy benchmark - {results['world']}")
    print(
        f"  Python {env['python']} on {env['cpu']} ({env['nproc']} CPUs, {env['affinity']}); "
        f"{env['parties']} parties, {env['agreements']} agreements, {env['arrangements']} arrangements, "
        f"{env['events']} events, {env['reports']} reports"
    )
    print()
    print(f"{'measure':<36}{'median':>16}  {'target':>14}  verdict")
    print("-" * 80)
    load_ok = load["seconds_median"] < TARGET_LOAD_SECONDS
    print(f"{'load + validate (load_world)':<36}{load['seconds_median']:>14.2f} s  {'< 2 s':>14}  {verdict(load_ok)}")
    print(f"{'  fastest of the timed loads':<36}{min(load['seconds_all']):>14.2f} s")
    print(f"{'  CPU time (process_time), median':<36}{load['cpu_seconds_median']:>14.2f} s")
    print(f"{'  of which TOML parsing (tomli)':<36}{load['toml_parse_seconds_median']:>14.2f} s")
    rss_ok = load["rss_peak_mb"] < TARGET_LOAD_MB
    print(f"{'peak RSS after load':<36}{load['rss_peak_mb']:>13.0f} MB  {'< 500 MB':>14}  {verdict(rss_ok)}")
    print(f"{'  RSS before load (interpreter)':<36}{load['rss_before_load_mb']:>13.0f} MB")
    print(f"{'peak traced allocations (tracemalloc)':<36}{load['tracemalloc_peak_mb']:>13.0f} MB")
    for name, row in results["throughput"].items():
        target = {"direct decisions": TARGET_DIRECT, "relayed decisions": TARGET_RELAYED}.get(name)
        shown = f">= {target:,}/s" if target else ""
        judged = verdict(row["per_second"] >= target) if target else ""
        print(
            f"{name + ' per second':<36}{row['per_second']:>14,.0f}/s  {shown:>14}  {judged}"
            f"   ({row['count']:,} x {row['repeat']}, {row['microseconds_each']:.2f} us each, "
            f"best {row['best_per_second']:,.0f}/s, per CPU second {row['per_cpu_second']:,.0f}/s)"
        )
    print()
    codes = ", ".join(f"{code} {count}" for code, count in results["refusal_codes"].most_common())
    print(f"refusal reasons in the refusal workload: {codes}")


def profile(world: World, kind: str, work: Workloads, top: int) -> None:
    runs = {
        "status": status_run(world, work.status),
        "direct": decide_run(world, work.direct),
        "relayed": decide_run(world, work.relayed),
        "refused": decide_run(world, work.refused),
    }
    profiler = cProfile.Profile()
    if kind == "load":
        profiler.runcall(load_world, Path(world.source))
    else:
        profiler.runcall(runs[kind])
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--world", type=Path, default=Path(__file__).parent / "large-world.toml")
    parser.add_argument("--samples", type=int, default=20_000, help="questions per workload")
    parser.add_argument("--repeat", type=int, default=7, help="timed repetitions (the median is reported)")
    parser.add_argument("--load-repeat", type=int, default=3, help="timed loads (the median is reported)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", type=int, help="pin the benchmark to this CPU (default: not pinned)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument(
        "--profile",
        choices=("load", "status", "direct", "relayed", "refused"),
        help="after measuring, run cProfile on one workload and print the top functions",
    )
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    args = parser.parse_args(argv)
    if not args.world.exists():
        parser.error(f"no world at {args.world}; run bench/generate_world.py first")
    affinity = pin_to_one_core(args.cpu)
    world, load = measure_load(args.world, args.load_repeat)
    work = build_workloads(world, args.samples, args.seed)
    check_classes(world, work)
    throughput: dict[str, dict[str, float]] = {}
    for name, questions, run in (
        ("status() lookups", work.status, status_run(world, work.status)),
        ("direct decisions", work.direct, decide_run(world, work.direct)),
        ("relayed decisions", work.relayed, decide_run(world, work.relayed)),
        ("refusals", work.refused, decide_run(world, work.refused)),
    ):
        if not questions:
            raise SystemExit(f"the world yields no questions for {name}; generate a larger world")
        run()  # warm up: term schedules extend on demand, caches fill
        seconds, times, cpu_seconds = median_wall_and_cpu(run, args.repeat)
        throughput[name] = {
            "per_second": len(questions) / seconds,
            "per_cpu_second": len(questions) / cpu_seconds if cpu_seconds else float("inf"),
            "best_per_second": len(questions) / min(times),
            "microseconds_each": seconds / len(questions) * 1e6,
            "count": len(questions),
            "repeat": args.repeat,
        }
    results = {
        "world": str(args.world),
        "environment": {
            "python": platform.python_version(),
            "cpu": cpu_model(),
            "nproc": os.cpu_count(),
            "affinity": affinity,
            "parties": len(world.parties),
            "agreements": len(world.agreements),
            "arrangements": len(world.arrangements),
            "events": len(world.events),
            "reports": len(world.reports),
        },
        "load": load,
        "throughput": throughput,
        "refusal_codes": work.refusal_codes,
        "targets_met": {
            "load_seconds": load["seconds_median"] < TARGET_LOAD_SECONDS,
            "load_memory": load["rss_peak_mb"] < TARGET_LOAD_MB,
            "direct": throughput["direct decisions"]["per_second"] >= TARGET_DIRECT,
            "relayed": throughput["relayed decisions"]["per_second"] >= TARGET_RELAYED,
        },
    }
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        print_table(results)
    if args.profile:
        profile(world, args.profile, work, args.top)


if __name__ == "__main__":
    main()

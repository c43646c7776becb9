"""Benchmark TAXII 2.1 servers side by side: a pactnet node against OASIS's reference server medallion.

The same client (`taxii2-client`) and the same STIX 2.1 objects (made with `stix2`, bench/stix_corpus.py) for
each server: ingest (envelopes of 100, until every status is complete), read (pages of 100 through the whole
collection) and GET of an object by id (p50/p99) at 10,000 and at 100,000 objects. Run it with the benchmark's
own environment (bench/setup-taxii makes it): `bench/.venv-taxii/bin/python bench/bench_taxii.py`. bench/README.md
says what each figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import stix_corpus
import taxii_measure
import taxii_servers
from machine import cpu_model, source_state

if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager

OUT = Path(__file__).resolve().parent / "out"
PY_SPY = Path(sys.executable).parent / "py-spy"
# Issue 15's targets: pactnet against medallion, and GET by id in absolute terms.
TARGET_INGEST_RATIO = 5.0
TARGET_READ_RATIO = 100.0
TARGET_GET_P50_MS = 5.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--servers", default="medallion,pactnet", help="launch and measure these (medallion, pactnet)")
    parser.add_argument("--discovery", help="measure a running server instead: its discovery URL")
    parser.add_argument("--user", default="bench", help="with --discovery: the user name (HTTP Basic)")
    parser.add_argument(
        "--password", default=os.environ.get("TAXII_PASSWORD"), help="with --discovery (or TAXII_PASSWORD)"
    )
    parser.add_argument("--write-title", help="the collection to post to (default: the first writable one)")
    parser.add_argument("--read-title", help="the collection to read (default: the one posted to)")
    parser.add_argument("--pactnet-write-title", default="ROK publish", help="pactnet's writable collection, by title")
    parser.add_argument("--pactnet-read-title", default="ROK own", help="pactnet's collection to read, by title")
    parser.add_argument("--objects", type=int, default=10_000, help="objects posted and read (10,000)")
    parser.add_argument("--large", type=int, default=100_000, help="objects for the second GET by id figure; 0: skip")
    parser.add_argument("--runs", type=int, default=3, help="runs at --objects, each on a fresh server (3)")
    parser.add_argument("--medallion-read-runs", type=int, default=1, help="runs whose read medallion does (slow)")
    parser.add_argument("--envelope", type=int, default=100, help="objects per envelope posted (100)")
    parser.add_argument("--large-envelope", type=int, default=100, help="objects per envelope to reach --large")
    parser.add_argument("--page", type=int, default=100, help="objects per page read (100)")
    parser.add_argument("--get-seconds", type=float, default=30.0, help="time for GET by id, per server and size")
    parser.add_argument("--get-min", type=int, default=20, help="GETs done whatever the time (20)")
    parser.add_argument("--large-get-min", type=int, default=10, help="the same at --large objects (10)")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--profile", default="", help="py-spy the pactnet node in phases: ingest,read,get,large")
    parser.add_argument(
        "--profile-gil", action="store_true", help="with --profile: sample only the thread holding the GIL (CPU)"
    )
    parser.add_argument("--workdir", type=Path, help="keep server folders and logs here")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--combine", type=Path, nargs="+", help="measure nothing: the table of runs saved before (JSON or logs)"
    )
    return parser.parse_args(argv)


def corpus(count: int, seed: int) -> stix_corpus.Corpus:
    """The corpus of `count` objects, cached in bench/out/ (made with stix2: ~4 s of CPU per 10,000).

    The cache is named after the generator's source too: objects made before a change of it (a marking's id, say)
    are made again, not posted stale.
    """
    maker = hashlib.sha256(Path(stix_corpus.__file__).read_bytes()).hexdigest()[:12]
    path = OUT / f"stix-{seed}-{count}-{maker}.json"
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        return stix_corpus.Corpus(saved["objects"], saved["markings"])
    made = stix_corpus.generate(count, seed)
    OUT.mkdir(exist_ok=True)
    path.write_text(json.dumps({"objects": made.objects, "markings": made.markings}), encoding="utf-8")
    return made


@contextlib.contextmanager
def profiled(
    target: taxii_servers.Target, phase: str, wanted: set[str], workdir: Path, gil: bool = False
) -> Iterator[None]:
    """py-spy the server during a phase (raw collapsed stacks, then a summary by bench/taxii_profile.py).

    With `gil`, only the thread holding the GIL is sampled: where the CPU goes, without the threads that wait.
    """
    if phase not in wanted or target.name != "pactnet" or target.process is None:
        yield
        return
    path = OUT / f"pyspy-{target.name}-{phase}-{datetime.now(UTC):%Y%m%dT%H%M%S}.txt"
    command = [str(PY_SPY), "record", "--pid", str(target.process.pid), "--format", "raw", "--rate", "250"]
    command += ["--gil"] if gil else []
    with (workdir / f"py-spy-{phase}.log").open("wb") as sink:
        spy = subprocess.Popen([*command, "--output", str(path)], stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
        print(f"py-spy of {target.name} {phase}: {path}", file=sys.stderr)


def launch(
    name: str, args: argparse.Namespace, workdir: Path, preload: list[Any] | None = None
) -> AbstractContextManager[taxii_servers.Target]:
    """A fresh server of that name, or the running one given by --discovery."""
    if args.discovery:
        target = taxii_servers.Target(
            name, args.discovery, args.user, args.password or "", args.write_title, args.read_title
        )
        return contextlib.nullcontext(target)
    if name == "medallion":
        return taxii_servers.medallion(workdir, preload)
    if name == "pactnet":
        return taxii_servers.pactnet(workdir, args.pactnet_write_title, args.pactnet_read_title)
    raise SystemExit(f"--servers: unknown server {name!r} (medallion, pactnet)")


def one_run(name: str, run: int, data: stix_corpus.Corpus, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Ingest, read and GET by id on a fresh server holding `data`."""
    wanted = set(args.profile.split(",")) - {""}
    ids = {obj["id"] for obj in data.objects}
    out: dict[str, Any] = {"server": name, "run": run, "objects": len(data.objects)}
    with launch(name, args, workdir) as target:
        write, read = taxii_measure.collections_of(target)
        with profiled(target, "ingest", wanted, workdir, args.profile_gil):
            out["ingest"] = taxii_measure.ingest(target, write, data.envelopes(args.envelope), ids).as_dict()
        if name != "medallion" or run < args.medallion_read_runs:
            with profiled(target, "read", wanted, workdir, args.profile_gil):
                out["read"] = taxii_measure.read(target, read, args.page, ids).as_dict()
        with profiled(target, "get", wanted, workdir, args.profile_gil):
            get = taxii_measure.get_by_id(target, read, sorted(ids), args.get_seconds, args.get_min)
        out["get"] = get.as_dict()
        out["rss_mb"] = round(target.rss_mb(), 1)
    return out


def large(name: str, data: stix_corpus.Corpus, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """GET by id with `--large` objects held: medallion is given them at start (posting them would take hours)."""
    ids = {obj["id"] for obj in data.objects}
    out: dict[str, Any] = {"server": name, "objects": len(data.objects)}
    preload = [*data.markings.values(), *data.objects] if name == "medallion" else None
    with launch(name, args, workdir, preload) as target:
        write, read = taxii_measure.collections_of(target)
        if name == "medallion":
            out["loaded"] = "from the memory backend's data file"
        else:
            with profiled(target, "large", set(args.profile.split(",")), workdir, args.profile_gil):
                envelopes = data.envelopes(args.large_envelope)
                out["ingest"] = taxii_measure.ingest(target, write, envelopes, ids).as_dict()
        get = taxii_measure.get_by_id(target, read, sorted(ids), args.get_seconds, args.large_get_min)
        out["get"] = get.as_dict()
        out["rss_mb"] = round(target.rss_mb(), 1)
    return out


def median_of(runs: list[dict[str, Any]], phase: str, key: str) -> float | None:
    values = [run[phase][key] for run in runs if phase in run and key in run[phase]]
    return statistics.median(values) if values else None


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """Medians per server, the ratios pactnet / medallion, and the verdict on each target."""
    per: dict[str, dict[str, Any]] = {}
    for name in results["servers"]:
        runs = [run for run in results["runs"] if run["server"] == name]
        big: dict[str, Any] = next((one for one in results["large"] if one["server"] == name), {})
        per[name] = {
            "ingest_per_second": median_of(runs, "ingest", "objects_per_second"),
            "read_per_second": median_of(runs, "read", "objects_per_second"),
            "ingest_per_cpu_second": median_of(runs, "ingest", "objects_per_server_cpu_second"),
            "read_per_cpu_second": median_of(runs, "read", "objects_per_server_cpu_second"),
            "get_p50_ms": median_of(runs, "get", "p50_ms"),
            "get_p99_ms": median_of(runs, "get", "p99_ms"),
            "large_get_p50_ms": big.get("get", {}).get("p50_ms"),
            "large_get_p99_ms": big.get("get", {}).get("p99_ms"),
        }
    out: dict[str, Any] = {"medians": per}
    pact, med = per.get("pactnet"), per.get("medallion")
    if pact and med:
        out["ratios"] = {
            key: round(pact[key] / med[key], 2) if pact[key] and med[key] else None
            for key in ("ingest_per_second", "read_per_second", "ingest_per_cpu_second", "read_per_cpu_second")
        }
    if pact:
        out["verdicts"] = verdicts(pact, out.get("ratios", {}))
    return out


def verdicts(pact: dict[str, Any], ratios: dict[str, Any]) -> dict[str, str]:
    def check(value: float | None, ok: bool) -> str:
        return "not measured" if value is None else ("meets target" if ok else "MISSES target")

    ingest, reading = ratios.get("ingest_per_second"), ratios.get("read_per_second")
    p50, big = pact["get_p50_ms"], pact["large_get_p50_ms"]
    return {
        "ingest >= 5x medallion": check(ingest, (ingest or 0) >= TARGET_INGEST_RATIO),
        "read >= 100x medallion": check(reading, (reading or 0) >= TARGET_READ_RATIO),
        "GET p50 <= 5 ms at 10,000": check(p50, (p50 or 1e9) <= TARGET_GET_P50_MS),
        "GET p50 <= 5 ms at 100,000": check(big, (big or 1e9) <= TARGET_GET_P50_MS),
        "no slower at 100,000": check(big, (big or 1e9) <= (p50 or 0) * 1.1),
    }


def render(results: dict[str, Any]) -> str:
    lines = [f"machine: {results['machine']}", f"source: {results['source']}", ""]
    lines.append(f"{'figure (median of runs)':<34}" + "".join(f"{name:>14}" for name in results["servers"]))
    rows = (
        ("ingest objects/s", "ingest_per_second"),
        ("read objects/s", "read_per_second"),
        ("ingest objects/server CPU s", "ingest_per_cpu_second"),
        ("read objects/server CPU s", "read_per_cpu_second"),
        (f"GET by id p50 ms ({results['objects']:,})", "get_p50_ms"),
        (f"GET by id p99 ms ({results['objects']:,})", "get_p99_ms"),
        (f"GET by id p50 ms ({results['large_objects']:,})", "large_get_p50_ms"),
        (f"GET by id p99 ms ({results['large_objects']:,})", "large_get_p99_ms"),
    )
    medians = results["summary"]["medians"]
    for label, key in rows:
        cells = [medians[name][key] for name in results["servers"]]
        lines.append(f"{label:<34}" + "".join(f"{'-' if v is None else f'{v:,.1f}':>14}" for v in cells))
    for key, value in results["summary"].get("ratios", {}).items():
        lines.append(f"ratio pactnet/medallion {key}: {value}")
    lines.extend(f"{key}: {value}" for key, value in results["summary"].get("verdicts", {}).items())
    problems = [
        (one["server"], phase)
        for one in results["runs"] + results["large"]
        for phase in ("ingest", "read", "get")
        if one.get(phase, {}).get("problem_count")
    ]
    lines.extend(f"PROBLEMS in {server} {phase}: see the JSON" for server, phase in problems)
    return "\n".join(lines)


def combined(paths: list[Path]) -> dict[str, Any]:
    """Results from earlier invocations: their saved JSON, or the one-line JSON per run they log on stderr."""
    results: dict[str, Any] = {"servers": [], "runs": [], "large": [], "objects": 0, "large_objects": 0}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        lines = [json.loads(line) for line in text.splitlines() if line.startswith('{"server"')]
        saved = [] if lines else [json.loads(text)]
        for one in lines + [run for past in saved for run in past["runs"] + past["large"]]:
            kind = "runs" if "run" in one else "large"
            results[kind].append(one)
            key = "objects" if kind == "runs" else "large_objects"
            results[key] = max(results[key], one["objects"])
            if one["server"] not in results["servers"]:
                results["servers"].append(one["server"])
    results["servers"].sort(key=lambda name: name != "medallion")
    results["machine"] = f"as the runs combined ({', '.join(path.name for path in paths)})"
    results["source"] = "as the runs combined"
    results["summary"] = summary(results)
    return results


def _stop(signum: int, _frame: object) -> None:
    """SIGTERM as Ctrl-C: the `finally` blocks stop every server this run started."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.combine:
        together = combined(args.combine)
        print(json.dumps(together, indent=1, ensure_ascii=False) if args.json else render(together))
        return 0
    signal.signal(signal.SIGTERM, _stop)
    names = ["target"] if args.discovery else [one.strip() for one in args.servers.split(",") if one.strip()]
    full = corpus(max(args.objects, args.large), args.seed)
    small = stix_corpus.Corpus(full.objects[: args.objects], full.markings)
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()}, nproc {os.cpu_count()}, {cpu_model()}, Python {platform.python_version()}",
        "source": source_state(),
        "servers": names,
        "objects": args.objects,
        "large_objects": args.large,
        "load_at_start": os.getloadavg(),
        "runs": [],
        "large": [],
    }
    with tempfile.TemporaryDirectory(prefix="taxii-bench-") as scratch:
        root = args.workdir or Path(scratch)
        for run in range(args.runs):
            order = names if run % 2 == 0 else names[::-1]  # alternate who goes first: the machine drifts
            for name in order:
                workdir = root / f"{name}-{run}"
                workdir.mkdir(parents=True, exist_ok=True)
                results["runs"].append(one_run(name, run, small, args, workdir))
                print(json.dumps(results["runs"][-1]), file=sys.stderr)
        if args.large:
            for name in names:
                workdir = root / f"{name}-large"
                workdir.mkdir(parents=True, exist_ok=True)
                results["large"].append(
                    large(name, stix_corpus.Corpus(full.objects[: args.large], full.markings), args, workdir)
                )
                print(json.dumps(results["large"][-1]), file=sys.stderr)
    results["load_at_end"] = os.getloadavg()
    results["summary"] = summary(results)
    OUT.mkdir(exist_ok=True)
    saved = OUT / f"taxii-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    saved.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(results, indent=1, ensure_ascii=False) if args.json else render(results))
    print(f"saved: {saved}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

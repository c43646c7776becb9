"""Where a py-spy recording says a server's time went: the top frames by own and by inclusive samples.

`bench_taxii.py --profile ingest,read,get,large` records the pactnet node with `py-spy record --format raw`
(one line per distinct stack: `frame;frame;...;leaf COUNT`, idle threads left out). This prints a summary:

    bench/.venv-taxii/bin/python bench/taxii_profile.py bench/out/pyspy-pactnet-ingest-*.txt --top 25
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# A frame as py-spy writes it: "function (path/to/file.py:123)"; the line number is dropped to group a function.
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


def function_of(frame: str) -> str:
    """`function (file)` with the path shortened after site-packages/ or src/, and no line number."""
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['function']} ({path})"


def summarise(path: Path, top: int, prefix: str) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [function_of(frame) for frame in stack.split(";")]
        frames = [frame for frame in frames if not frame.startswith(("process ", "thread "))]
        total += count
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            if frame.startswith(prefix):
                inclusive[frame] += count
    lines = [f"{path.name}: {total} samples (active threads only)", "", "own time (leaf frames):"]
    lines.extend(f"{100 * n / total:6.1f} %  {frame}" for frame, n in own.most_common(top))
    lines.extend(["", f"inclusive time (frames starting {prefix!r}):" if prefix else "inclusive time:"])
    lines.extend(f"{100 * n / total:6.1f} %  {frame}" for frame, n in inclusive.most_common(top))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("paths", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--prefix", default="", help="inclusive list: only functions whose text starts so")
    args = parser.parse_args()
    for path in args.paths:
        print(summarise(path, args.top, args.prefix), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

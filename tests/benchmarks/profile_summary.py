"""Summarise py-spy's collapsed stacks (`MTI_BENCH_PROFILE=dir make bench`): the functions
with the most samples on the stack (inclusive) and at its top (self), as shares of all samples.

    python -m tests.benchmarks.profile_summary profiles/worker-1234.txt [--top 40] [--grep x]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def summarise(path: Path, top: int, grep: str | None) -> None:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():  # a frame name py-spy split over lines
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    print(f"{path.name}: {total} samples")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"-- {title}")
        shown = 0
        for frame, samples in counter.most_common():
            if grep and grep not in frame:
                continue
            print(f"{100 * samples / max(1, total):5.1f}%  {frame}")
            shown += 1
            if shown >= top:
                break


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--grep")
    arguments = parser.parse_args()
    summarise(arguments.profile, arguments.top, arguments.grep)

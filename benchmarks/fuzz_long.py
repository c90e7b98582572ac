"""The fuzz suite (tests/hostile/test_fuzz.py) for longer: fresh random seeds until the time is up.

    python benchmarks/fuzz_long.py --minutes 30 [--examples 500]

Each round runs the suite with ``REVLENS_FUZZ_EXAMPLES`` examples per property and a new
Hypothesis seed (``REVLENS_FUZZ_RANDOM=1``: not the CI's fixed examples). A failure stops the
run and prints Hypothesis's shrunk example; the summary gives rounds, examples and the load
average (``os.getloadavg()``) at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to fuzz (default 30)")
    parser.add_argument("--examples", type=int, default=300, help="examples per property per round (default 300)")
    args = parser.parse_args()
    deadline = time.monotonic() + args.minutes * 60
    load_start = os.getloadavg()
    rounds = 0
    while time.monotonic() < deadline:
        seed = random.SystemRandom().randrange(2**32)
        env = {**os.environ, "REVLENS_FUZZ_EXAMPLES": str(args.examples), "REVLENS_FUZZ_RANDOM": "1"}
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-x",
            f"--hypothesis-seed={seed}",
            "tests/hostile/test_fuzz.py",
        ]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=env)
        rounds += 1
        print(f"round {rounds}: seed {seed}, {time.perf_counter() - started:.0f} s, status {result.returncode}")
        if result.returncode != 0:
            print(f"FAILED at seed {seed}; rerun: REVLENS_FUZZ_RANDOM=1 pytest --hypothesis-seed={seed} tests/hostile")
            return 1
    load_end = os.getloadavg()
    print(
        f"{rounds} rounds x {args.examples} examples per property in {args.minutes:g} min, no failure; "
        f"load average {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

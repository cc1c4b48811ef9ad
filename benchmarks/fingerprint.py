"""Fingerprints of what every named scenario and preset produces, to show a refactor changed
nothing a user sees.

For each scenario and preset and seeds 1-3 it runs `minerals run` (the installed command, so
the check does not depend on the code's inner layout) and hashes the quarterly table, the agent
table and the event feed's (quarter, text) lines. `--write FILE` saves the fingerprints;
`--check FILE` compares with a saved set and lists every difference (exit 1 if any).

    python benchmarks/fingerprint.py --write /tmp/before.json   # on the old commit
    python benchmarks/fingerprint.py --check /tmp/before.json   # on the new one
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SEEDS = (1, 2, 3)
ROOT = Path(__file__).resolve().parents[1]


def names() -> list[str]:
    folder = ROOT / "market" / "scenarios"
    return [p.stem for p in sorted(folder.glob("*.toml"))] + [
        p.stem for p in sorted((folder / "presets").glob("*.toml"))
    ]


def fingerprint(name: str, seed: int, tmp: Path) -> dict[str, str]:
    out = tmp / f"{name}-{seed}"
    command = Path(sys.executable).with_name("minerals")
    subprocess.run(
        [str(command), "run", "--scenario", name, "--seed", str(seed), "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    summary = json.loads((out / "summary.json").read_text())
    feed = json.dumps([[e["quarter"], e["text"]] for e in summary["events"]])
    return {
        "timeseries": hashlib.sha256((out / "timeseries.csv").read_bytes()).hexdigest(),
        "agents": hashlib.sha256((out / "agents.csv").read_bytes()).hexdigest(),
        "feed": hashlib.sha256(feed.encode()).hexdigest(),
    }


def collect(jobs: int) -> dict[str, dict[str, str]]:
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(jobs) as pool:
        keys = [(n, s) for n in names() for s in SEEDS]
        prints = pool.map(lambda k: fingerprint(*k, Path(tmp)), keys)
        return {f"{n}/seed{s}": p for (n, s), p in zip(keys, prints, strict=True)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, metavar="FILE")
    group.add_argument("--check", type=Path, metavar="FILE")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    now = collect(args.jobs)
    if args.write:
        args.write.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"{len(now)} runs fingerprinted into {args.write}")
        return 0
    saved = json.loads(args.check.read_text())
    differ = [
        f"{key}: {part} differs"
        for key in sorted(set(saved) | set(now))
        for part in ("timeseries", "agents", "feed")
        if saved.get(key, {}).get(part) != now.get(key, {}).get(part)
    ]
    print("\n".join(differ) if differ else f"all {len(now)} runs identical: tables and feed")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

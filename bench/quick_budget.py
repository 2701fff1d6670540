"""Time every experiment's ``--quick`` config, one at a time, against a per-experiment budget.

Each experiment runs in its own subprocess (``python -m specinit reproduce <id> --quick``) with
``OMP_NUM_THREADS=1`` into a temporary folder; wall seconds come from the clock, CPU seconds
(user + system) from ``resource.getrusage(RUSAGE_CHILDREN)`` deltas.  Prints a Markdown table:
id, wall s, CPU s, budget s, within budget, findings (held / not held / not decided), and the
totals.  A report, not a test: it never fails on a slow run.

    PYTHONPATH=src python bench/quick_budget.py [ID ...]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Single-thread CPU seconds each quick config may take (sum 292 s, none over 45 s).
BUDGET = {
    "inr-depth": 22,
    "spectral-bias": 16,
    "bandwidth-1d": 24,
    "random-label": 14,
    "flat-minima": 35,
    "kernel-bias": 22,
    "hyperplanes": 18,
    "swim-1d": 16,
    "swim-mnist": 13,
    "oddsig-depth": 19,
    "oddsig-data": 26,
    "oddsig-sensitivity": 25,
    "oddsig-pinn": 20,
    "spectral-target": 22,
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _findings(folder: Path) -> str:
    path = folder / "results.json"
    if not path.is_file():
        return "failed"
    states = [f.get("holds") for f in json.loads(path.read_text()).get("findings", [])]
    held = sum(s is True for s in states)
    undecided = sum(s is None for s in states)
    return f"{held} / {len(states) - held - undecided} / {undecided}"


def main(ids: list[str]) -> None:
    """Run and time the quick configs of ``ids`` (default: every experiment in :data:`BUDGET`)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("SPECINIT_DATA", None)
    lines = [
        "| id | wall s | CPU s | budget s | within budget | findings (held / not / undecided) |",
        "|---|---|---|---|---|---|",
    ]
    total_wall = total_cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="quick-budget-") as tmp:
        for name in ids or list(BUDGET):
            out = Path(tmp) / name
            command = [sys.executable, "-m", "specinit", "reproduce", name, "--quick", "--out", str(out)]
            start, cpu0 = time.perf_counter(), _cpu()
            subprocess.run([*command, "--no-progress"], env=env, stdout=subprocess.DEVNULL, check=False)
            wall, cpu = time.perf_counter() - start, _cpu() - cpu0
            total_wall, total_cpu = total_wall + wall, total_cpu + cpu
            budget = BUDGET.get(name, float("nan"))
            ok = "yes" if cpu <= budget else "NO"
            lines.append(f"| {name} | {wall:.1f} | {cpu:.1f} | {budget:g} | {ok} | {_findings(out)} |")
            print(lines[-1], file=sys.stderr, flush=True)
    total_budget = sum(BUDGET.get(n, 0) for n in (ids or BUDGET))
    ok = "yes" if total_cpu <= total_budget else "NO"
    lines.append(f"| **total** | {total_wall:.1f} | {total_cpu:.1f} | {total_budget:g} | {ok} | |")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])

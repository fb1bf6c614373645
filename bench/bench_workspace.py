"""Benchmark: saving a 100 k-user workspace as one revision.

Usage::

    python -m bench.bench_workspace [--users 100000]

Team mode saves every step as a whole revision (written aside, switched in by one
rename; see ``core/workspace/revisions.py``). This times, on the sample shop of
``--users`` users over 90 days:

- ``save.first``: the first save, which writes every frame (events, features) and flushes
  them to the disk;
- ``save.step``: a later step (a clustering result), where the unchanged frames are hard
  links to the previous revision's files and only the change is written;
- ``load``: reading the workspace back (settings and frames);
- the disk used by the workspace after both saves, counting linked files once.

Target (the team deployment issue): a step's save of a 100 k-user workspace ≤ 1 s, so a
revision never costs a noticeable wait. Writes ``bench/workspace_results.json`` with the
machine and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.run_bench import machine

RESULTS_PATH = Path(__file__).resolve().parent / "workspace_results.json"
TARGETS = {"save.step": 1.0}


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def run(users: int) -> dict:
    """Time the saves and the load in a fresh workspace folder; return the figures."""
    from core.data.sample import generate_sample
    from core.workspace import actions
    from core.workspace.housekeeping import folder_bytes
    from core.workspace.store import Workspace

    with tempfile.TemporaryDirectory() as home:
        os.environ["PERSONA_LENS_HOME"] = home
        events = generate_sample(n_users=users, days=90, seed=42).events
        ws = Workspace()
        actions.load_sample_into(ws, events, users, 90, 42, save=False)
        first = _timed(ws.save)
        one = folder_bytes(ws.folder)
        labels = pd.DataFrame({"cluster": np.arange(len(ws.features)) % 6},
                              index=ws.features.index).astype({"cluster": str})
        ws.set_frame("clusters", labels)
        step = _timed(ws.save)
        both = folder_bytes(ws.folder)
        loaded = {}
        load = _timed(lambda: loaded.update(ws=Workspace.load(ws.id)))
        frames = _timed(lambda: (loaded["ws"].events, loaded["ws"].features))
        return {"users": users, "events": int(ws.data.events),
                "save.first": first, "save.step": step, "load": load + frames,
                "disk_after_first_mb": one / 2**20, "disk_after_step_mb": both / 2**20}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args(argv)
    figures = run(args.users)
    print(f"Workspace of {figures['users']:,} users, {figures['events']:,} events:")
    for name in ("save.first", "save.step", "load"):
        target = TARGETS.get(name)
        verdict = "" if target is None else (
            f"  target ≤ {target:g} s: {'PASS' if figures[name] <= target else 'FAIL'}")
        print(f"  {name:<11} {figures[name]:6.2f} s{verdict}")
    print(f"  disk: {figures['disk_after_first_mb']:.1f} MB after the first save, "
          f"{figures['disk_after_step_mb']:.1f} MB after the step (frames linked)")
    RESULTS_PATH.write_text(json.dumps({"machine": machine(), "load_average": os.getloadavg(),
                                        "targets": TARGETS, "results": figures}, indent=2))
    print(f"Wrote {RESULTS_PATH.name}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

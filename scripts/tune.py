"""Train the tuned study (conf/claims.yaml, tuning; conf/study/tuned.yaml) in its three declared
steps, each a sweep of scripts/train.py, each resumable like every sweep (a run with a record is
skipped):
  1. the selection grid: every rate x depth x activation x selection seed, scored on the
     validation images;
  2. one step beyond an edge of the grid, where an activation's best rate is the grid's lowest
     or highest (analysis/tuning.py, beyond_edge), then the rates are chosen again;
  3. the comparison: each activation at its chosen rate, on the fresh comparison seeds.

    python scripts/tune.py --profile cpu --records results/cpu/runs [--jobs 2] [OVERRIDES, e.g. DATA]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from rectifiers.activations import ACTIVATIONS, REFERENCE
from rectifiers.analysis import tuning
from rectifiers.experiment.records import load_summary, run_row
from rectifiers.files import CONF, ROOT

CONFIG_NAME = {a.label: a.config for a in ACTIVATIONS}  # tuned.csv's labels -> conf/activation/ names


def tuned_table(records: Path, profile: str) -> pd.DataFrame:
    """The rows (tuned.csv's) of the records in `records` that were scored on validation images."""
    rows = [run_row(s) for p in sorted(records.glob("*/summary.json")) for s in (load_summary(p),)
            if "val_size" in s["config"]["data"] and s["profile"] == profile]
    table = pd.DataFrame(rows)
    if len(table) and table.data_fingerprint.nunique() > 1:
        sys.exit(f"tune: the tuned records in {records}/ were made on {table.data_fingerprint.nunique()} datasets; "
                 "keep one dataset per record folder (make reproduce builds one per dataset)")
    return table


def comparison_seeds(profile: str, overrides: list[str]) -> int:
    from hydra import compose, initialize_config_dir
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["+study=tuned", f"profile={profile}", *overrides])
    return cfg.profile.tuned.comparison_seeds


def sweep(args, *overrides: str) -> None:
    """One sweep of the tuned study; a failed run stops here, as in `make train`."""
    cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), "-m", "+study=tuned", f"profile={args.profile}",
           *args.overrides, "runtime.threads=1", "runtime.progress=false", f"runtime.record_dir={args.records}",
           "hydra/launcher=joblib", f"hydra.launcher.n_jobs={args.jobs}", *overrides]
    print("tune:", " ".join(cmd[2:]), flush=True)
    if subprocess.run(cmd).returncode:
        sys.exit("tune: a run of the sweep above failed; its record says why. Fix it and run again "
                 "(finished runs are skipped)")


def chosen(args) -> pd.DataFrame:
    table = tuned_table(args.records, args.profile)
    if table.empty:
        sys.exit(f"tune: no tuned records in {args.records}/ after the selection grid")
    return tuning.choose(tuning.scores(table))


def by_rate(picks) -> list[tuple[tuple, list[str]]]:
    """[((depth, rate), activations)]: one sweep for the activations that share a rate at a depth,
    by depth, ReLU's sweep first (every comparison needs it: a study stopped early still compares)."""
    out: dict[tuple, list[str]] = {}
    for depth, act, lr in picks:
        out.setdefault((int(depth), float(lr)), []).append(CONFIG_NAME[act])
    return sorted(out.items(), key=lambda item: (item[0][0], CONFIG_NAME[REFERENCE] not in item[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--records", type=Path, required=True, help="where records go (runtime.record_dir)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("overrides", nargs="*", help="Hydra overrides for every run, e.g. the DATA of make train")
    args = ap.parse_args(argv)
    sweep(args)                                                        # 1. the selection grid
    for (depth, lr), acts in by_rate(tuning.beyond_edge(chosen(args))):
        sweep(args, f"model.depth={depth}", f"activation={','.join(acts)}", f"optim.lr={lr:g}")  # 2.
    picks = chosen(args)
    print("tune: chosen rates\n" + picks.to_string(index=False), flush=True)
    n = comparison_seeds(args.profile, args.overrides)
    for (depth, lr), acts in by_rate(zip(picks.depth, picks.act, picks.lr)):  # 3. the comparison
        sweep(args, f"model.depth={depth}", f"activation={','.join(acts)}", f"optim.lr={lr:g}",
              f"seed=range(10,{10 + n})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Verdict stability: a seed bootstrap of the committed runs (rectifiers.analysis.stability).
Within each (scale, cell) the seeds are resampled with replacement, every activation of a
drawn seed kept with it, and the claim rules applied to each resample. Descriptive, not a
test: it says how much each verdict owes to the seeds that were drawn. Two views: the
five-seed study (seeds 0-4, before the extension of conf/claims.yaml) and every seed.

    python scripts/stability.py --results results/cpu --out results/cpu/stability.csv
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rectifiers.analysis import results, stability


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, default=Path("results/cpu"))
    ap.add_argument("--out", type=Path, help="CSV to write (default: <results>/stability.csv)")
    ap.add_argument("--resamples", type=int, default=stability.RESAMPLES)
    args = ap.parse_args(argv)
    try:
        t = results.load(args.results, "epochs").tidy()
    except results.ResultsError as e:
        print(f"stability: {e}", file=sys.stderr)
        return 1
    out = args.out or args.results / "stability.csv"
    tab = stability.table(t, args.resamples)
    tab.round(4).to_csv(out, index=False)
    print(tab.to_string(index=False))
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The smoke chain's time bound, kept out of the test suite so that a loaded machine cannot fail
`make test`: `make reproduce PROFILE=smoke` in a fresh clone must finish within --limit seconds.

    python scripts/smoke_time.py [--limit 300]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FROM_SCRATCH = ("results/smoke", "paper/generated", "paper/main.pdf")  # made by the chain, not taken from git


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=float, default=300, help="seconds")
    args = ap.parse_args(argv)
    venv = ROOT / ".venv"
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        for generated in map(repo.joinpath, FROM_SCRATCH):
            shutil.rmtree(generated, ignore_errors=True) if generated.is_dir() else generated.unlink(missing_ok=True)
        t = time.perf_counter()
        done = subprocess.run(["make", "reproduce", "PROFILE=smoke", f"VENV={venv}", "-o", f"{venv}/.installed"],
                              cwd=repo, env={**os.environ, "PYTHONPATH": str(repo / "src")},
                              stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t
    verdict = "failed" if done.returncode else ("over the limit" if seconds > args.limit else "within the limit")
    print(f"make reproduce PROFILE=smoke: {seconds:.0f} s, {verdict} ({args.limit:.0f} s, {os.cpu_count()} cores)")
    return 1 if done.returncode or seconds > args.limit else 0


if __name__ == "__main__":
    sys.exit(main())

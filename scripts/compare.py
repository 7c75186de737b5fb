"""Reproductions: where one lives, and what agrees between it and the committed results
(docs/design.md section 9).

    python scripts/compare.py locate --profile cpu [--fresh] [--sample K] [--name NAME] [DATA overrides]
    python scripts/compare.py report --reproduction reproductions/<name>

`locate` (the first step of `make reproduce`) checks the data DATA selects and prints where the
chain builds: nothing for the committed tree (the committed data, its committed records, no
FRESH), otherwise the name of a folder of reproductions/ (`<profile>-<source>-<fingerprint>`),
which it claims with a reproduction.json. A folder made on other data is refused; an
interrupted one is continued. The decision is rectifiers.experiment.locate.

`report` (`make compare`, the last step of a reproduction) writes reproductions/<name>/report.md
and compare.pdf/png: the claims' verdicts, the paper's headline means with the reproduction's
95% intervals, the runs of the same configuration in both (status and collapse flips, accuracy
differences) and the machines and libraries of both; its last lines say what agreed and what did
not. The counting is rectifiers.render.reproduction (tests/test_compare.py checks it by
hand), the text and figure rectifiers.render.reproduction_report.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rectifiers.analysis import claims, results
from rectifiers.experiment import data
from rectifiers.experiment.config import ConfigError, cell_of
from rectifiers.experiment.locate import MANIFEST, Refused, check_sample, locate, read_json
from rectifiers.files import write_atomic
from rectifiers.render import reproduction_report
from rectifiers.studies import STUDIES_BY_SCALE

log = logging.getLogger("rectifiers")


def read_side(results_dir: Path) -> reproduction_report.Side | None:
    """What the report reads of one results folder; None where it holds no study (cell_of, the
    run's configuration without the data, needs the config checks of experiment/)."""
    if not (results_dir / "study.json").exists():
        return None
    res = results.load(results_dir, "epochs")
    t = res.tidy()
    seeds = {s: int(t[t.scale == s].seed.nunique()) for s in STUDIES_BY_SCALE}
    summaries = []
    for rid in res.runs.run_id:
        p = results_dir / "runs" / rid / "summary.json"
        if p.exists():
            summaries.append(json.loads(p.read_text()))
    keys = {s["run_id"]: cell_of(s["config"]) for s in summaries}
    runs = t.assign(key=t.run_id.map(keys)).dropna(subset=["key"])
    runs = runs[["key", "run_id", "act", "seed", "scale", "status", "collapsed", "acc"]]
    verdicts = claims.decide(t, missing=res.study.get("missing", []))
    return reproduction_report.Side(results_dir, res, seeds, verdicts, runs, summaries)


def report(tree: Path, committed: Path) -> list[str]:
    """Write tree/report.md and tree/compare.pdf/png; mark the reproduction complete; its last lines."""
    manifest = read_json(tree / MANIFEST, "")
    if manifest is None:
        raise Refused(f"{tree}/ holds no {MANIFEST}: make reproduce makes a reproduction, make compare reports it")
    profile = manifest["profile"]
    r = read_side(tree / "results" / profile)
    if r is None:
        raise Refused(f"{tree}/results/{profile}/ has no study.json: the reproduction stopped before aggregation; "
                      "run the same make reproduce again to continue it")
    c = read_side(committed / profile)
    text, pairs = reproduction_report.report_text(manifest["name"], manifest, c, r)
    write_atomic(tree / "report.md", text)
    inputs = [d / f for d in ([r.dir] + ([c.dir] if c else [])) for f in ("study.json", "runs.csv")]
    reproduction_report.figure(pairs, tree, inputs, __file__)
    write_atomic(tree / MANIFEST, json.dumps({**manifest, "state": "complete"}, indent=1) + "\n")
    return text.rstrip("\n").split("\n")[-3:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    lo = sub.add_parser("locate", help="check the data and print where make reproduce builds")
    lo.add_argument("--profile", default="cpu")
    lo.add_argument("--fresh", action="store_true", help="retrain the committed configurations (FRESH=1)")
    lo.add_argument("--sample", type=int, help="seeds per cell (SAMPLE=k)")
    lo.add_argument("--sample-trained", type=int, help="seeds of the trained ResNet (SAMPLE_TRAINED=j; 0: none)")
    lo.add_argument("--name", help="the folder of reproductions/ (REPRO=name); default <profile>-<source>-<fp>")
    lo.add_argument("overrides", nargs="*", help="the DATA overrides")
    rp = sub.add_parser("report", help="write report.md and compare.pdf of a reproduction")
    rp.add_argument("--reproduction", type=Path, required=True, help="reproductions/<name>")
    rp.add_argument("--committed", type=Path, default=Path("results"))
    args = ap.parse_args(argv)
    logging.basicConfig(format="compare: %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)  # this project's messages; not every library's (fontTools at INFO)
    if args.command == "report":
        try:
            lines = report(args.reproduction, args.committed)
        except (Refused, results.ResultsError) as e:
            sys.exit(f"compare: {e}")
        print(f"{args.reproduction}/report.md:", *lines, sep="\n")
        return 0
    try:
        check_sample(args.profile, args.sample, args.sample_trained)
        place = locate(args.profile, args.overrides, fresh=args.fresh, sample=args.sample,
                       sample_trained=args.sample_trained, name=args.name)
    except (Refused, ConfigError, data.DataError) as e:
        sys.exit(f"reproduce: refused before any job started: {e}")
    if place.note:
        log.info(place.note)
    log.info("building %s", f"reproductions/{place.name}/ ({place.description}, fingerprint {place.fingerprint[:12]})"
             if place.name else f"the committed tree (results/{args.profile}/, figures/, paper/) from its records")
    print(place.name or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Rebuild results/<profile>/ from the run records committed under results/<profile>/runs/
(each finished run's config.yaml, summary.json, metrics.jsonl and layers.jsonl, copied there
by `make train`): runs.csv (one row per run), epochs.csv (per epoch), layers.csv (per layer
per measurement), study.json (knobs, levels, missing cells), calibration.csv (the
calibration and pilot runs) and tuned.csv (the tuned study's runs, scored on validation images).
The records are only read, never changed.

    python scripts/aggregate.py --profile cpu [OVERRIDES the study was trained with, e.g. model.width=4]

Results are rebuilt from the records of one dataset: the one the overrides select (DATA in
`make results`) if it is on this machine, else the one results/<profile>/ was built from.
aggregate refuses to replace results/<profile>/ with tables that would lose any of its runs, or
that were made on other data, unless --force is given; it says what would be lost.
"""
from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from rectifiers.experiment import data
from rectifiers.experiment.config import cell_of, identity
from rectifiers.experiment.records import load_summary, run_row
from rectifiers.experiment.study import study_runs
from rectifiers.files import CONF, write_atomic
from rectifiers.knobs import BY_KEY
from rectifiers.studies import CALIBRATION, SCALE_STUDIES, STUDIES

log = logging.getLogger("rectifiers")

def expected_cells(profile: str, overrides: list[str], studies=STUDIES) -> tuple[dict, dict]:
    """{identity-without-data: (study, cell)} for every cell of every study (the grid of
    rectifiers.experiment.study.study_runs), and each study's knob as study.json describes it."""
    cells, knobs = {}, {}
    for name, cell, run in study_runs(profile, studies, overrides):
        cells.setdefault(cell_of(identity(run, fingerprint="")), (name, cell))
        key = run.study.knob
        if name not in knobs:
            knobs[name] = {"key": key, "column": BY_KEY[key].column, "model": run.model.name,
                           "baseline": OmegaConf.select(baseline(profile, tuple(overrides), run.model.name), key),
                           "levels": [], "train_size": run.data.train_size, "epochs": run.optim.epochs}
        if cell[key] not in knobs[name]["levels"]:
            knobs[name]["levels"].append(cell[key])
    return cells, knobs


@functools.lru_cache
def baseline(profile: str, overrides: tuple[str, ...], model: str):
    """The run config of `model` without a study, where the knobs have their baseline values
    (composed once per model: composing is slow)."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=[f"profile={profile}", *(o for o in overrides if not o.startswith("hydra.")),
                                           f"model={model}"])


def write_if_changed(path: Path, text: str) -> None:
    """Keep the old file (and its mtime) when nothing changed, so `make` rebuilds nothing."""
    if not path.exists() or path.read_text() != text:
        write_atomic(path, text)


def read_record(d: Path) -> tuple[dict, list[dict], list[dict]]:
    """A record's summary, epochs and layer rows; ValueError or OSError if any is unreadable."""
    summary = load_summary(d / "summary.json")
    if summary["run_id"] != d.name:
        raise ValueError(f"its summary.json is of run {summary['run_id']}")
    rows = [[json.loads(line) for line in (d / f).read_text().splitlines()] for f in ("metrics.jsonl", "layers.jsonl")]
    return summary, *rows


def read_records(src: Path) -> dict[str, tuple]:
    """{run id: record} of every readable record; an unreadable one is named and left out."""
    records = {}
    for p in sorted(src.glob("*/summary.json")):
        try:
            records[p.parent.name] = read_record(p.parent)
        except (OSError, ValueError) as e:
            log.warning("unreadable record %s/ left out (%s: %s). Restore it (git checkout -- %s) or "
                        "train it again (make train)", p.parent, type(e).__name__, e, p.parent)
    return records


def read_ids(path: Path) -> set[str]:
    """The run ids in a results table, or none if it does not exist."""
    if not path.exists():
        return set()
    try:
        return set(pd.read_csv(path, usecols=["run_id"]).run_id)
    except pd.errors.EmptyDataError:
        return set()


def previous(out: Path) -> dict | None:
    """What results/<profile>/ holds now: its data and the ids of its runs (None if nothing).
    ValueError naming the file if one cannot be read."""
    def read(name, how):
        try:
            return how(out / name)
        except (OSError, ValueError, KeyError) as e:  # JSON and CSV errors are ValueErrors
            raise ValueError(f"{out / name} is unreadable ({type(e).__name__}: {e})") from None

    if not (out / "study.json").exists() and not (out / "runs.csv").exists():
        return None
    study = read("study.json", lambda p: json.loads(p.read_text()) if p.exists() else {})
    return {"fingerprint": study.get("data_fingerprint"), "description": study.get("data_description"),
            "runs": read("runs.csv", read_ids), "calibration": read("calibration.csv", read_ids),
            "tuned": read("tuned.csv", read_ids)}


def known_ids(summaries) -> set[str]:
    """The ids of these runs, and the ids they had before a change of identity re-keyed them."""
    return {i for s in summaries for i in (s["run_id"], s.get("previous_run_id")) if i}


def losses(old: dict | None, new: dict) -> list[str]:
    """What replacing the old results with the new ones would lose, in words ([] if nothing)."""
    if old is None:
        return []
    lost = []
    if old["fingerprint"] and old["fingerprint"] != new["fingerprint"]:
        lost.append(f"its data ({old['description']}, fingerprint {old['fingerprint'][:12]}) for other data "
                    f"({new['description']}, fingerprint {new['fingerprint'][:12]})")
    elif old["description"] and old["description"] != new["description"]:
        lost.append(f"its data description {old['description']!r} for {new['description']!r}")
    for table in ("runs", "calibration", "tuned"):
        gone = sorted(old[table] - new[table])
        if gone:
            lost.append(f"{len(gone)} of the {len(old[table])} runs in {table}.csv, e.g. {', '.join(gone[:3])}")
    return lost


def wanted_fingerprint(profile: str, overrides: list[str]) -> str | None:
    """The fingerprint of the data that the overrides select, if that data is on this machine
    (it is never downloaded here); None otherwise."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"profile={profile}", *(o for o in overrides if not o.startswith("hydra."))])
    if "download" in cfg.data:
        cfg.data.download = False
    try:
        return data.content_fingerprint(cfg.data)
    except data.DataError as e:
        if any(o.lstrip("+").startswith("data") for o in overrides):
            log.info("the data the overrides select is not here (%s)", str(e).split(". ")[0])
        return None


def choose_fingerprint(found: Counter, wanted: str | None, old: str | None) -> str:
    """Which dataset's records to aggregate: the wanted one, else the one of the present
    results, else the only one there is."""
    for fp in (wanted, old):
        if fp in found:
            return fp
    if len(found) == 1:
        return next(iter(found))
    sys.exit("aggregate: the records were made on " + ", ".join(f"{n} runs on data {fp[:12]}" for fp, n in
             found.most_common()) + "; give the DATA overrides of the dataset to aggregate")


def study_records(args, summaries: list[dict]) -> tuple[dict, dict, dict, list[dict], dict]:
    """The study's cells, knobs and scales, the records in them and those of the calibration
    ({cell key: (study, cell)}, knobs, scales, in-grid summaries, calibration cells)."""
    cells, knobs = expected_cells(args.profile, args.overrides)
    scale_cells, scales = expected_cells(args.profile, args.overrides, SCALE_STUDIES)
    calibration_cells = expected_cells(args.profile, args.overrides, CALIBRATION)[0]
    for key, where in scale_cells.items():
        cells.setdefault(key, where)
    in_grid = [s for s in summaries if cell_of(s["config"]) in cells]
    outside = [s["run_id"] for s in summaries if cell_of(s["config"]) not in cells.keys() | calibration_cells.keys()
               and not validated(s)]
    if outside:
        log.info("%d record(s) outside every study ignored, e.g. %s", len(outside), ", ".join(outside[:3]))
    if not in_grid:
        sys.exit(f"aggregate: none of the {len(summaries)} records under {args.out / args.profile / 'runs'}/ "
                 "belongs to a study")
    return cells, knobs, scales, in_grid, calibration_cells


def replaceable(args, out: Path, summaries, in_grid, calibration_cells) -> tuple[str, str, list, list]:
    """The dataset to aggregate (fingerprint, description), and its grid and calibration runs;
    exits, writing nothing, if replacing results/<profile>/ would lose runs (without --force)."""
    try:
        old = previous(out)
    except ValueError as e:
        if not args.force:
            sys.exit(f"aggregate: {e}. Restore it (git checkout -- {out}) or rebuild {out}/ from the records "
                     "alone: make results FORCE=1 (or scripts/aggregate.py --force)")
        old = None
    fp = choose_fingerprint(Counter(s["data_fingerprint"] for s in in_grid),
                            wanted_fingerprint(args.profile, args.overrides), old and old["fingerprint"])
    other = [s["run_id"] for s in summaries if s["data_fingerprint"] != fp]
    if other:
        log.info("%d record(s) made on other data left out, e.g. %s", len(other), ", ".join(other[:3]))
    in_grid = [s for s in in_grid if s["data_fingerprint"] == fp]
    calibration_runs = [s for s in summaries
                        if cell_of(s["config"]) in calibration_cells and s["data_fingerprint"] == fp]
    tuned_runs = [s for s in summaries if validated(s) and s["data_fingerprint"] == fp]
    descriptions = [s["data_description"] for s in in_grid]  # the same data may be reached by several paths
    description = old["description"] if old and old["description"] in descriptions else descriptions[0]
    lost = losses(old, {"fingerprint": fp, "description": description, "runs": known_ids(in_grid),
                        "calibration": known_ids(calibration_runs), "tuned": known_ids(tuned_runs)})
    if lost and not args.force:
        beside = (" To build the tables, figures and PDF of these runs beside the committed ones instead: make "
                  "reproduce with the same DATA (it builds in reproductions/)." if old["fingerprint"] != fp else "")
        sys.exit(f"aggregate: refusing to replace {out}/: that would lose " + "; ".join(lost) + ". Nothing was "
                 "written. To replace it anyway: make results FORCE=1 (or scripts/aggregate.py --force)." + beside)
    if lost:
        log.warning("--force: replacing %s/ loses %s", out, "; ".join(lost))
    return fp, description, in_grid, calibration_runs, tuned_runs


def validated(summary: dict) -> bool:
    """A run of the tuned study: scored on validation images (data.val_size)."""
    return "val_size" in summary["config"]["data"]


def write_tables(out: Path, records: dict, in_grid: list[dict], calibration_runs: list[dict],
                 tuned_runs: list[dict]) -> None:
    """runs.csv, epochs.csv, layers.csv, calibration.csv and tuned.csv of these runs."""
    runs, epochs, layers = [], [], []
    for s in in_grid:
        row = run_row(s)
        runs.append(row)
        keys = {k: row[k] for k in ("run_id", "model", "depth", "act", "lr", "batch_size", "init_bias", "seed",
                                    "status")}
        _, metrics, layer_rows = records[s["run_id"]]
        epochs += [{**keys, **r} for r in metrics]
        layers += [{**keys, **r} for r in layer_rows]
    calibration = [run_row(s) for s in calibration_runs]
    tuned = sorted((run_row(s) for s in tuned_runs), key=lambda r: r["run_id"])
    for name, rows in (("runs", runs), ("epochs", epochs), ("layers", layers), ("calibration", calibration),
                       ("tuned", tuned)):
        write_if_changed(out / f"{name}.csv", pd.DataFrame(rows).to_csv(index=False) if rows else "run_id\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--out", type=Path, default=Path("results"))
    ap.add_argument("--force", action="store_true", help="replace results/<profile>/ even if that loses runs")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides the study was trained with, besides data.*")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="aggregate: %(message)s", stream=sys.stdout)

    out = args.out / args.profile
    records = read_records(out / "runs")
    summaries = [summary for summary, _, _ in records.values()]
    if not summaries:
        sys.exit(f"aggregate: no run records under {out / 'runs'}/ (no summary.json). "
                 f"Train first: make train PROFILE={args.profile}")
    profiles = {s["profile"] for s in summaries}
    if profiles != {args.profile}:
        sys.exit(f"aggregate: {out / 'runs'} mixes profiles {sorted(profiles)}; keep one profile per folder")
    cells, knobs, scales, in_grid, calibration_cells = study_records(args, summaries)
    fp, description, in_grid, calibration_runs, tuned_runs = replaceable(args, out, summaries, in_grid,
                                                                         calibration_cells)
    found = {cell_of(s["config"]) for s in in_grid}
    missing = [{"study": st, **cell} for key, (st, cell) in cells.items() if key not in found]
    if missing:
        log.info("%d of %d cells of the studies have no record yet, e.g. %s", len(missing), len(cells),
                 "; ".join(" ".join(f"{k}={v}" for k, v in m.items()) for m in missing[:5]))
    write_tables(out, records, in_grid, calibration_runs, tuned_runs)
    study = {"profile": args.profile, "knobs": knobs, "scales": scales, "seeds": sorted({s["seed"] for s in in_grid}),
             "cells": len(cells), "runs": len(in_grid), "missing": missing,
             "data_fingerprint": fp, "data_description": description}
    write_if_changed(out / "study.json", json.dumps(study, indent=1) + "\n")
    log.info("%d records -> %s/ (runs.csv, epochs.csv, layers.csv, calibration.csv, study.json); %d tuned -> tuned.csv",
             len(in_grid), out, len(tuned_runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Reproductions: where one lives, and what agrees between it and the committed results
(docs/design.md section 9).

    python scripts/compare.py locate --profile cpu [--fresh] [--sample K] [--name NAME] [DATA overrides]
    python scripts/compare.py report --reproduction reproductions/<name>

`locate` (the first step of `make reproduce`) checks the data DATA selects and prints where the
chain builds: nothing for the committed tree (the committed data, its committed records, no
FRESH), otherwise the name of a folder of reproductions/ (`<profile>-<source>-<fingerprint>`),
which it claims with a reproduction.json. A folder made on other data is refused; an
interrupted one is continued.

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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rectifiers.analysis import claims, results
from rectifiers.files import CONF
from rectifiers.files import write_atomic
from rectifiers.render import reproduction_report
from rectifiers.studies import STUDIES_BY_SCALE
from rectifiers.spec import data
from rectifiers.spec.config import ConfigError, cell_of, check_config, check_overrides

log = logging.getLogger("rectifiers")

HOME = Path("reproductions")
MANIFEST = "reproduction.json"
SOURCE_NAMES = {"torchvision": "official", "folder": "folder", "synthetic": "synthetic"}


class Refused(Exception):
    """A reproduction that cannot start; the message names the problem and the fix."""


# --- locate: where a reproduction is built ----------------------------------------------

@dataclass
class Place:
    name: str | None        # a folder of reproductions/; None: the committed tree
    fingerprint: str | None  # None: the data is not on this machine (only without download)
    description: str
    note: str = ""


def selected_data(profile: str, overrides: list[str], download: bool) -> tuple[str | None, str, str]:
    """(fingerprint, description, source) of the data the overrides select; the fingerprint is None
    when that data is not here and may not be downloaded. ConfigError or DataError otherwise."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException
    check_overrides(overrides)
    try:
        with initialize_config_dir(str(CONF), version_base="1.3"):
            cfg = compose("train", overrides=[f"profile={profile}", *overrides])
    except (HydraException, OmegaConfBaseException) as e:
        raise ConfigError(str(e).splitlines()[0]) from None
    check_config(cfg)
    if not download and "download" in cfg.data:
        cfg.data.download = False
    description = data.DESCRIPTIONS[cfg.data.source].format(root=Path(str(cfg.data.get("root", ""))).expanduser())
    try:
        return data.content_fingerprint(cfg.data), description, cfg.data.source
    except data.DataError:
        if download:
            raise
        return None, description, cfg.data.source


def read_json(path: Path, fix: str) -> dict | None:
    """A JSON file, None if absent; Refused naming it and the fix if it cannot be read."""
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except (OSError, ValueError) as e:
        raise Refused(f"{path} is unreadable ({type(e).__name__}: {e}). {fix}") from None


def record_fingerprints(records: Path) -> Counter:
    """How many records of each dataset a record store holds (unreadable ones are aggregate's to name)."""
    found = Counter()
    for p in records.glob("*/summary.json"):
        try:
            found[json.loads(p.read_text()).get("data_fingerprint")] += 1
        except (OSError, ValueError):
            pass
    return found


def check_folder(tree: Path, profile: str, fp: str) -> str:
    """Refuse a folder that holds anything but a reproduction of this profile on this data; say
    whether an earlier reproduction there is continued."""
    again = f"give another name (make reproduce REPRO=<name>) or delete it (rm -rf {tree})"
    old = read_json(tree / MANIFEST, f"Delete it to start that reproduction again, or {again}")
    if old is None:
        if tree.exists() and any(tree.iterdir()):
            raise Refused(f"{tree}/ exists but holds no {MANIFEST}, so it is no reproduction of make reproduce: "
                          f"{again}")
        return ""
    if old.get("profile") != profile or old.get("data_fingerprint") != fp:
        raise Refused(f"{tree}/ holds a reproduction of profile {old.get('profile')} on other data "
                      f"({old.get('data_description')}, fingerprint {str(old.get('data_fingerprint'))[:12]}), not of "
                      f"profile {profile} on this data (fingerprint {fp[:12]}): {again}")
    found = record_fingerprints(tree / "results" / profile / "runs")
    other = sum(n for f, n in found.items() if f != fp)
    if other:
        raise Refused(f"{tree}/results/{profile}/runs/ holds {other} records made on other data: {again}")
    n = sum(found.values())
    if old.get("state") != "complete":
        return f"{tree}/ holds an interrupted reproduction ({n} runs recorded): continuing where it stopped"
    return f"{tree}/ holds a finished reproduction ({n} runs recorded): only what is missing or stale is made again"


def locate(profile: str, overrides: list[str], *, fresh: bool = False, sample: int | None = None,
           sample_trained: int | None = None, name: str | None = None, download: bool = True,
           write: bool = True, committed: Path = Path("results"), home: Path = HOME) -> Place:
    """Where `make reproduce` with these settings builds (see the module's docstring)."""
    fp, description, source = selected_data(profile, overrides, download)
    study = read_json(committed / profile / "study.json", f"Restore it: git checkout -- {committed / profile}")
    same = fp is not None and study is not None and study.get("data_fingerprint") == fp
    if same and not fresh and not name:
        if sample is not None or sample_trained is not None:
            raise Refused("SAMPLE retrains a sample, but the committed records of this data hold its runs already: "
                          "add FRESH=1 to retrain it on this machine (make reproduce FRESH=1 SAMPLE=1)")
        return Place(None, fp, description)
    if fp is None:
        return Place(None, None, description)
    name = name or f"{profile}-{SOURCE_NAMES[source]}-{fp[:12]}"
    if not name or "/" in name or name.startswith("."):
        raise Refused(f"REPRO={name!r} is not a folder name: use letters, digits and dashes")
    tree = home / name
    note = check_folder(tree, profile, fp)
    if write:
        manifest = {"name": name, "profile": profile, "data_fingerprint": fp, "data_description": description,
                    "data": list(overrides), "fresh": bool(fresh or same), "sample": sample,
                    "sample_trained": sample_trained, "state": "running"}
        tree.mkdir(parents=True, exist_ok=True)
        write_atomic(tree / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return Place(name, fp, description, note)


def check_sample(profile: str, sample: int | None, sample_trained: int | None) -> None:
    """SAMPLE counts seeds of the profile's cells: 1 to profile.seeds (SAMPLE_TRAINED may be 0)."""
    from omegaconf import OmegaConf
    seeds = OmegaConf.load(CONF / "profile" / f"{profile}.yaml").profile.seeds
    for var, k, low in (("SAMPLE", sample, 1), ("SAMPLE_TRAINED", sample_trained, 0)):
        if k is not None and not low <= k <= seeds:
            raise Refused(f"{var}={k}: profile {profile} has {seeds} seeds per cell; give {low} to {seeds}")


# --- report: what agrees between a reproduction and the committed results --------------

def read_side(results_dir: Path) -> reproduction_report.Side | None:
    """What the report reads of one results folder; None where it holds no study (cell_of, the
    run's configuration without the data, needs the config checks of spec/)."""
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

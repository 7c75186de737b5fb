"""Where `make reproduce` builds, decided before any run (docs/design.md section 9): the data
DATA selects (composed by Hydra, its fingerprint computed), then the committed tree (the
committed data, its committed records, no FRESH) or a folder of reproductions/
(`<profile>-<source>-<fingerprint>`), claimed with a reproduction.json. A folder made on other
data is refused; an interrupted one is continued. scripts/compare.py locate prints the answer,
scripts/plan.py counts what is done there."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..files import CONF, write_atomic
from . import data
from .config import ConfigError, check_config, check_overrides

HOME = Path("reproductions")
MANIFEST = "reproduction.json"
SOURCE_NAMES = {"torchvision": "official", "folder": "folder", "synthetic": "synthetic"}


class Refused(Exception):
    """A reproduction that cannot start; the message names the problem and the fix."""


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

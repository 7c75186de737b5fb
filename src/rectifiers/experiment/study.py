"""Studies: Hydra multiruns over activation x knob level x seed (conf/study/*.yaml).

Each study varies one stress knob around the baseline. A run's identity is its resolved
config, so the baseline cell shared by several studies is trained once and reused.

Every multirun (a study or a sweep typed on the command line) goes through CheckStudy
(conf/train.yaml): before any job starts it composes and checks every job and checks the data
once; at the end it counts how the runs ended, and exits non-zero if any failed.
"""
from __future__ import annotations

import functools
import itertools
import json
import logging
import sys
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ..files import CONF
from ..studies import STUDIES_BY_SCALE
from . import data
from .config import DATA_IDENTITY, SET_DATA_IDENTITY, ConfigError, check_config, record_dir, run_dir, run_id
from .launch import one_line
from .records import load_summary, outcome_line

log = logging.getLogger("rectifiers")


def sweep_values(params) -> dict[str, list]:
    """hydra.sweeper.params -> {key: [values]} (comma lists and range() as Hydra expands them)."""
    parser = OverridesParser.create()
    out = {}
    for key, spec in params.items():
        ov = parser.parse_override(f"{key}={spec}")
        out[key] = list(ov.sweep_iterator()) if ov.is_sweep_override() else [ov.value()]
    return out


def grid(params) -> list[dict]:
    """Every cell of the cartesian sweep, as {key: value}, seeds varying fastest (conf/grid/
    puts the seeds before a study's own keys; the cells' order stays the study's)."""
    values = sweep_values(params)
    keys = sorted(values, key=lambda k: k == "seed")
    return [dict(zip(keys, combo)) for combo in itertools.product(*(values[k] for k in keys))]


def check_study(cfg) -> None:
    """Refuse a study with an unknown knob, activation or an impossible level."""
    values = sweep_values(cfg.hydra.sweeper.params)
    if cfg.study.knob not in values:
        raise ConfigError(f"study.knob={cfg.study.knob} is not swept in hydra.sweeper.params")
    known = sorted(p.stem for p in (CONF / "activation").glob("*.yaml"))
    for act in values.pop("activation", []):
        if act not in known:
            raise ConfigError(f"study {cfg.study.name}: unknown activation {act!r}; options: {', '.join(known)}")
    base = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    for key, levels in values.items():
        if OmegaConf.select(base, key, default="__missing__") == "__missing__":
            raise ConfigError(f"study {cfg.study.name}: unknown knob {key!r} (no such config key)")
        for level in levels:
            trial = base.copy()
            OmegaConf.update(trial, key, level)
            try:
                check_config(trial)
            except ConfigError as e:
                raise ConfigError(f"study {cfg.study.name}: level {key}={level} is impossible: {e}") from None


def sweep_jobs(config) -> list[list[str]]:
    """The overrides of every job of a multirun, expanded by Hydra's basic sweeper itself: the
    study's hydra.sweeper.params, then the command line (which wins for a key in both)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    task = OmegaConf.to_container(config.hydra.overrides.task)  # as typed: an override may hold ${...}
    overrides = OverridesParser.create().parse_overrides(params + task)
    return BasicSweeper.split_arguments(overrides, None)[0]


def compose_jobs(config) -> list:
    """Every job's config, composed as the launcher will compose it and checked by check_config:
    a wrong type, an unknown key or an impossible value anywhere in the sweep is refused here."""
    from hydra.core.global_hydra import GlobalHydra
    loader = GlobalHydra.instance().config_loader()

    def compose(groups):
        cfg = loader.load_sweep_config(config, groups)
        return OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])  # hydra.job.* is per job
    job_config, jobs, cfgs = once_per_choice(compose), sweep_jobs(config), []
    for job in jobs:
        label = " ".join(o for o in job if not all(o in other for other in jobs)) or " ".join(job)
        try:
            cfg = job_config(job)
            check_config(cfg)
        except (HydraException, OmegaConfBaseException) as e:
            raise ConfigError(f"job {label}: {one_line(e)}") from None
        except ConfigError as e:
            raise ConfigError(f"job {label}: {e}") from None
        cfgs.append(cfg)
    return cfgs


def once_per_choice(compose):
    """compose(group overrides) -> config, made into job_config(overrides) -> the config Hydra
    composes for those overrides, composed once per choice of config groups. Composing is the slow
    part of a sweep, and Hydra itself builds the defaults list from a job's group overrides
    (activation=prelu), composes it, then applies the job's other overrides (optim.lr=0.1, seed=3)
    to the result: here the config of each choice is composed once, and the other overrides are
    applied to a copy of it with Hydra's own function."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.global_hydra import GlobalHydra
    repo, parser, composed = GlobalHydra.instance().config_loader().repository, OverridesParser.create(), {}

    def job_config(job):
        overrides = parser.parse_overrides(list(job))
        chooses = [o.is_hydra_override() or (repo.group_exists(o.key_or_group) and not isinstance(o.value(), dict))
                   for o in overrides]  # as Hydra tells them apart (hydra/_internal/defaults_list.py)
        groups = tuple(o.input_line for o, c in zip(overrides, chooses) if c)
        if groups not in composed:
            composed[groups] = compose(list(groups))
        cfg = composed[groups].copy()
        OmegaConf.set_struct(cfg, True)  # as Hydra applies them: a key the config lacks is refused
        ConfigLoaderImpl._apply_overrides_to_config([o for o, c in zip(overrides, chooses) if not c], cfg)
        return cfg
    return job_config


def check_data_once(cfgs) -> dict[str, str]:
    """Check (download, decode, cache) each dataset the jobs use, once, before any job starts,
    rather than in every job at once. {data key: fingerprint}."""
    fingerprints = {}
    for cfg in cfgs:
        key = data_key(cfg)
        if key not in fingerprints:
            fingerprints[key] = data.check(cfg.data)
    return fingerprints


def data_key(cfg) -> str:
    """The settings that decide which arrays are decoded (not the subsets taken from them)."""
    c = OmegaConf.to_container(cfg.data, resolve=True)
    return json.dumps({k: v for k, v in c.items() if k not in DATA_IDENTITY + SET_DATA_IDENTITY}, sort_keys=True)


def read_outcome(where: Path | None) -> dict | None:
    """A run's summary, only read (a damaged one is the job's to set aside)."""
    try:
        return load_summary(where / "summary.json") if where else None
    except (OSError, ValueError):
        return None


def tally(runs) -> tuple[dict, list[str]]:
    """({status: count}, a line for each failed run) of a sweep's runs: (run id, run dir, record dir)."""
    counts, failed = {"ok": 0, "diverged": 0, "failed": 0}, []
    for rid, out, kept in runs:
        found = [(s, where) for where in (kept, out) if (s := read_outcome(where))]  # the record first
        s, where = found[0] if found else (None, out)
        status = s["status"] if s and s.get("status") in counts else "failed"
        counts[status] += 1
        if status == "failed":
            failed.append(outcome_line(s, where) if s
                          else f"{rid} failed · stopped before training (its error is above)")
    return counts, failed


class CheckStudy(Callback):
    """Before the launcher starts any job: the study's own checks, every job composed and
    checked, the data checked once. After the last job: one line per failed run, then
    "N ok, N diverged, N failed", and a non-zero exit status if any run failed."""

    def on_multirun_start(self, config, **kwargs) -> None:
        try:
            if "study" in config:
                check_study(config)
            cfgs = compose_jobs(config)
            fingerprints = check_data_once(cfgs)
        except (ConfigError, data.DataError) as e:  # Hydra turns a callback's exceptions into warnings; exit
            sys.exit(f"refused before any job started: {e}")
        except Exception:  # not known: with its traceback, but still before any job
            log.exception("the check before the sweep failed")
            sys.exit(1)
        self.runs = []
        for cfg in cfgs:
            fp = fingerprints[data_key(cfg)]
            self.runs.append((run_id(cfg, fp), run_dir(cfg, fp), record_dir(cfg, fp)))

    def on_multirun_end(self, config, **kwargs) -> None:
        counts, failed = tally(self.runs)
        for line in failed:
            log.error(line)
        log.info("%d ok, %d diverged, %d failed", counts["ok"], counts["diverged"], counts["failed"])
        if counts["failed"]:
            sys.exit(1)


def compose_cells(compose, overrides, cells) -> list:
    """The composed config of every cell ({key: value}) of a grid, each as `compose("train",
    [*overrides, key=value ...])` would give it, composed once per choice of config groups."""
    job_config = once_per_choice(lambda groups: compose("train", overrides=groups))
    try:
        return [job_config([*overrides, *(f"{k}={v}" for k, v in cell.items())]) for cell in cells]
    except HydraException as e:
        raise ConfigError(one_line(e)) from None


def study_runs(profile: str, names, overrides=()) -> list[tuple[str, dict, object]]:
    """(study, cell, composed run config) for every cell of the named studies at `profile`:
    the one place the study grid is built. hydra.* overrides (e.g. the sweep's params) reach
    only the sweep, the others every run. The configs are read-only: each study is composed
    once per process."""
    return [(name, dict(cell), cfg) for name in names for cell, cfg in study_cells(profile, name, tuple(overrides))]


@functools.lru_cache(maxsize=None)
def study_cells(profile: str, name: str, overrides: tuple[str, ...]) -> tuple[tuple[dict, object], ...]:
    """((cell, composed run config), ...) of one study: study_runs, composed once per process."""
    from hydra import compose, initialize_config_dir
    sweep = [o for o in overrides if o.startswith("hydra.")]
    base = [f"+study={name}", f"profile={profile}", *(o for o in overrides if o not in sweep)]
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cells = grid(compose("train", overrides=[*base, *sweep], return_hydra_config=True).hydra.sweeper.params)
        cfgs = compose_cells(compose, base, cells)
    for cfg in cfgs:
        OmegaConf.set_readonly(cfg, True)
    return tuple(zip(cells, cfgs))


@functools.lru_cache
def scale_activations(profile: str = "cpu") -> dict[str, list[str]]:
    """Per claim scale (STUDIES_BY_SCALE), the activation labels its studies sweep, read from
    conf/study/*.yaml (one composition per study), in table order."""
    from hydra import compose, initialize_config_dir

    from ..activations import ACTIVATIONS, ordered
    label = {a.config: a.label for a in ACTIVATIONS}
    out = {}
    with initialize_config_dir(str(CONF), version_base="1.3"):
        for scale, names in STUDIES_BY_SCALE.items():
            acts = set()
            for name in names:
                cfg = compose("train", overrides=[f"+study={name}", f"profile={profile}"], return_hydra_config=True)
                acts |= {label.get(a, a) for a in sweep_values(cfg.hydra.sweeper.params)["activation"]}
            out[scale] = ordered(acts)
    return out

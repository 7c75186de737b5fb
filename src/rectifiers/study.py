"""Studies: Hydra multiruns over activation x knob level x seed (conf/study/*.yaml).

Each study varies one stress knob around the baseline. A run's identity is its resolved
config, so the baseline cell shared by several studies is trained once and reused.
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from .train import ConfigError, check_config

CONF = Path(__file__).resolve().parents[2] / "conf"
STUDIES = ("lr", "batch_size", "depth", "init_bias", "resnet")  # the stress grid, in order
SCALE_STUDIES = ("plain_long", "resnet_trained")  # the same questions with networks that learned more
CALIBRATION = ("calibration", "resnet_pilot")  # the baseline's calibration and the ResNet pilot, run first


def sweep_values(params) -> dict[str, list]:
    """hydra.sweeper.params -> {key: [values]} (comma lists and range() as Hydra expands them)."""
    parser = OverridesParser.create()
    out = {}
    for key, spec in params.items():
        ov = parser.parse_override(f"{key}={spec}")
        out[key] = list(ov.sweep_iterator()) if ov.is_sweep_override() else [ov.value()]
    return out


def grid(params) -> list[dict]:
    """Every cell of the cartesian sweep, as {key: value}."""
    values = sweep_values(params)
    return [dict(zip(values, combo)) for combo in itertools.product(*values.values())]


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


class CheckStudy(Callback):
    """Validates the whole grid before the launcher starts any job."""

    def on_multirun_start(self, config, **kwargs) -> None:
        try:
            check_study(config)
        except ConfigError as e:  # Hydra turns a callback's exceptions into warnings; exit instead
            sys.exit(f"refused before any job started: {e}")


def study_runs(profile: str, names, overrides=()) -> list[tuple[str, dict, object]]:
    """(study, cell, composed run config) for every cell of the named studies at `profile`:
    the one place the study grid is built."""
    from hydra import compose, initialize_config_dir
    out = []
    with initialize_config_dir(str(CONF), version_base="1.3"):
        for name in names:
            base = [f"+study={name}", f"profile={profile}", *overrides]
            cfg = compose("train", overrides=base, return_hydra_config=True)
            for cell in grid(cfg.hydra.sweeper.params):
                out.append((name, cell, compose("train", overrides=base + [f"{k}={v}" for k, v in cell.items()])))
    return out

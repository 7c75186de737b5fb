"""The stress knobs' levels are declared once, in conf/levels.yaml: the study grid sweeps them
(conf/study/<knob>.yaml), the baseline and the presets (conf/optim, conf/model, conf/regime)
take their values from them, and the claims' design (rules.py) is completed from them. The
declaration itself is no setting: it enters no run id and no config.yaml."""
from __future__ import annotations

import json
import shutil

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from conftest import CONF, ROOT
from rectifiers.analysis.rules import RULES, load_rules
from rectifiers.experiment.config import check_overrides, identity, resolved, run_id
from rectifiers.experiment.study import sweep_values
from rectifiers.knobs import BY_KEY, KNOBS
from rectifiers.studies import STUDIES

STRESS = [n for n in STUDIES if n in KNOBS]  # conf/study/<knob>.yaml: the studies of a stress knob
REGIMES = sorted(p.stem for p in (CONF / "regime").glob("*.yaml"))
RECORDS = ROOT / "results" / "cpu" / "runs"
# Another declaration, for a scratch copy of conf/: every level moved (two stress levels per knob,
# as the presets take the second)
MOVED = {"lr": {"baseline": 0.03, "stress": [0.07, 0.2]}, "batch_size": {"baseline": 64, "stress": [16, 2]},
         "depth": {"baseline": 6, "stress": [10, 12]}, "init_bias": {"baseline": 0.1, "stress": [-0.1, -0.3]}}


def knob_values(cfg) -> dict:
    """{column: value} of every stress knob in a composed config (keys from the knob table)."""
    return {c: OmegaConf.select(cfg, k.key) for c, k in KNOBS.items()}


def as_read(conf) -> tuple[dict, dict, dict, dict]:
    """From the config tree `conf`: what each stress study sweeps, {column: [levels]}; what it
    holds the other knobs at, {column: {other column: value}}; what each preset sets, {regime:
    {column: value}}; and the claims' design.stress."""
    swept, held = {}, {}
    with initialize_config_dir(str(conf), version_base="1.3"):
        for name in STRESS:
            cfg = compose("train", overrides=[f"+study={name}"], return_hydra_config=True)
            column = BY_KEY[cfg.study.knob].column
            swept[column] = sweep_values(cfg.hydra.sweeper.params)[cfg.study.knob]
            held[column] = {c: v for c, v in knob_values(cfg).items() if c != column}
        presets = {r: knob_values(compose("train", overrides=[f"regime={r}"])) for r in REGIMES}
    return swept, held, presets, load_rules(conf / "claims.yaml", conf / "levels.yaml").design["stress"]


def assert_read_as_declared(conf) -> None:
    levels = yaml.safe_load((conf / "levels.yaml").read_text())
    swept, held, presets, design = as_read(conf)
    baseline = {c: v["baseline"] for c, v in levels.items()}
    assert swept == {c: [v["baseline"], *v["stress"]] for c, v in levels.items()}  # the baseline first
    assert held == {c: {o: b for o, b in baseline.items() if o != c} for c in levels}
    assert presets.pop("standard") == baseline
    preset_of = {}
    for regime, values in presets.items():  # each sets one knob, at its last (most stressful) level
        off = [c for c in values if values[c] != baseline[c]]
        assert len(off) == 1 and values[off[0]] == levels[off[0]]["stress"][-1], (regime, values)
        preset_of[off[0]] = regime
    assert sorted(preset_of) == sorted(levels)  # a preset for every knob
    assert design["baseline"] == baseline and design["knobs"] == {c: v["stress"] for c, v in levels.items()}


def test_the_studies_the_presets_and_the_claims_read_the_declared_levels():
    assert_read_as_declared(CONF)
    assert list(yaml.safe_load((CONF / "levels.yaml").read_text())) == STRESS  # the studies' table order
    assert RULES.design["stress"] == load_rules().design["stress"]


def test_a_changed_declaration_moves_the_studies_the_presets_and_the_claims(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    assert yaml.safe_load((conf / "levels.yaml").read_text()) != MOVED
    (conf / "levels.yaml").write_text("# @package levels\n" + yaml.safe_dump(MOVED, sort_keys=False))
    assert_read_as_declared(conf)
    assert as_read(conf)[0]["lr"] == [0.03, 0.07, 0.2]


def test_the_levels_are_read_by_the_settings_and_are_no_setting_themselves(compose):
    cfg = compose(["regime=high_lr", "profile=smoke"])
    assert "levels" in cfg and "levels" not in identity(cfg, "fp") and "levels" not in resolved(cfg)
    unread = compose(["regime=high_lr", "profile=smoke", "levels.depth.stress=[10,12]"])  # no setting reads it here
    read = compose(["regime=high_lr", "profile=smoke", "levels.lr.stress=[0.05,0.2]"])
    assert run_id(unread, "fp") == run_id(cfg, "fp")
    assert read.optim.lr == 0.2 and run_id(read, "fp") != run_id(cfg, "fp")
    check_overrides(["levels.lr.baseline=0.03", "levels.lr.stress=[0.05,0.2]"])  # a level on the command line


@pytest.mark.skipif(not any(RECORDS.glob("*/summary.json")), reason="no committed records")
def test_the_stress_studies_and_the_presets_give_the_ids_of_committed_records():
    """Declaring the levels once retrains nothing: each level of each stress study, the baseline
    and each preset, at the cpu profile (ReLU, seed 0), is a committed record. (Every cell of
    every study: tests/test_records.py, slow.)"""
    fp = json.loads(next(RECORDS.glob("*/summary.json")).read_text())["data_fingerprint"]
    data = ["data.source=folder", "data.root=/nowhere"]  # the path does not enter the id
    committed = {p.name for p in RECORDS.iterdir()}
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cells = set()
        for name in STRESS:
            study = compose("train", overrides=[f"+study={name}"], return_hydra_config=True)
            for level in sweep_values(study.hydra.sweeper.params)[study.study.knob]:
                cfg = compose("train", overrides=[f"+study={name}", f"{study.study.knob}={level}", *data])
                cells.add(run_id(cfg, fp))
        presets = {r: run_id(compose("train", overrides=[f"regime={r}", *data]), fp) for r in REGIMES}
    assert len(cells) == 1 + 4 * 2 and cells <= committed  # the baseline, then each knob's stress levels
    assert set(presets.values()) <= cells and len(set(presets.values())) == len(REGIMES)

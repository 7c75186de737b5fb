"""The stress study: sweeps through the launchers, resumable sweeps, aggregation and statistics."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter

import pandas as pd
import pytest

from conftest import ROOT, TIMING_SUMMARY, TINY, run_main, without
from rectifiers.experiment.study import check_study, grid
from rectifiers.studies import STUDIES

TRAIN = [sys.executable, str(ROOT / "scripts" / "train.py")]
# A two-activation, one-seed slice of the lr study at the smoke profile, with tiny models.
SLICE = ["-m", "+study=lr", 'hydra.sweeper.params.activation="relu,prelu"', "hydra.sweeper.params.seed=0",
         *[o for o in TINY if not o.startswith("optim.epochs")], "optim.epochs=2"]


AGG_OVERRIDES = [o for o in SLICE[3:] if not o.startswith(("runtime.", "data."))]


def sweep(runs_dir, *extra, check=True, **kw):
    return subprocess.run(TRAIN + SLICE + [f"runs_dir={runs_dir}", *extra], cwd=ROOT, capture_output=True,
                          text=True, check=check, timeout=300, **kw)


def summaries(runs_dir) -> dict:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted((runs_dir / "smoke").glob("*/summary.json"))}


def comparable(s: dict) -> dict:
    return without(s, TIMING_SUMMARY + ("device", "git_commit"))


@pytest.mark.slow
def test_joblib_sweep_makes_the_grid_and_aggregate_reads_it(tmp_path):
    p = sweep(tmp_path / "runs", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
              f"runtime.record_dir={tmp_path / 'results' / 'smoke' / 'runs'}")
    done = summaries(tmp_path / "runs")
    assert len(done) == 2 * 3  # activations x lr levels x 1 seed
    assert {s["status"] for s in done.values()} <= {"ok", "diverged"}
    counts = Counter(s["status"] for s in done.values())
    assert p.stdout.strip().splitlines()[-1].endswith(f"{counts['ok']} ok, {counts['diverged']} diverged, 0 failed")
    for rid, s in done.items():  # every job's own last line, from its worker process
        assert f"{rid} {s['status']} · " in p.stdout
    out = run_main("aggregate", ["--profile", "smoke", "--out", str(tmp_path / "results"), *AGG_OVERRIDES])
    assert out.returncode == 0, out.stderr
    assert "cells of the studies have no record yet" in out.stdout  # the rest of the grid is reported missing
    runs = pd.read_csv(tmp_path / "results" / "smoke" / "runs.csv")
    assert len(runs) == 6 and set(runs.act) == {"relu", "prelu"} and sorted(set(runs.lr)) == [0.02, 0.05, 0.1]
    epochs = pd.read_csv(tmp_path / "results" / "smoke" / "epochs.csv")
    assert len(epochs) == 6 * 3  # init + 2 epochs per run
    layers = pd.read_csv(tmp_path / "results" / "smoke" / "layers.csv")
    assert len(layers) == 6 * 3 * 3  # 3 activation layers in a depth-4 plain CNN
    study = json.loads((tmp_path / "results" / "smoke" / "study.json").read_text())
    assert study["runs"] == 6 and len(study["missing"]) == study["cells"] - 6
    for rid in runs.run_id:
        assert (tmp_path / "results" / "smoke" / "runs" / rid / "summary.json").exists()


@pytest.mark.slow
def test_submitit_local_gives_the_same_summaries_as_the_basic_launcher(tmp_path):
    two = ['hydra.sweeper.params.activation="relu"', "optim.lr=0.02,0.1"]
    sweep(tmp_path / "basic", *two)
    sweep(tmp_path / "submitit", *two, "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5")
    basic, sub = summaries(tmp_path / "basic"), summaries(tmp_path / "submitit")
    assert len(basic) == 2 and basic.keys() == sub.keys()
    for rid in basic:
        assert comparable(basic[rid]) == comparable(sub[rid])


@pytest.mark.slow
def test_killed_sweep_resumes_without_redoing_finished_runs(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen(TRAIN + SLICE + [f"runs_dir={runs}"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list((runs / "smoke").glob("*/summary.json")) and time.time() < deadline:
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    first = {rid: (runs / "smoke" / rid / "summary.json").stat().st_mtime_ns for rid in summaries(runs)}
    assert 1 <= len(first) < 6
    sweep(runs)
    after = summaries(runs)
    assert len(after) == 6
    for rid, mtime in first.items():  # finished runs were skipped, not redone
        assert (runs / "smoke" / rid / "summary.json").stat().st_mtime_ns == mtime


BAD_STUDIES = {
    "bad_knob": ("optim.lrr: 0.1,0.2", "unknown knob 'optim.lrr'"),
    "bad_level": ("optim.batch_size: 32,0", "level optim.batch_size=0 is impossible"),
    "bad_act": ("activation: relu,swish", "unknown activation 'swish'"),
    "bad_type": ("optim.batch_size: 32,abc", "optim.batch_size=abc is invalid: expected an integer"),
}


@pytest.mark.parametrize("name", BAD_STUDIES)
def test_study_with_unknown_knob_or_level_is_refused_before_any_job(tmp_path, name):
    param, message = BAD_STUDIES[name]
    (tmp_path / "conf" / "study").mkdir(parents=True)
    (tmp_path / "conf" / "study" / f"{name}.yaml").write_text(
        "# @package _global_\nstudy: {name: %s, knob: %s}\nhydra:\n  sweeper:\n    params:\n      %s\n"
        % (name, param.split(":")[0], param))
    out = subprocess.run(TRAIN + ["-m", f"+study={name}", f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
                                  *TINY, f"runs_dir={tmp_path / 'runs'}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and message in out.stderr
    assert not list((tmp_path / "runs").glob("smoke/*/"))  # no job started


def test_every_study_expands_and_validates(compose):
    """Every conf/study file at every profile passes the check CheckStudy runs before a sweep,
    sweeps its seeds, and the stress grid sweeps all five activations."""
    from hydra import compose as hcompose
    from hydra import initialize_config_dir
    names = sorted(p.stem for p in (ROOT / "conf" / "study").glob("*.yaml"))
    assert set(STUDIES) < set(names)
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        for name in names:
            for profile in ("smoke", "cpu", "full"):
                cfg = hcompose("train", overrides=[f"+study={name}", f"profile={profile}"], return_hydra_config=True)
                assert cfg.study.name == name
                check_study(cfg)
                cells = grid(cfg.hydra.sweeper.params)
                seeds = {c["seed"] for c in cells}
                if name == "tuned":  # its selection seeds (conf/claims.yaml, tuning; fewer at smoke)
                    assert sorted(seeds) == list(range(cfg.profile.tuned.selection_seeds))
                else:
                    assert len(seeds) in (1, cfg.profile.seeds)  # the pilot: one seed
                if name in STUDIES:
                    assert {c["activation"] for c in cells} >= {"relu", "leaky_relu", "leaky_relu_0.1",
                                                                "leaky_relu_0.3", "prelu"}


def test_slurm_launcher_config_composes(compose):
    from hydra import compose as hcompose
    from hydra import initialize_config_dir
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = hcompose("train", overrides=["hydra/launcher=cluster"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")
    assert cfg.hydra.launcher.partition and cfg.hydra.launcher.timeout_min > 0


def test_aggregate_on_empty_tree_says_what_is_missing(tmp_path):
    out = subprocess.run([sys.executable, "scripts/aggregate.py", "--profile", "smoke",
                          "--out", str(tmp_path / "results")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode != 0 and "no run records" in out.stderr and "make train" in out.stderr
    assert not (tmp_path / "results").exists()


def test_cells_composed_once_per_group_choice_get_the_ids_of_cells_composed_one_by_one():
    """Jobs that differ only in seed, and study cells that differ only in plain values (seed,
    knob), are composed once and copied: the ids must be those of composing every cell on its own."""
    from hydra import compose as hcompose
    from hydra import initialize_config_dir
    from omegaconf import read_write

    from rectifiers.experiment.config import run_id
    from rectifiers.experiment.study import compose_jobs, study_runs
    base = ["+study=init_bias", "profile=smoke"]
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        master = hcompose("train", overrides=base, return_hydra_config=True)
        one_by_one = {run_id(hcompose("train", overrides=base + [f"{k}={v}" for k, v in cell.items()]), "fp")
                      for cell in grid(master.hydra.sweeper.params)}
        with read_write(master):
            master.hydra.overrides.task.append("optim.lr=0.02,0.05")  # a sweep typed on the command line too
        jobs = compose_jobs(master)
    assert len(one_by_one) == 5 * 3 * 2
    assert {run_id(cfg, "fp") for _, _, cfg in study_runs("smoke", ["init_bias"])} == one_by_one
    with_lr = {run_id(cfg, "fp") for lr in ("0.02", "0.05")
               for _, _, cfg in study_runs("smoke", ["init_bias"], [f"optim.lr={lr}"])}
    assert len(jobs) == 5 * 3 * 2 * 2 and {run_id(cfg, "fp") for cfg in jobs} == with_lr


def test_a_grid_key_the_run_config_lacks_is_refused_as_hydra_would():
    from hydra import compose as hcompose
    from hydra import initialize_config_dir

    from rectifiers.experiment.config import ConfigError
    from rectifiers.experiment.study import compose_cells
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        with pytest.raises(ConfigError, match="optim.lrr"):
            compose_cells(hcompose, ["profile=smoke"], [{"activation": "relu", "optim.lrr": 0.1}])

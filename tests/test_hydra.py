"""scripts/train.py as Hydra users expect it (rectifiers.experiment.launch): the run's folder is Hydra's
output folder, each sweep has its own folder, Hydra's flags pass, and every refusal, Hydra's
own included, is one line naming the fix, in a single run as in a sweep."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, TINY, files_under
from rectifiers.experiment.records import RECORD_FILES

TRAIN = [sys.executable, str(ROOT / "scripts" / "train.py")]


def run(tmp_path, *args):
    return subprocess.run([*TRAIN, *args, f"runs_dir={tmp_path / 'runs'}"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")})


def lines(p) -> list[str]:
    return [line for line in (p.stdout + p.stderr).splitlines() if line.strip()]


@pytest.mark.slow  # three fresh interpreters import torch, one run trains
def test_the_run_folder_is_hydras_output_folder_and_each_sweep_has_its_own(tmp_path):
    records = tmp_path / "results" / "smoke" / "runs"
    p = run(tmp_path, *TINY, f"runtime.record_dir={records}")
    assert p.returncode == 0, p.stdout + p.stderr
    (out,) = (tmp_path / "runs" / "smoke").iterdir()  # one folder: the run's, no empty one beside it
    assert {f.name for f in (out / ".hydra").iterdir()} == {"config.yaml", "hydra.yaml", "overrides.yaml"}
    hydra_cfg = yaml.safe_load((out / ".hydra" / "hydra.yaml").read_text())["hydra"]
    assert hydra_cfg["runtime"]["output_dir"] == str(out)
    assert f"{out.name} ok · final test" in (out / "train.log").read_text()  # Hydra's log file, with times
    assert {f.name for f in (records / out.name).iterdir()} == set(RECORD_FILES)  # the record: its four files only
    # two sweeps of that run (finished: skipped), one after the other: two folders, two multirun.yaml
    for _ in range(2):
        p = run(tmp_path, "-m", *TINY, f"runtime.record_dir={records}")
        assert p.returncode == 0 and p.stdout.strip().endswith("1 ok, 0 diverged, 0 failed"), p.stdout + p.stderr
    sweeps = sorted(f.parent for f in (tmp_path / "runs" / "multirun").rglob("multirun.yaml"))
    assert len(sweeps) == 2
    assert [f.name for f in (tmp_path / "runs" / "smoke").iterdir()] == [out.name]  # a job's output folder is its run's
    assert "finished before: skipped" in (out / "train.log").read_text()


def test_hydras_own_flags_are_not_taken_for_overrides(tmp_path):
    p = run(tmp_path, "-sc", "install=bash")
    assert p.returncode == 0 and "hydra_bash_completion" in p.stdout, p.stdout + p.stderr
    p = subprocess.run([*TRAIN, "--cfg", "job", "profile=smoke", "seed=3"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert p.returncode == 0 and yaml.safe_load(p.stdout)["seed"] == 3, p.stdout + p.stderr
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("mode", [[], ["-m"]], ids=["run", "sweep"])
@pytest.mark.parametrize("overrides, message", [
    (["activation=swish"], "unknown activation=swish: use one of leaky_relu, "),
    (["activation=relu", "activation.negative_slope=0.1"],
     "activation.negative_slope: activation relu has no negative_slope; it is a setting of "
     "activation.name=leaky_relu, e.g. activation=leaky_relu"),
    (["study=lr"], "study=lr: a study is added to the config, not chosen in it: use +study=lr with -m"),
    (["+study=lrr"], "unknown study=lrr: did you mean +study=lr? use one of batch_size, "),
    (["model.width=${nope}"], "model.width: Interpolation key 'nope' not found"),
], ids=["option", "key-of-another-option", "study-without-plus", "unknown-study", "interpolation"])
def test_every_refusal_is_one_line_in_a_run_as_in_a_sweep(tmp_path, mode, overrides, message):
    p = run(tmp_path, *mode, "profile=smoke", *overrides)
    assert p.returncode == 1
    assert len(lines(p)) == 1 and message in lines(p)[0], lines(p)
    assert files_under(tmp_path) == []


def test_a_swept_value_hydra_refuses_is_one_line_too(tmp_path):
    p = run(tmp_path, "-m", "profile=smoke", "activation=swish,relu")
    assert p.returncode == 1
    assert lines(p) == ["refused before any job started: job activation=swish: unknown activation=swish: use one of "
                        "leaky_relu, leaky_relu_0.1, leaky_relu_0.2, leaky_relu_0.3, prelu, prelu_shared, relu"]


def test_a_study_without_m_is_refused_naming_the_fix(tmp_path):
    """A single run ignores a study's grid (hydra.sweeper.params): it would train one default run."""
    p = run(tmp_path, "+study=lr", "profile=smoke")
    assert p.returncode == 1
    assert lines(p) == ["refused: +study=lr is a sweep: add -m (python scripts/train.py -m +study=lr ...)"]
    assert files_under(tmp_path) == []

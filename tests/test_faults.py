"""Fault injection: each everyday fault, done on synthetic data, and what must follow. Results
already made stay untouched, the exit status says what happened, and the message names the
file or the fix. (Issue 13: "Never lose results".)"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import (
    RESUME,
    ROOT,
    STEPS,
    TINY,
    copy_checkout,
    crash_at_epoch,
    files_under,
    image_tree,
    outputs,
    run_main,
)
from rectifiers.experiment import data
from rectifiers.experiment.config import ConfigError, record_dir, run_dir
from rectifiers.experiment.data import DataError
from rectifiers.training import tensors
from rectifiers.training.train import train

TRAIN = [sys.executable, str(ROOT / "scripts" / "train.py")]
# no download gets out
OFFLINE = {"https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9", "no_proxy": ""}
CPU = torch.device("cpu")


def run(args, env=None, cwd=ROOT, timeout=300):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def lines(p) -> list[str]:
    return [line for line in (p.stdout + p.stderr).splitlines() if line.strip()]


def last_line(p) -> str:
    return p.stdout.strip().splitlines()[-1]


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def snapshot(*roots) -> dict:
    """{file: sha256} of everything under roots: to show that nothing changed."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for r in roots for p in files_under(r)}


# --- a wrong setting is refused in one line, before any data is loaded -----------------------

NO_DATA = ["data.source=folder", "data.root=/nonexistent/cifar10"]  # loading data would fail, and say so


@pytest.mark.parametrize("override, message", [
    ("seed=abc", "seed=abc is invalid: expected an integer"),
    ("seed=1.5", "seed=1.5 is invalid: expected an integer"),
    ("optim.lr=abc", "optim.lr=abc is invalid: expected a number"),
    ("optim.lrr=0.1", "unknown key optim.lrr: did you mean optim.lr?"),
    ("+optim.lrr=0.1", "unknown key optim.lrr: did you mean optim.lr?"),  # Hydra's own hint must not get through
    ("-m seed=0,abc", "seed=abc is invalid: expected an integer"),          # each value of a sweep
])
def test_wrong_type_or_unknown_key_is_refused_in_one_line_before_any_data(tmp_path, override, message):
    p = run(TRAIN + [*NO_DATA, f"runs_dir={tmp_path}", *override.split()])
    assert p.returncode == 1
    assert len(lines(p)) == 1 and message in lines(p)[0], lines(p)
    assert files_under(tmp_path) == []


def test_a_key_added_to_the_composed_config_is_refused_before_the_data(tiny_cfg, monkeypatch):
    """What the launcher composes for every job of a sweep goes through the same schema."""
    monkeypatch.setattr(data, "content_fingerprint", lambda *a: pytest.fail("data touched"))
    with pytest.raises(ConfigError, match="unknown key optim.lrr"):
        train(tiny_cfg("+optim.lrr=0.1"))
    with pytest.raises(ConfigError, match="unknown key foo"):
        train(tiny_cfg("+foo=1"))


# --- sweeps: a failed job fails the sweep, which ends with the count -------------------------

def test_sweep_with_a_failing_job_exits_nonzero_and_ends_with_the_count(tmp_path):
    p = run(TRAIN + ["-m", *TINY, f"runs_dir={tmp_path}", "optim.batch_size=32,1000"])
    assert p.returncode == 1
    assert "optim.batch_size=1000 exceeds the 200 training images: lower it" in p.stdout  # the job's own line
    assert last_line(p).endswith("1 ok, 0 diverged, 1 failed")


def test_diverged_run_says_where_and_does_not_fail_the_sweep(tmp_path):
    p = run(TRAIN + ["-m", *TINY, f"runs_dir={tmp_path}", "optim.lr=1e6"])
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"-s0 diverged · non-finite loss at epoch 1, step \d+ · .*/smoke/plain4-relu-\w+-s0/", p.stdout)
    assert last_line(p).endswith("0 ok, 1 diverged, 0 failed")


def test_impossible_sweep_value_on_the_command_line_is_refused_before_any_job(tmp_path):
    p = run(TRAIN + ["-m", "+study=lr", *TINY, f"runs_dir={tmp_path}", "hydra.sweeper.params.seed=0",
                     "optim.lr=0.02,-1"])
    assert p.returncode == 1
    assert "refused before any job started: job activation=relu optim.lr=-1: optim.lr=-1 is invalid" in p.stderr
    assert not list(tmp_path.glob("smoke/*/summary.json"))


# --- no network: the data check stops everything first and names the local copy -------------

@pytest.mark.parametrize("mode", [[], ["-m"]], ids=["run", "sweep"])
def test_offline_download_is_refused_with_the_local_copy_override(tmp_path, mode):
    tiny = [o for o in TINY if not o.startswith("data.")]
    p = run(TRAIN + [*mode, *tiny, "data=cifar10", "data.download=true", f"data.root={tmp_path / 'cifar'}",
                     f"data.cache_dir={tmp_path / 'cache'}", f"runs_dir={tmp_path / 'runs'}"], env=OFFLINE)
    out = p.stdout + p.stderr
    assert p.returncode == 1
    assert "no network" in out and data.LOCAL_COPY in out and "Traceback" not in out
    assert not list((tmp_path / "runs").glob("smoke/*/"))


@pytest.mark.slow
def test_make_reproduce_offline_stops_before_aggregation_and_changes_nothing(tmp_path):
    """The default `make reproduce` on a machine without network (issue 13's first bar)."""
    repo = copy_checkout(tmp_path / "repo")
    committed = ["results", "paper", "figures"]
    before = snapshot(*(repo / d for d in committed))
    venv = ROOT / ".venv"
    p = run(["make", "reproduce", f"VENV={venv}", "-o", f"{venv}/.installed"], cwd=repo,
            env={**OFFLINE, "PYTHONPATH": str(repo / "src")})
    assert p.returncode != 0
    assert data.LOCAL_COPY in p.stderr and "refused before any job started" in p.stderr
    assert "aggregate.py" not in p.stdout  # make stopped at training
    assert snapshot(*(repo / d for d in committed)) == before


# --- corrupt state: named, set aside, computed again -----------------------------------------

def corrupt_logged(caplog, path) -> bool:
    return any(str(path) in m and f"{path.name}.corrupt" in m for m in caplog.messages)


def test_truncated_summary_is_set_aside_and_the_run_trains_again(tiny_cfg, caplog):
    cfg = tiny_cfg()
    first = train(cfg)
    summary = run_dir(cfg) / "summary.json"
    truncate(summary)
    with caplog.at_level(logging.INFO, logger="rectifiers"):
        again = train(cfg)
    assert corrupt_logged(caplog, summary) and (summary.parent / "summary.json.corrupt").exists()
    assert again["status"] == "ok" and again["final_test_acc"] == first["final_test_acc"]
    assert json.loads(summary.read_text())["status"] == "ok"


def test_damaged_record_is_copied_again_from_its_finished_run(tiny_cfg, tmp_path, caplog):
    cfg = tiny_cfg(f"runtime.record_dir={tmp_path / 'records'}")
    train(cfg)
    record = record_dir(cfg) / "summary.json"
    truncate(record)
    with caplog.at_level(logging.INFO, logger="rectifiers"):
        train(cfg)
    assert corrupt_logged(caplog, record)
    assert record.read_text() == (run_dir(cfg) / "summary.json").read_text()


class Crash(Exception):
    pass


def test_truncated_checkpoint_is_set_aside_and_the_run_starts_over(tiny_cfg, tmp_path, monkeypatch, caplog):
    straight = tiny_cfg(*RESUME, runs_dir=tmp_path / "straight")
    train(straight)
    cfg = tiny_cfg(*RESUME, runs_dir=tmp_path / "crashed")
    with monkeypatch.context() as m:
        crash_at_epoch(m, 2, STEPS, Crash("simulated crash"))
        with pytest.raises(Crash):
            train(cfg)
    ckpt = run_dir(cfg) / "checkpoint.pt"
    truncate(ckpt)
    with caplog.at_level(logging.INFO, logger="rectifiers"):
        summary = train(cfg)
    assert corrupt_logged(caplog, ckpt) and "resuming" not in caplog.text
    assert summary["status"] == "ok" and outputs(cfg) == outputs(straight)  # from scratch: the same result


def folder_cfg(compose, tmp_path, root, *extra):
    return compose(["profile=smoke", "data=cifar10", "data.source=folder", f"data.root={root}",
                    f"data.cache_dir={tmp_path / 'cache'}", "data.train_size=null", "data.eval_size=null",
                    f"runs_dir={tmp_path / 'runs'}", "runtime.threads=1", "runtime.progress=false",
                    "model.width=4", "model.depth=4", "monitor.probe_size=4", "optim.batch_size=4",
                    "optim.epochs=1", *extra])


def garble(path):
    """Zero 64 bytes in the middle: the size stays, the content does not."""
    b = bytearray(path.read_bytes())
    b[len(b) // 2: len(b) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(b))


@pytest.mark.parametrize("damage", [truncate, garble])
def test_damaged_data_cache_is_set_aside_and_rebuilt_without_blocking_the_run(tmp_path, compose, caplog, damage):
    cfg = folder_cfg(compose, tmp_path, image_tree(tmp_path / "tree"))
    first = tensors.load(cfg.data, 4, CPU)
    (cache,) = (tmp_path / "cache").glob("*.npz")
    damage(cache)
    with caplog.at_level(logging.INFO, logger="rectifiers"):
        summary = train(cfg)  # the run is not blocked
    assert corrupt_logged(caplog, cache) and (tmp_path / "cache" / f"{cache.name}.corrupt").exists()
    assert summary["status"] == "ok" and summary["data_fingerprint"] == first.fingerprint
    assert data.read_cache(cache)[1] == first.fingerprint  # rebuilt, and sound


def test_an_image_changed_at_the_same_size_is_not_hidden_by_another_folders_cache(tmp_path, compose):
    a = image_tree(tmp_path / "a")
    tensors.load(folder_cfg(compose, tmp_path, a).data, 4, CPU)
    b = shutil.copytree(a, tmp_path / "b")
    bad = b / "test" / "dog" / "1.png"
    bad.write_bytes(bytes(8) + bad.read_bytes()[8:])  # a corrupt image of the same size
    with pytest.raises(DataError, match=re.escape(str(bad))):  # decoded, not taken from a's cache
        tensors.load(folder_cfg(compose, tmp_path, b).data, 4, CPU)


# --- aggregate: never replaces results with fewer runs or other data -------------------------

SLICE = ["-m", "+study=lr", "hydra.sweeper.params.activation=relu", "hydra.sweeper.params.seed=0", *TINY]
AGG = [o for o in TINY if not o.startswith(("runtime.", "data."))]  # the overrides the cells were trained with


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """results/smoke/ as `make train` and `make results` leave it: 3 records and their tables."""
    root = tmp_path_factory.mktemp("study")
    p = run(TRAIN + SLICE + [f"runs_dir={root / 'runs'}", f"runtime.record_dir={root / 'results' / 'smoke' / 'runs'}"])
    assert p.returncode == 0, p.stdout + p.stderr
    p = aggregate(root / "results")
    assert p.returncode == 0, p.stdout + p.stderr
    return root / "results"


@pytest.fixture
def results(study, tmp_path):
    """A fresh copy of the study's results for one test to damage."""
    return shutil.copytree(study, tmp_path / "results")


def tables(results) -> dict:
    return snapshot(*(p for p in (results / "smoke").iterdir() if p.is_file()))


def aggregate(results, *extra):
    return run_main("aggregate", ["--profile", "smoke", "--out", str(results), *AGG, *extra])


def test_aggregate_refuses_to_lose_a_run_unless_forced(results):
    before = tables(results)
    gone = sorted((results / "smoke" / "runs").iterdir())[0]
    shutil.rmtree(gone)
    p = aggregate(results)
    assert p.returncode == 1
    assert f"would lose 1 of the 3 runs in runs.csv, e.g. {gone.name}" in p.stderr and "FORCE=1" in p.stderr
    assert tables(results) == before
    assert aggregate(results, "--force").returncode == 0
    assert len((results / "smoke" / "runs.csv").read_text().splitlines()) == 1 + 2


def fake_records_on_other_data(results, fingerprint):
    """Copies of the records as if trained on other data (as a user's own training would add)."""
    for d in sorted((results / "smoke" / "runs").iterdir()):
        s = json.loads((d / "summary.json").read_text())
        s.update(run_id=f"{s['run_id']}-other", data_fingerprint=fingerprint, data_description="other data")
        other = shutil.copytree(d, d.with_name(s["run_id"]))
        (other / "summary.json").write_text(json.dumps(s))


def test_aggregate_keeps_its_dataset_and_refuses_to_switch_to_other_data(results, compose):
    before = tables(results)
    other = ["data.synthetic_train=300", "data.synthetic_test=100"]  # what DATA would select
    fake_records_on_other_data(results, data.content_fingerprint(compose(["profile=smoke", *other]).data))
    p = aggregate(results)  # no DATA: the dataset the results were built from
    assert p.returncode == 0 and "3 record(s) made on other data left out" in p.stdout
    assert tables(results) == before
    p = aggregate(results, *other)  # DATA selects the other records: they would replace the results
    assert p.returncode == 1 and "for other data (other data" in p.stderr and "FORCE=1" in p.stderr
    assert tables(results) == before


def test_unreadable_record_is_named_and_no_run_is_lost(results):
    before = tables(results)
    record = sorted((results / "smoke" / "runs").iterdir())[0]
    truncate(record / "summary.json")
    p = aggregate(results)
    assert p.returncode == 1 and f"unreadable record {record}/" in p.stdout and "git checkout" in p.stdout
    assert f"would lose 1 of the 3 runs in runs.csv, e.g. {record.name}" in p.stderr
    assert tables(results) == before


def test_unreadable_study_json_is_named_and_rebuilt_only_when_forced(results):
    study = results / "smoke" / "study.json"
    truncate(study)
    p = aggregate(results)
    assert p.returncode == 1 and f"{study} is unreadable" in p.stderr and "FORCE=1" in p.stderr
    assert aggregate(results, "--force").returncode == 0
    assert json.loads(study.read_text())["runs"] == 3

"""One training run end to end: learning, determinism, resume, skip, divergence, the CLI."""
from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import pytest
import torch
from omegaconf import OmegaConf

import rectifiers.training.train as train_mod
from conftest import RESUME, ROOT, STEPS, crash_at_epoch, files_under, outputs, read_jsonl
from rectifiers.experiment.config import identity, resolved, run_dir, run_id
from rectifiers.training.train import train


def test_synthetic_run_learns(tiny_cfg, caplog):
    cfg = tiny_cfg("model.width=8", "model.batchnorm=true", "data.synthetic_train=400",
                   "optim.batch_size=16", "optim.lr=0.1", "optim.epochs=4")
    with caplog.at_level(logging.INFO, logger="rectifiers"):
        summary = train(cfg)
    out = run_dir(cfg)
    # the run's last line: how it ended, its final accuracy and where it is
    assert caplog.messages[-1] == f"{out.name} ok · final test {100 * summary['final_test_acc']:.1f}% · {out}/"
    assert out.parent.name == "smoke" and out.name == summary["run_id"]
    assert {p.name for p in out.iterdir()} == {"config.yaml", "metrics.jsonl", "layers.jsonl", "summary.json"}
    metrics = read_jsonl(out / "metrics.jsonl")
    assert [m["epoch"] for m in metrics] == [0, 1, 2, 3, 4]
    assert metrics[0]["train_loss"] is None and metrics[0]["learning_rate"] is None
    losses = [m["train_loss"] for m in metrics[1:]]
    assert losses[-1] < 0.7 * losses[0], losses
    assert summary["status"] == "ok" and summary["error"] is None
    assert summary["epochs_completed"] == 4
    assert summary["final_train_loss"] == losses[-1]
    assert summary["final_test_acc"] > 0.3  # chance is 0.1
    assert summary["best_test_acc"] == max(m["test_acc"] for m in metrics[1:])
    assert summary["data_fingerprint"] and summary["data_description"].startswith("synthetic")
    assert summary["config"] == identity(cfg)
    assert OmegaConf.load(out / "config.yaml") == resolved(cfg)  # without conf/levels.yaml, which it read
    assert metrics[-1]["learning_rate"] < metrics[1]["learning_rate"] <= 0.1  # cosine decay, recorded per epoch


def test_lr_schedule():
    o = OmegaConf.create({"lr": 0.1, "schedule": "cosine"})
    assert train_mod.lr_at(0, 100, 0, o) == pytest.approx(0.1)
    assert train_mod.lr_at(50, 100, 0, o) == pytest.approx(0.05)
    assert train_mod.lr_at(100, 100, 0, o) == pytest.approx(0.0, abs=1e-12)
    assert [train_mod.lr_at(s, 100, 4, o) for s in range(4)] == pytest.approx([0.025, 0.05, 0.075, 0.1])
    assert train_mod.lr_at(4, 100, 4, o) == pytest.approx(0.1)
    c = OmegaConf.create({"lr": 0.1, "schedule": "constant"})
    assert train_mod.lr_at(99, 100, 0, c) == 0.1


def test_same_seed_same_results(tiny_cfg, tmp_path):
    a = tiny_cfg("optim.epochs=2", "activation=prelu", runs_dir=tmp_path / "a")
    b = tiny_cfg("optim.epochs=2", "activation=prelu", runs_dir=tmp_path / "b")
    train(a)
    train(b)
    assert run_dir(a).name == run_dir(b).name
    assert outputs(a) == outputs(b)
    # ...and a different seed gives a different run
    c = tiny_cfg("optim.epochs=2", "activation=prelu", "seed=1", runs_dir=tmp_path / "c")
    train(c)
    assert outputs(c)[0] != outputs(a)[0]


class Interrupt(Exception):
    pass


def count_steps(monkeypatch):
    calls = []
    real = train_mod.tensors.augment
    monkeypatch.setattr(train_mod.tensors, "augment", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


@pytest.fixture
def uninterrupted(tiny_cfg, tmp_path):
    cfg = tiny_cfg(*RESUME, runs_dir=tmp_path / "straight")
    train(cfg)
    return outputs(cfg)


def test_killed_run_resumes_to_the_same_result(tiny_cfg, tmp_path, monkeypatch, caplog, uninterrupted):
    """A kill (KeyboardInterrupt, SIGINT) after epoch 1 leaves the checkpoint; the rerun
    continues from it and ends exactly where an uninterrupted run ends."""
    cfg = tiny_cfg(*RESUME, runs_dir=tmp_path / "killed")
    out = run_dir(cfg)
    with monkeypatch.context() as m:
        crash_at_epoch(m, 2, STEPS, KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            train(cfg)
    assert (out / "checkpoint.pt").exists() and not (out / "summary.json").exists()
    assert [r["epoch"] for r in read_jsonl(out / "metrics.jsonl")] == [0, 1]

    steps = count_steps(monkeypatch)
    with caplog.at_level(logging.INFO, logger="rectifiers"):
        summary = train(cfg)
    assert "resuming after epoch 1" in caplog.text
    assert len(steps) == 2 * STEPS  # only epochs 2 and 3 were trained again
    assert summary["status"] == "ok" and not (out / "checkpoint.pt").exists()
    assert outputs(cfg) == uninterrupted


def test_failed_run_is_recorded_and_rerun_to_the_same_result(tiny_cfg, tmp_path, monkeypatch, uninterrupted):
    """An exception is recorded as status failed (and re-raised); a failed run is not
    skipped: the rerun trains and ends where an uninterrupted run ends."""
    cfg = tiny_cfg(*RESUME, runs_dir=tmp_path / "failed")
    out = run_dir(cfg)
    with monkeypatch.context() as m:
        crash_at_epoch(m, 2, STEPS, Interrupt("simulated crash"))
        with pytest.raises(Interrupt):
            train(cfg)
    failed = json.loads((out / "summary.json").read_text())
    assert failed["status"] == "failed" and failed["error"] == "Interrupt: simulated crash"
    assert failed["epochs_completed"] == 1 and failed["final_test_acc"] is None
    assert [r["epoch"] for r in read_jsonl(out / "metrics.jsonl")] == [0, 1]

    summary = train(cfg)
    assert summary["status"] == "ok" and summary["epochs_completed"] == 3
    assert outputs(cfg) == uninterrupted


def test_failed_run_resumes_from_its_checkpoint(tiny_cfg, tmp_path, monkeypatch, caplog):
    cfg = tiny_cfg(*RESUME, runs_dir=tmp_path / "failed")
    out = run_dir(cfg)
    with monkeypatch.context() as m:
        crash_at_epoch(m, 2, STEPS, Interrupt("simulated crash"))
        with pytest.raises(Interrupt):
            train(cfg)
    assert (out / "checkpoint.pt").exists(), "the failed run's progress was thrown away"
    steps = count_steps(monkeypatch)
    with caplog.at_level(logging.INFO, logger="rectifiers"):
        train(cfg)
    assert "resuming after epoch 1" in caplog.text
    assert len(steps) == 2 * STEPS


def test_a_failing_cleanup_never_hides_the_runs_error(tiny_cfg, tmp_path, monkeypatch, caplog):
    """The run's own exception reaches the caller even when writing its failed summary fails too;
    the second failure is logged with its traceback."""
    cfg = tiny_cfg(*RESUME, runs_dir=tmp_path / "masked")
    crash_at_epoch(monkeypatch, 2, STEPS, Interrupt("the run's error"))

    def broken_summary(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(train_mod.records, "summarise", broken_summary)
    with caplog.at_level(logging.INFO, logger="rectifiers"), pytest.raises(Interrupt, match="the run's error"):
        train(cfg)
    assert "the failed run's summary could not be written" in caplog.text and "OSError: disk full" in caplog.text


def test_tensorboard_logger_writes_each_epochs_metrics(tiny_cfg, tmp_path):
    """logger=tensorboard writes every epoch's scalars from metrics.jsonl into the run directory,
    and changes neither the run id nor the record."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    plain = tiny_cfg("optim.epochs=2", runs_dir=tmp_path / "plain")
    logged = tiny_cfg("optim.epochs=2", "logger=tensorboard", runs_dir=tmp_path / "logged")
    assert run_id(logged) == run_id(plain)
    train(plain)
    train(logged)
    assert outputs(logged) == outputs(plain)
    events = EventAccumulator(str(run_dir(logged) / "tensorboard"))
    events.Reload()
    metrics = read_jsonl(run_dir(logged) / "metrics.jsonl")
    for key in train_mod.SCALARS:
        expected = [(m["epoch"], m[key]) for m in metrics if m.get(key) is not None]
        assert expected, key
        scalars = events.Scalars(key)
        assert [e.step for e in scalars] == [epoch for epoch, _ in expected], key
        assert [e.value for e in scalars] == pytest.approx([v for _, v in expected], rel=1e-6), key  # float32
    assert not (run_dir(plain) / "tensorboard").exists()


def test_the_record_keeps_the_thread_count_which_the_run_id_leaves_out(tiny_cfg):
    """Threads split torch's sums, so they change the rounding, yet they stay out of the run id,
    which ~900 committed records carry (docs/design.md section 3): each summary says how many."""
    one, two = tiny_cfg("runtime.threads=1"), tiny_cfg("runtime.threads=2")
    assert run_id(one) == run_id(two)
    summary = train(one)
    assert summary["threads"] == 1 and summary["device"].endswith("1 thread)")


def test_finished_run_is_skipped(tiny_cfg, monkeypatch):
    cfg = tiny_cfg()
    first = train(cfg)
    metrics = run_dir(cfg) / "metrics.jsonl"
    mtime = metrics.stat().st_mtime_ns

    def no_loading(*a, **k):
        raise AssertionError("a finished run must not load data or train again")
    monkeypatch.setattr(train_mod.tensors, "load", no_loading)
    again = train(tiny_cfg("runtime.progress=true"))  # runtime settings do not change the identity
    assert again == first
    assert metrics.stat().st_mtime_ns == mtime


def test_absurd_learning_rate_is_recorded_as_diverged(tiny_cfg, monkeypatch, caplog):
    cfg = tiny_cfg("optim.lr=1e6", "optim.epochs=2")
    with caplog.at_level(logging.INFO, logger="rectifiers"):
        summary = train(cfg)  # does not raise
    out = run_dir(cfg)
    # the run's last line says where it diverged
    assert re.fullmatch(rf"{out.name} diverged · non-finite loss at epoch \d, step \d+ · {re.escape(str(out))}/",
                        caplog.messages[-1]), caplog.messages[-1]
    on_disk = json.loads((out / "summary.json").read_text())
    assert summary["status"] == on_disk["status"] == "diverged"
    assert "non-finite loss" in summary["error"]
    assert summary["final_test_acc"] is None
    assert not (out / "checkpoint.pt").exists()
    assert read_jsonl(out / "metrics.jsonl")[0]["epoch"] == 0
    # diverged is a finished result: not retrained
    monkeypatch.setattr(train_mod.tensors, "load", lambda *a, **k: pytest.fail("retrained"))
    assert train(cfg)["status"] == "diverged"


# --- scripts/train.py as a command ----------------------------------------------------------

def run_script(tmp_path, *overrides):
    cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), f"runs_dir={tmp_path / 'runs'}", *overrides]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path),
                               "PYTHONPATH": str(ROOT / "src")})


@pytest.mark.slow  # a fresh interpreter imports torch: a few seconds
def test_script_runs(tmp_path):
    p = run_script(tmp_path, "profile=smoke", "runtime.threads=1", "optim.epochs=1",
                   "data.synthetic_train=200", "data.synthetic_test=100", "monitor.probe_size=32",
                   "model.width=4", "model.depth=4")
    assert p.returncode == 0, p.stdout + p.stderr
    (summary_path,) = (tmp_path / "runs" / "smoke").glob("*/summary.json")
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "ok" and summary["profile"] == "smoke"
    assert "scripts/train.py" in summary["command"]
    assert "epoch 1/1" in p.stdout  # runtime.progress defaults to true
    assert re.search(r"epoch 1/1 .* test [\d.]+% of \d+ images ", p.stdout)  # the per-epoch subset, so labelled
    assert p.stdout.splitlines()[-1] == (f"{summary['run_id']} ok · final test {100 * summary['final_test_acc']:.1f}% "
                                         f"· {summary_path.parent}/")
    # Hydra's output folder is the run's: .hydra/ and train.log are there, and nowhere else
    assert [p.parent for p in tmp_path.rglob(".hydra")] == [summary_path.parent]
    assert (summary_path.parent / "train.log").exists() and not list(tmp_path.glob("outputs"))


@pytest.mark.slow  # a fresh interpreter imports torch: a few seconds
def test_script_rejects_unknown_activation_option(tmp_path):
    p = run_script(tmp_path, "profile=smoke", "activation=swish")
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "swish" in out
    for name in ("relu", "leaky_relu", "prelu"):
        assert name in out
    assert files_under(tmp_path / "runs") == []


@pytest.mark.slow  # a fresh interpreter imports torch: a few seconds
def test_script_rejects_unknown_activation_name(tmp_path):
    p = run_script(tmp_path, "profile=smoke", "activation.name=swish", "runtime.threads=1")
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "unknown activation 'swish'" in out and "relu, leaky_relu, prelu" in out
    # Hydra may create runs/smoke/ itself, but no run directory is made
    assert files_under(tmp_path / "runs") == []


def test_cuda_path_uses_bf16_autocast():
    """The GPU path (bf16 autocast) is built the same way on a machine without a GPU."""
    import warnings

    from rectifiers.training.device import autocast_for
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = autocast_for(torch.device("cuda"))()
    assert ctx.fast_dtype == torch.bfloat16 and ctx.device == "cuda"


@pytest.mark.slow
def test_compiled_model_trains(tiny_cfg):
    """runtime.compile=true (torch.compile) runs the same loop; checked on CPU here."""
    summary = train(tiny_cfg("runtime.compile=true"))
    assert summary["status"] == "ok" and summary["final_test_acc"] is not None

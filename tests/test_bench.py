"""The benchmark and the planner run in a fast mode and report measured numbers."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, load_script
from rectifiers.experiment import data

FIELDS = ("ceiling", "ours", "ours_steps", "ours_monitor_off", "standard", "ours_over_ceiling",
          "ours_steps_over_ceiling", "ours_over_standard", "monitor_overhead", "monitor_overhead_self_timed")


@pytest.mark.slow
def test_bench_fast_mode_writes_every_field(tmp_path):
    # on oneDNN's AVX2 kernels, which crashed it at width 4 (docs/design.md, Known issues), on any x86 CPU
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    out = subprocess.run([sys.executable, "scripts/bench.py", "--fast", "--out", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, f"return code {out.returncode}: {out.stderr[-2000:]}"
    r = json.loads((tmp_path / "fast.json").read_text())
    assert set(r["models"]) == {"plain", "resnet20"}
    for m in r["models"].values():
        assert all(m[f] > 0 for f in FIELDS)
        assert (m["train_images"], m["eval_images"]) == (500, 20)  # --images 500, 1 evaluated per 25
        # ratios are computed from the measured numbers, not constants
        assert m["ours_over_ceiling"] == pytest.approx(m["ours"] / m["ceiling"])
        assert m["ours_over_standard"] == pytest.approx(m["ours"] / m["standard"])
        assert m["monitor_overhead"] == pytest.approx(m["ours_monitor_off"] / m["ours"])
        assert m["monitor_overhead_self_timed"] > 1  # the monitor's time is measured, never zero
        # the palindrome: 4 ceiling blocks, 2 runs with the monitor and 2 without
        assert [len(m["samples"][k]) for k in ("ceiling", "ours", "ours_monitor_off")] == [4, 2, 2]
    s = r["sweep"]
    assert s["speedup"] == pytest.approx(s["one_job_s"] / s["two_jobs_s"]) and s["runs"] == 2
    for line in ("ceiling", "ours/standard", "monitor overhead", "speed-up"):
        assert line in out.stdout


@pytest.mark.slow
def test_plan_counts_the_runs_of_the_study_and_of_a_sample(capsys):
    """Two plans in one process (the second reuses the throughput the first timed): the smoke
    study's, then that of a one-seed sample reproduced on other data."""
    plan = load_script("plan")

    def runs(argv) -> tuple[str, dict]:
        assert plan.main(["--profile", "smoke", "--jobs", "2", *argv]) == 0
        out = capsys.readouterr().out
        assert "CPU:" in out and "GPU:" in out
        return out, {m[1]: int(m[2]) for m in re.finditer(r"^\s+(\w+)\s+(\d+)\s+\d+\s+\d+", out, re.M)}
    _, study = runs([])
    # smoke: 5 activations x 2 seeds x 3 learning rates; the other knobs share lr's baseline runs
    assert study["lr"] == 30 and study["batch_size"] == study["depth"] == study["init_bias"] == 20
    assert study["resnet"] == 10 and study["calibration"] == 12
    out, sample = runs(["--sample", "1", "--sample-trained", "0", "data.synthetic_train=300"])
    # one seed of each of 5 activations: lr's 3 levels, 2 more levels of each other knob
    assert sample == {"calibration": 12, "lr": 15, "batch_size": 10, "depth": 10, "init_bias": 10, "resnet": 5,
                      "plain_long": 10, "tuned": 50}  # the tuned grid: 5 rates x 2 depths x 5 activations, one seed
    assert "resnet_trained   not trained" in out and "no run of it is done" not in out


def test_plan_counts_the_images_each_run_trains_on(compose):
    # synthetic data has its own sizes; the real training set has 50,000 images and the test set 10,000
    assert data.sizes(compose(["profile=smoke"])) == (256, 128)
    assert data.sizes(compose(["profile=smoke", "data.train_size=100"])) == (100, 128)
    assert data.sizes(compose(["data.source=folder", "data.root=x", "data.train_size=null"])) == (50_000, 10_000)

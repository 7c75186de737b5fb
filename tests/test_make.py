"""The Makefile as a newcomer meets it: a bare `make` lists the targets and starts nothing, `make -n`
writes nothing, `make paper` never installs system packages (only `make tex` does), and every run
that `make train` starts is pinned to one thread. Each runs in a committed scratch copy."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import ROOT, copy_checkout

VENV = Path(sys.executable).parents[1]  # the environment running the tests: nothing is installed
OFFLINE = {"https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9", "no_proxy": ""}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = copy_checkout(tmp_path_factory.mktemp("make") / "repo")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    for step in (["init", "-q"], ["add", "-A", "-f"], ["commit", "-q", "-m", "the checkout"]):  # -f: committed reports
        subprocess.run([*git, *step], cwd=repo, check=True, capture_output=True)
    return repo


def make(repo, *args, env=None, venv=VENV):
    return subprocess.run([shutil.which("make"), f"VENV={venv}", "-o", f"{venv}/.installed", *args], cwd=repo,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(repo / "src"), **OFFLINE, **(env or {})})


def changed(repo) -> str:
    """What differs from the commit, ignored files included (reproductions/, runs/, .cache/)."""
    return subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=repo, capture_output=True,
                          text=True, check=True).stdout


def test_a_bare_make_lists_the_targets_and_starts_nothing(repo, tmp_path):
    p = make(repo, venv=tmp_path / "no-venv")  # were it to start the chain, it would stop at once
    assert p.returncode == 0, p.stdout + p.stderr
    listed = {line.split()[0] for line in p.stdout.splitlines()[1:] if line.startswith("  ") and line.split()}
    assert {"help", "reproduce", "train", "paper", "tex", "test", "smoke", "plan"} <= listed
    assert "under a minute" in p.stdout and "make plan says how long" in p.stdout  # the costs, or where they are
    assert changed(repo) == ""


@pytest.mark.parametrize("target", [["smoke"], ["reproduce"], ["reproduce", "PROFILE=smoke", "FRESH=1"]],
                         ids=" ".join)
def test_make_n_writes_nothing(repo, target):
    p = make(repo, "-n", *target)
    assert "scripts/compare.py locate" in p.stdout, p.stdout + p.stderr  # said, not run
    assert changed(repo) == ""


def test_make_paper_without_tex_says_what_to_install_and_installs_nothing(repo, tmp_path):
    """TeX missing from PATH, apt-get there (it would record a call): only the PDF is stale."""
    now = time.time()
    for f in repo.rglob("*"):
        if ".git" not in f.parts:
            os.utime(f, (now - 1000, now - 1000))
    for made in ("results", "figures", "paper/generated"):
        for f in (repo / made).rglob("*"):
            os.utime(f, (now - 500, now - 500))
    os.utime(repo / "paper" / "main.pdf", (now - 2000, now - 2000))
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "apt-get").write_text(f"#!/bin/sh\necho ran > {tmp_path / 'apt-get-ran'}\nexit 1\n")
    (bin_ / "apt-get").chmod(0o755)
    (bin_ / "id").symlink_to(shutil.which("id"))  # root here: an installing recipe would reach apt-get
    p = make(repo, "paper", env={"PATH": str(bin_)})
    assert not (tmp_path / "apt-get-ran").exists(), "make paper ran apt-get"
    assert p.returncode != 0
    assert "LaTeX is missing" in p.stdout and "make tex" in p.stdout and "apt-get install" in p.stdout, p.stdout
    assert changed(repo) == ""


def test_make_train_and_the_tuned_study_run_one_thread_per_run(repo, monkeypatch):
    """The thread count changes the rounding but not the run id (docs/design.md section 3): the
    records that make train commits are all made at one thread."""
    p = make(repo, "-n", "train", "PROFILE=smoke")
    sweeps = [line for line in p.stdout.splitlines() if "scripts/train.py" in line or "scripts/tune.py" in line]
    assert sweeps and "runtime.threads=1" in p.stdout.split("scripts/train.py")[1].split("||")[0]
    spec = importlib.util.spec_from_file_location("tune", ROOT / "scripts" / "tune.py")
    tune = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tune)
    calls = []
    monkeypatch.setattr(tune.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or SimpleNamespace(returncode=0))
    tune.sweep(SimpleNamespace(profile="smoke", overrides=[], records=Path("records"), jobs=2), "seed=0")
    (cmd,) = calls
    assert "runtime.threads=1" in cmd

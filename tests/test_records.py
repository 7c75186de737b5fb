"""The committed run records are the study's ground truth: each one keeps its run id under the
current identity, every study cell maps to its id, and results/<profile>/*.csv are exactly
what scripts/aggregate.py rebuilds from them."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from conftest import ROOT, image_tree, run_main
from rectifiers.experiment.config import identity, run_id
from rectifiers.experiment.data import CLASSES
from rectifiers.experiment.records import RECORD_FILES
from rectifiers.experiment.study import study_runs
from rectifiers.studies import CALIBRATION, SCALE_STUDIES, STUDIES, TUNED

RECORDS = sorted((ROOT / "results" / "cpu" / "runs").glob("*/summary.json"))


def summaries() -> dict:
    return {p.parent.name: json.loads(p.read_text()) for p in RECORDS}


@pytest.mark.skipif(not RECORDS, reason="no committed records")
def test_every_record_is_complete_and_its_config_gives_its_id():
    for rid, s in summaries().items():
        d = RECORDS[0].parents[1] / rid
        assert all((d / f).is_file() for f in RECORD_FILES), rid
        assert s["run_id"] == rid and s["status"] in ("ok", "diverged")
        cfg = OmegaConf.load(d / "config.yaml")
        assert identity(cfg, s["data_fingerprint"]) == s["config"], rid
        assert run_id(cfg, s["data_fingerprint"]) == rid
        assert len((d / "metrics.jsonl").read_text().splitlines()) == s["epochs_completed"] + 1


@pytest.mark.slow
@pytest.mark.skipif(not RECORDS, reason="no committed records")
def test_composing_the_studies_gives_the_committed_ids():
    """A changed default in conf/ would silently retrain the whole study under new ids."""
    from rectifiers.analysis.rules import RULES
    fingerprint = next(iter(summaries().values()))["data_fingerprint"]
    data = ["data.source=folder", "data.root=/nowhere"]  # the path does not enter the id
    ids = {run_id(cfg, fingerprint) for _, _, cfg in
           study_runs("cpu", (*CALIBRATION, *STUDIES, *SCALE_STUDIES, *TUNED), data)}
    grid = {rid for rid, s in summaries().items()  # the tuned study's edge steps and comparison come after its grid
            if "val_size" not in s["config"]["data"] or s["seed"] < 10 and s["config"]["optim"]["lr"] in
            RULES.tuning["rates"]}
    assert grid <= ids


@pytest.mark.slow
@pytest.mark.skipif(not RECORDS, reason="no committed records")
def test_aggregate_rebuilds_the_committed_tables_from_the_records(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "runs").symlink_to(RECORDS[0].parents[1])
    p = run_main("aggregate", ["--profile", "cpu", "--out", str(tmp_path)])
    assert p.returncode == 0, p.stderr
    for name in ("runs.csv", "calibration.csv", "tuned.csv", "study.json"):
        assert (tmp_path / "cpu" / name).read_bytes() == (ROOT / "results" / "cpu" / name).read_bytes(), name


def test_the_same_data_by_any_path_or_cache_gives_the_same_id(compose, tmp_path, monkeypatch):
    image_tree(tmp_path / "data")
    monkeypatch.chdir(tmp_path)

    def rid(*data):
        return run_id(compose(["profile=smoke", "data=cifar10", "data.source=folder", "data.train_size=null",
                               "data.eval_size=10", *data]))
    a = rid("data.root=data", "data.cache_dir=c1")
    assert rid(f"data.root={tmp_path / 'data'}/", "data.cache_dir=c2") == a
    img = tmp_path / "data" / "test" / CLASSES[3] / "1.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(img)  # other data: another id
    assert rid("data.root=data", "data.cache_dir=c1") != a


# --- the extension's order: its plan before its data ------------------------------------

def git(*args) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_the_profile_runs_the_seeds_the_plan_declares():
    from rectifiers.analysis.rules import RULES
    cpu = OmegaConf.load(ROOT / "conf" / "profile" / "cpu.yaml")
    assert cpu.profile.seeds == RULES.extension["seeds"]


def test_the_extension_plan_and_its_calibration_were_committed_before_any_record_it_decides():
    """No record with a seed of 5 or more may exist before the commit that declared the
    extension (conf/claims.yaml) with its calibration at that many seeds (docs/design.md
    section 6). Checked on the history, so a rewritten order fails here."""
    if git("rev-parse", "--is-shallow-repository").strip() == "true":
        pytest.skip("a shallow clone has no history to check the order on (git fetch --unshallow)")
    from rectifiers.analysis.rules import RULES
    added = git("log", "--reverse", "--format=%H", "-S", "extension:", "--", "conf/claims.yaml").split()
    assert added, "conf/claims.yaml never declared the extension"
    plan = added[0]
    calibration = git("show", f"{plan}:results/cpu/claims_calibration.csv").splitlines()
    seeds_col = calibration[0].split(",").index("seeds")
    assert {int(row.split(",")[seeds_col]) for row in calibration[1:]} == {RULES.extension["seeds"]}
    later = [c.split("\n", 1) for c in git("log", "--reverse", "--diff-filter=A", "--format=%x00%H",
                                         "--name-only", "--", "results/cpu/runs").split("\0") if c.strip()]
    extension = [h for h, names in later
                 if any(int(n.split("/")[3].rsplit("-s", 1)[1]) >= 5 for n in names.split()
                        if n.endswith("summary.json"))]
    if not extension:
        assert all(int(p.parent.name.rsplit("-s", 1)[1]) < 5 for p in RECORDS)
        return
    first = extension[0].strip()
    assert first != plan
    subprocess.run(["git", "merge-base", "--is-ancestor", plan, first], cwd=ROOT, check=True)


def test_claim3_sensitivity_analyses_were_declared_before_its_ten_seed_verdict():
    """conf/claims.yaml's sensitivity block (claim 3's calibrated level and collapse test) must be
    in the history before the first commit, after the extension's plan, whose numbers.tex gives
    claim 3's verdict on its complete runs (a result no longer "not yet run")."""
    if git("rev-parse", "--is-shallow-repository").strip() == "true":
        pytest.skip("a shallow clone has no history to check the order on (git fetch --unshallow)")
    declared = git("log", "--reverse", "--format=%H", "-S", "sensitivity:", "--", "conf/claims.yaml").split()
    assert declared, "conf/claims.yaml never declared the sensitivity analyses"
    plan = git("log", "--reverse", "--format=%H", "-S", "extension:", "--", "conf/claims.yaml").split()[0]
    numbers = "paper/generated/numbers.tex"
    for commit in git("log", "--reverse", "--format=%H", f"{plan}..HEAD", "--", numbers).split():
        text = git("show", f"{commit}:{numbers}")
        result = next(line for line in text.splitlines() if line.startswith(r"\newcommand{\ClaimThreeResult}"))
        if "not yet run" not in result:
            assert commit != declared[0], "the verdict and the sensitivity block arrived in one commit"
            subprocess.run(["git", "merge-base", "--is-ancestor", declared[0], commit], cwd=ROOT, check=True)
            return


def test_the_tuned_study_was_declared_before_its_first_record():
    """conf/claims.yaml's tuning block and conf/study/tuned.yaml (the rates, seeds, selection rule
    and comparison) must be in the history before the first record of a run scored on validation
    images, and agree with each other."""
    from rectifiers.analysis.rules import RULES
    study = OmegaConf.load(ROOT / "conf" / "study" / "tuned.yaml")
    params, tuning = OmegaConf.to_container(study.hydra.sweeper.params), RULES.tuning  # unresolved
    assert [float(v) for v in str(params["optim.lr"]).split(",")] == tuning["rates"]
    assert [int(v) for v in str(params["model.depth"]).split(",")] == tuning["depths"]
    assert params["seed"] == "range(0,${profile.tuned.selection_seeds})"
    cpu = OmegaConf.load(ROOT / "conf" / "profile" / "cpu.yaml").profile.tuned
    assert cpu.val_size == tuning["validation"] and study.study.name == tuning["study"]
    assert tuning["selection_seeds"] == list(range(cpu.selection_seeds))
    assert tuning["comparison_seeds"] == list(range(10, 10 + cpu.comparison_seeds))
    assert not set(tuning["selection_seeds"]) & set(tuning["comparison_seeds"])
    if git("rev-parse", "--is-shallow-repository").strip() == "true":
        pytest.skip("a shallow clone has no history to check the order on (git fetch --unshallow)")
    tuned = [str(p.relative_to(ROOT)) for p in RECORDS if "val_size" in json.loads(p.read_text())["config"]["data"]]
    if not tuned:
        return
    declared = git("log", "--reverse", "--format=%H", "-S", "tuning:", "--", "conf/claims.yaml").split()
    assert declared, "conf/claims.yaml never declared the tuned study"
    first = git("log", "--reverse", "--diff-filter=A", "--format=%H", "--", *tuned).split()[0]
    assert first != declared[0], "the plan and a record arrived in one commit"
    subprocess.run(["git", "merge-base", "--is-ancestor", declared[0], first], cwd=ROOT, check=True)
    study_declared = git("log", "--reverse", "--format=%H", "--", "conf/study/tuned.yaml").split()[0]
    subprocess.run(["git", "merge-base", "--is-ancestor", study_declared, first], cwd=ROOT, check=True)

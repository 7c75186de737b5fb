"""One placement of runs into cells, one reader of summary.json: the stress grid's model and
budget in conf/claims.yaml are the studies' (its levels are declared once, conf/levels.yaml:
tests/test_levels.py), the tables' cells are the claims' cells, and every reader of a record
reads it the same way."""
from __future__ import annotations

import json

import pytest

from rectifiers.analysis import results
from rectifiers.analysis.rules import RULES
from rectifiers.experiment.records import load_summary, read_summary
from rectifiers.experiment.study import read_outcome, study_runs
from rectifiers.files import RESULTS
from rectifiers.studies import STUDIES


def test_the_claims_design_has_the_studies_model_and_budget():
    """conf/claims.yaml's design.stress (pre-registered) names the model and budget that
    conf/study/*.yaml train at, and the reference network the one study with a single level."""
    runs = study_runs("cpu", STUDIES)
    design, levels, model = RULES.design["stress"], {}, {}
    for name, cell, cfg in runs:
        model[name] = cfg.model.name
        levels.setdefault(name, set()).add(cell[cfg.study.knob])
    stress = [n for n in STUDIES if len(levels[n]) > 1]
    assert {model[n] for n in stress} == {design["model"]}
    assert {(c.data.train_size, c.optim.epochs) for _, _, c in runs} == {(design["train_size"], design["epochs"])}
    assert [model[n] for n in STUDIES if n not in stress] == [RULES.design["trained"]["model"]]


def test_the_tables_place_the_committed_runs_in_the_claims_cells():
    res = results.load(RESULTS / "cpu")
    t = res.tidy().set_index("run_id")
    frame = results.cell_frame(res.runs, res.study)
    stress = t[t.scale == "stress"]
    assert sorted(frame.run_id) == sorted(stress.index)
    assert (frame.cell.to_numpy() == stress.cell[frame.run_id].to_numpy()).all()
    assert {c.key for c in results.cells(res.study)} == set(RULES.stress_cells()) | {"resnet20"}


def record(tmp_path, text: str):
    d = tmp_path / "plain8-relu-0123456789-s0"
    d.mkdir()
    (d / "summary.json").write_text(text)
    return d


def test_one_summary_reader_reads_a_record(tmp_path):
    s = {"run_id": "plain8-relu-0123456789-s0", "status": "ok", "config": {}, "final_test_acc": 0.4}
    d = record(tmp_path, json.dumps(s))
    assert load_summary(d / "summary.json") == s == read_summary(d / "summary.json") == read_outcome(d)
    assert read_summary(tmp_path / "none" / "summary.json") is None and read_outcome(None) is None


@pytest.mark.parametrize("text", ["{not json", json.dumps({"run_id": "x"}), "[1, 2]"])
def test_a_damaged_summary_is_refused_by_every_reader_and_set_aside_only_by_training(tmp_path, text):
    d = record(tmp_path, text)
    with pytest.raises(ValueError):
        load_summary(d / "summary.json")
    assert read_outcome(d) is None and (d / "summary.json").exists()  # only read
    assert read_summary(d / "summary.json") is None and not (d / "summary.json").exists()  # set aside

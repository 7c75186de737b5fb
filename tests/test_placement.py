"""One placement of runs into cells, one reader of summary.json: the stress grid's two
declarations (conf/study/*.yaml and conf/claims.yaml) agree, the tables' cells are the
claims' cells, and every reader of a record reads it the same way."""
from __future__ import annotations

import json

import pytest

from rectifiers.analysis import results
from rectifiers.analysis.rules import RULES
from rectifiers.files import RESULTS
from rectifiers.knobs import BY_KEY
from rectifiers.spec.records import load_summary, read_summary
from rectifiers.spec.study import read_outcome, study_runs
from rectifiers.studies import STUDIES


def test_the_two_declarations_of_the_stress_grid_agree():
    """conf/claims.yaml's design.stress (pre-registered) is the grid conf/study/*.yaml sweeps:
    the same knobs, levels, baseline, model and budget, and the same reference network."""
    runs = study_runs("cpu", STUDIES)
    levels, model, column = {}, {}, {}
    for name, cell, cfg in runs:
        column[name], model[name] = BY_KEY[cfg.study.knob].column, cfg.model.name
        levels.setdefault(name, {})[cell[cfg.study.knob]] = None  # an ordered set
    levels = {n: list(v) for n, v in levels.items()}
    stress = [n for n in STUDIES if len(levels[n]) > 1]
    design = RULES.design["stress"]
    assert {column[n]: levels[n][1:] for n in stress} == design["knobs"] and \
        [column[n] for n in stress] == list(design["knobs"])
    assert {column[n]: levels[n][0] for n in stress} == design["baseline"]
    for name, _, cfg in runs:  # each study holds the other knobs at the declared baseline
        row = {"lr": cfg.optim.lr, "batch_size": cfg.optim.batch_size, "depth": cfg.model.depth,
               "init_bias": cfg.model.init.bias}
        if name in stress:
            assert {c: v for c, v in row.items() if c != column[name]} == \
                {c: v for c, v in design["baseline"].items() if c != column[name]}
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

"""The tuned study's rules (analysis/tuning.py), against values worked out by hand."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT
from rectifiers.analysis import tuning
from rectifiers.analysis.rules import RULES

RULES3 = dataclasses.replace(RULES, tuning={**RULES.tuning, "rates": [0.01, 0.02, 0.05], "selection_seeds": [0, 1],
                                            "comparison_seeds": [10, 11], "budget": [1, 2]})


def run(lr, seed, val, status="ok", act="relu", depth=8, test=None):
    return {"depth": depth, "act": act, "lr": lr, "seed": seed, "status": status, "final_val_acc": val,
            "final_test_acc": test if test is not None else val, "dead_ratio_final": 0.0, "dead_ratio_peak": 0.0}


def test_a_diverged_run_scores_chance_and_a_failed_one_is_missing():
    t = pd.DataFrame([run(0.01, 0, 0.5), run(0.02, 0, None, "diverged"), run(0.05, 0, None, "failed")])
    assert tuning.val_score(t).tolist()[:2] == [0.5, 0.10]
    assert pd.isna(tuning.val_score(t).iloc[2])


def test_the_best_mean_validation_accuracy_chooses_and_a_tie_goes_to_the_smaller_rate():
    t = pd.DataFrame([
        run(0.01, 0, 0.40), run(0.01, 1, 0.50),                 # mean 0.45
        run(0.02, 0, 0.60), run(0.02, 1, 0.30),                 # mean 0.45: tie with 0.01 -> 0.01
        run(0.05, 0, 0.80), run(0.05, 1, None, "diverged"),     # (0.80 + 0.10) / 2 = 0.45: tie too
        run(0.01, 10, 0.99),                                    # a comparison seed: never chooses
        run(0.01, 0, 0.2, act="prelu"), run(0.02, 0, 0.6, act="prelu"), run(0.05, 0, 0.5, act="prelu"),
    ])
    s = tuning.scores(t, RULES3)
    relu = s[s.act == "relu"].set_index("lr")
    assert relu["mean"].round(10).tolist() == [0.45, 0.45, 0.45] and relu["count"].tolist() == [2, 2, 2]
    chosen = tuning.choose(s).set_index("act").lr
    assert chosen["relu"] == 0.01 and chosen["prelu"] == 0.02


def test_a_rate_at_an_edge_of_the_grid_gets_one_step_beyond_it():
    chosen = pd.DataFrame({"depth": [8, 8, 20], "act": ["relu", "prelu", "relu"], "lr": [0.01, 0.02, 0.05]})
    rules = dataclasses.replace(RULES3, tuning={**RULES3.tuning, "beyond_edge": {"below": 0.005, "above": 0.1}})
    assert tuning.beyond_edge(chosen, rules) == [(8, "relu", 0.005), (20, "relu", 0.1)]
    tried = pd.DataFrame({"depth": [8] * 4 + [20] * 3, "act": ["relu"] * 4 + ["relu"] * 3,
                          "lr": [0.005, 0.01, 0.02, 0.05, 0.01, 0.02, 0.05]})
    after = pd.DataFrame({"depth": [8, 20], "act": ["relu", "relu"], "lr": [0.01, 0.05]})
    assert tuning.edge(after, tried).tolist() == [False, True]  # 0.01 is inside once 0.005 was tried


def test_expected_best_of_k_trials_by_hand():
    # values 0.2, 0.4, 0.6 (n = 3): k = 1 is the mean, 0.4;
    # k = 2: 0.2 (1/9) + 0.4 (4/9 - 1/9) + 0.6 (1 - 4/9) = (0.2 + 1.2 + 3.0) / 9 = 4.4 / 9
    assert tuning.expected_best([0.6, 0.2, 0.4], 1) == pytest.approx(0.4)
    assert tuning.expected_best([0.6, 0.2, 0.4], 2) == pytest.approx(4.4 / 9)
    assert tuning.expected_best([0.6, 0.2, 0.4], 50) == pytest.approx(0.6, abs=1e-8)  # many trials: the best


def test_budget_curves_use_the_grid_runs_of_the_selection_seeds_only():
    t = pd.DataFrame([run(0.01, 0, 0.2), run(0.02, 0, 0.4), run(0.05, 1, None, "diverged"),
                      run(0.005, 0, 0.9),        # an edge step: not a random trial of the grid
                      run(0.02, 10, 0.9)])       # a comparison seed
    c = tuning.budget_curves(t, RULES3).set_index("k")
    assert c.trials.tolist() == [3, 3]
    # values 0.1, 0.2, 0.4: k = 1 -> 0.7 / 3; k = 2 -> (0.1 + 0.2 * 3 + 0.4 * 5) / 9 = 2.7 / 9
    assert c.expected_best[1] == pytest.approx(0.7 / 3) and c.expected_best[2] == pytest.approx(0.3)


def test_the_comparison_takes_the_fresh_seeds_at_the_chosen_rate():
    t = pd.DataFrame([run(0.01, 10, 0.5, test=0.45), run(0.02, 10, 0.6, test=0.55), run(0.01, 0, 0.7),
                      run(0.02, 11, None, "diverged"), run(0.02, 10, 0.3, act="prelu", test=0.35)])
    chosen = pd.DataFrame({"depth": [8, 8], "act": ["relu", "prelu"], "lr": [0.02, 0.02]})
    c = tuning.comparison_runs(t, chosen, RULES3)
    assert sorted(zip(c.act, c.seed, c.acc)) == [("prelu", 10, 0.35), ("relu", 10, 0.55), ("relu", 11, 0.10)]


def test_the_tuned_comparison_pairs_each_activation_with_relu_by_seed():
    # relu at 0.02: seeds 10, 11, 12 -> 0.50, 0.40, 0.10 (seed 12 diverged: chance);
    # prelu at 0.05: 0.60, 0.40, 0.30 -> differences +0.10, 0.00, +0.20: mean 0.10,
    # P(improvement) = (1 + 1/2 + 1) / 3 = 5/6; trained 3 of 3 (relu: 2 of 3)
    t = pd.DataFrame([run(0.02, 10, 0.5), run(0.02, 11, 0.4), run(0.02, 12, None, "diverged"),
                      run(0.05, 10, 0.6, act="prelu"), run(0.05, 11, 0.4, act="prelu"),
                      run(0.05, 12, 0.3, act="prelu")])
    chosen = pd.DataFrame({"depth": [8, 8], "act": ["relu", "prelu"], "lr": [0.02, 0.05]})
    rules = dataclasses.replace(RULES3, tuning={**RULES3.tuning, "comparison_seeds": [10, 11, 12]})
    c = tuning.compare(tuning.comparison_runs(t, chosen, rules), rules).set_index("act")
    assert c.gain["prelu"] == pytest.approx(0.10) and c.poi["prelu"] == pytest.approx(5 / 6)
    assert c.gain_low["prelu"] <= 0.10 <= c.gain_high["prelu"] and c.lr["prelu"] == 0.05
    assert (c.n_trained["relu"], c.n_trained["prelu"]) == (2, 3) and c.gain["relu"] == 0
    assert c.share_low["relu"] == pytest.approx(0.0943, abs=1e-4)  # Clopper-Pearson 2/3: [0.0943, 0.9916]


def test_the_summary_counts_the_grid_and_is_empty_before_any_run():
    empty = tuning.summarise(pd.DataFrame(columns=["depth", "act", "lr", "seed", "status", "final_val_acc"]), RULES3)
    assert empty.grid_runs == 0 and empty.grid_planned == 2 * 5 * 3 * 2 and not empty.selected
    assert empty.chosen.empty and empty.comparison.empty
    t = pd.DataFrame([run(0.01, 0, 0.4), run(0.02, 0, 0.5), run(0.02, 1, 0.6), run(0.05, 0, None, "diverged")])
    s = tuning.summarise(t, RULES3)
    assert s.grid_runs == 4 and s.chosen.lr.tolist() == [0.02] and s.chosen.at_edge.tolist() == [False]
    assert s.comparison.empty  # no comparison seed yet


@pytest.mark.parametrize("fixed, tuned, word", [
    ((0.02, 0.08), (0.01, 0.05), "survives"), ((0.02, 0.08), (-0.01, 0.03), "vanishes"),
    ((0.02, 0.08), (-0.05, -0.01), "reverses"), ((-0.03, -0.01), (-0.02, 0.01), "vanishes"),
    ((-0.03, 0.01), (0.01, 0.02), "appears"), ((-0.03, 0.01), (-0.01, 0.01), "is absent either way"),
    ((-0.03, -0.01), (-0.05, -0.02), "remains a loss")])
def test_what_tuning_did_to_a_difference_is_read_from_the_two_intervals(fixed, tuned, word):
    assert tuning.fate(fixed, tuned) == word


def test_the_papers_tuned_numbers_come_from_the_fake_study(tmp_path):
    from fake_results import write_fake_results
    from rectifiers.analysis import results
    from rectifiers.render.tuned_numbers import tuned_numbers
    fake = write_fake_results(tmp_path / "fake")
    m = tuned_numbers(results.load_tuned(fake), results.load(fake).tidy())
    assert m["TunedGridRuns"] == m["TunedGridPlanned"] == "150" and m["TunedComparisonRuns"] == "100"
    assert m["TunedRateEightRelu"] == "0.02"  # the fake's validation accuracy peaks there
    assert m["TunedFateEightPrelu"] in {"survives", "vanishes", "appears", "is absent either way", "reverses",
                                        "remains a loss", "turns into a gain", "appears as a loss"}
    assert (m["TunedSentence"].startswith("With each activation's learning rate tuned")
            and "depth 20" in m["TunedSentence"])
    assert all(name.isalpha() for name in m)


def test_the_tuned_sentence_groups_the_differences_by_what_tuning_did():
    from rectifiers.render.tuned_numbers import FATE_ORDER, sentence
    fates = [(8, "leaky_relu_0.3", "survives", None, None), (20, "leaky_relu_0.3", "survives", None, None),
             (20, "prelu", "survives", None, None), (8, "leaky_relu_0.01", "appears", None, None),
             (20, "leaky_relu_0.01", "is absent either way", None, None)]
    assert sentence(fates, None) == (
        "With each activation's learning rate tuned on held-out images, the difference from ReLU survives for "
        "Leaky 0.3 at depths 8 and 20 and PReLU at depth 20; appears for Leaky 0.01 at depth 8; and is absent "
        "either way for Leaky 0.01 at depth 20.")
    assert sentence(fates[3:4], None).endswith("the difference from ReLU appears for Leaky 0.01 at depth 8.")
    words = {tuning.fate(f, t) for f in [(1, 2), (-1, 1), (-2, -1)] for t in [(1, 2), (-1, 1), (-2, -1)]}
    assert set(FATE_ORDER) == words  # every fate has its place in the text


@pytest.mark.slow
def test_tune_runs_its_three_steps_through_the_real_sweeps(tmp_path):
    """scripts/tune.py as `make train` calls it, on a two-activation, one-depth slice of the smoke
    profile's tuned study: the selection grid (every declared rate), a step beyond an edge where
    the chosen rate is the grid's lowest or highest, then the chosen rates on the comparison seeds."""
    records = tmp_path / "records"
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "tune.py"), "--profile", "smoke", "--records",
                          str(records), "--jobs", "1", 'hydra.sweeper.params.activation="relu,prelu"',
                          "model.depth=8", "profile.tuned.comparison_seeds=1",
                          f"runs_dir={tmp_path / 'runs'}", f"hydra.sweep.dir={tmp_path / 'multirun'}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    runs = [json.loads(p.read_text()) for p in records.glob("*/summary.json")]
    assert all(s["status"] == "ok" and s["config"]["data"]["val_size"] for s in runs)
    grid = {(s["config"]["activation"]["name"], s["config"]["optim"]["lr"]) for s in runs if s["config"]["seed"] == 0}
    assert {(a, lr) for a in ("relu", "prelu") for lr in RULES.tuning["rates"]} <= grid
    beyond = grid - {(a, lr) for a in ("relu", "prelu") for lr in RULES.tuning["rates"]}
    assert {lr for _, lr in beyond} <= set(RULES.tuning["beyond_edge"].values())
    compared = [s for s in runs if s["config"]["seed"] == 10]
    assert sorted(s["config"]["activation"]["name"] for s in compared) == ["prelu", "relu"]
    assert "tune: chosen rates" in out.stdout

"""The tuned study's rules (analysis/tuning.py), against values worked out by hand."""
from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

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

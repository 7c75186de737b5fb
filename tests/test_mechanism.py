"""rectifiers.analysis.mechanism and rectifiers.render.mechanism_numbers on small hand-made
tables, each expected value worked out by hand in the comments."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from rectifiers.analysis import mechanism as mech
from rectifiers.render.mechanism_numbers import mechanism_numbers

CHANCE = 0.105


def acc(*values) -> pd.Series:
    return pd.Series(values, index=range(len(values)), dtype=float)


def test_split_groups_keeps_groups_with_both_outcomes():
    t = pd.DataFrame({
        "scale": ["long", "long", "long", "long", "stress", "stress", None, None],
        "cell": ["d20", "d20", "d20", "d8", "lr", "lr", None, None],
        "act": ["relu"] * 8,
        "run_id": list("abcdefgh"),
        "collapsed": [1.0, 0.0, np.nan, 0.0, 1.0, 1.0, 1.0, 0.0],   # c failed: NaN
        "diverged": [True, False, False, False, False, False, False, False]})
    g = mech.split_groups(t)
    # long/d20: a collapsed, b trained (c failed, left out) -> kept, 2 runs, 1 collapsed, 1 diverged;
    # long/d8 all trained, stress/lr all collapsed, no scale -> dropped
    assert g[["scale", "cell", "act", "runs", "collapsed", "diverged"]].values.tolist() == [
        ["long", "d20", "relu", 2, 1, 1]]


def test_collapse_epoch_is_the_first_epoch_at_chance_for_good():
    assert mech.collapse_epoch(acc(0.10, 0.20, 0.10, 0.10), CHANCE) == 2   # learned at 1, chance from 2 on
    assert mech.collapse_epoch(acc(0.10, 0.10, 0.10), CHANCE) == 1         # epoch 0 (init) does not count
    # a blip to 0.13 at epoch 3 stays below `learned` (0.15): the collapse is still epoch 1
    assert mech.collapse_epoch(acc(0.10, 0.10, 0.10, 0.13, 0.10), CHANCE) == 1
    # at chance at 1, then 0.20 at 2 (learning), chance again from 3: epoch 3
    assert mech.collapse_epoch(acc(0.10, 0.10, 0.20, 0.10), CHANCE) == 3
    assert np.isnan(mech.collapse_epoch(acc(0.10, 0.10, 0.30), CHANCE))    # recovered: no collapse


def test_first_above():
    dead = pd.Series([0.0, 0.05, 0.2, 0.3], index=[0, 1, 2, 3])
    assert mech.first_above(dead, 0.1) == 2      # 0.2 > 0.1 first at epoch 2
    assert mech.first_above(dead, 0.0) == 1      # strictly above: 0.05 at epoch 1
    assert np.isnan(mech.first_above(dead, 0.5))


@pytest.mark.parametrize("collapse, death, diverged, expected", [
    (2, 1, False, "death first"), (1, 1, False, "same epoch"), (1, 2, False, "collapse first"),
    (1, np.nan, False, "collapse without death"), (np.nan, 1, False, "death without collapse"),
    (np.nan, np.nan, False, "neither"), (1, np.nan, True, "diverged")])
def test_order(collapse, death, diverged, expected):
    assert mech.order(collapse, death, diverged) == expected


def tiny():
    """Three runs of one group: r1 collapses at epoch 1 with deaths from epoch 1 (same
    epoch), r2 trains, r3 diverges during epoch 2 (1 epoch completed)."""
    t = pd.DataFrame({"scale": "long", "cell": "depth=20", "act": "relu", "depth": 20, "init_bias": 0.0,
                      "seed": [0, 1, 2], "run_id": ["r1", "r2", "r3"], "status": ["ok", "ok", "diverged"],
                      "collapsed": [1.0, 0.0, 1.0], "diverged": [False, False, True], "epochs_completed": [3, 3, 1]})
    e = pd.DataFrame({"run_id": ["r1"] * 4 + ["r2"] * 4 + ["r3"] * 2, "epoch": [0, 1, 2, 3] * 2 + [0, 1],
                      "test_acc": [0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.4, 0.1, 0.2],
                      "dead_ratio": [0.0, 0.2, 0.3, 0.4, 0.01, 0.02, 0.0, 0.0, 0.0, 0.0]})
    layers = pd.DataFrame({"run_id": ["r1"] * 6 + ["r2"] * 6, "epoch": [1, 1, 1, 3, 3, 3] * 2, "layer": [0, 1, 2] * 4,
                           "grad_norm": [0.2, 0.3, 0.4, 1e-5, 1e-3, 0.1, 0.3, 0.3, 0.3, 0.5, 0.5, 0.5],
                           "slope_mean": np.nan, "slope_min": np.nan, "slope_max": np.nan})
    return t, e, layers


def test_timelines_by_hand():
    t, e, _ = tiny()
    tl = mech.timelines(t, e, mech.split_groups(t)).set_index("run_id")
    # r1: chance from epoch 1 on -> collapse 1; dead 0.2 > 0.1 first at 1 -> same epoch;
    # before the collapse (epoch 0) 0.0, at it 0.2, at the end 0.4
    assert tl.loc["r1", ["collapse_epoch", "dead_epoch", "order"]].tolist() == [1, 1, "same epoch"]
    assert tl.loc["r1", ["dead_init", "dead_epoch1", "dead_before", "dead_at_collapse", "dead_end"]].tolist() == \
        [0.0, 0.2, 0.0, 0.2, 0.4]
    # r2 never collapses and never passes 10%: neither; ends at 0.0
    assert tl.loc["r2", "order"] == "neither" and np.isnan(tl.loc["r2", "collapse_epoch"])
    assert tl.loc["r2", "dead_end"] == 0.0
    # r3 diverged during epoch 1 + 1 = 2; no end value
    assert tl.loc["r3", "order"] == "diverged" and tl.loc["r3", "collapse_epoch"] == 2
    assert np.isnan(tl.loc["r3", "dead_end"])


def test_rank_test_is_exact():
    # [1, 2] vs [3, 4, 5]: U = 0, the most extreme of C(5, 2) = 10 splits, on both sides: p = 2/10
    assert mech.rank_test([1, 2], [3, 4, 5]) == pytest.approx(0.2)
    # [1, 2] vs [3, 4]: 2 of C(4, 2) = 6 splits as extreme: p = 1/3
    assert mech.rank_test([1, 2], [3, 4]) == pytest.approx(1 / 3)
    assert np.isnan(mech.rank_test([1], [2, 3]))          # one value: no test
    assert np.isnan(mech.rank_test([0, 0], [0, 0, 0]))    # no spread: no test


def test_compare_medians_and_p():
    tl = pd.DataFrame({"scale": "s", "cell": "c", "act": "relu", "status": "ok",
                       "collapsed": [True, True, False, False, False], "v": [0.3, 0.5, 0.0, 0.1, 0.2]})
    r = mech.compare(tl, "v").iloc[0]
    # medians 0.4 and 0.1; every collapsed value above every trained one: p = 2/C(5,2) = 0.2
    assert (r.n_collapsed, r.n_trained) == (2, 3)
    assert r.collapsed == pytest.approx(0.4) and r.trained == pytest.approx(0.1) and r.p == pytest.approx(0.2)


def test_grad_by_layer_and_ratios():
    _, _, layers = tiny()
    first = mech.grad_ratios(mech.grad_by_layer(layers, ["r1", "r2"], 1))
    assert first["r1"] == pytest.approx(0.2 / 0.4) and first["r2"] == pytest.approx(1.0)   # 0.5 and 0.3/0.3
    end = mech.grad_ratios(mech.grad_by_layer(layers, ["r1"], None))                     # last epoch: 3
    assert end["r1"] == pytest.approx(1e-5 / 0.1)                                         # 1e-4: vanished


def test_prelu_slopes_reads_the_last_measurement():
    layers = pd.DataFrame({"run_id": "p", "epoch": [1, 1, 2, 2], "layer": [0, 1, 0, 1],
                           "slope_mean": [0.9, 0.9, 0.2, 0.3], "slope_min": [0.9, 0.9, 0.1, 0.25],
                           "slope_max": [0.9, 0.9, 0.3, 0.4]})
    s = mech.prelu_slopes(layers, ["p"])
    # epoch 2 only: min 0.1, max 0.4, mean (0.2 + 0.3) / 2 = 0.25
    assert (s["min"], s["max"], s["mean"]) == pytest.approx((0.1, 0.4, 0.25))


def signal_table() -> pd.DataFrame:
    """Two seeds of ReLU at depth 3: seed 0's second moment halves per layer (2, 1, 0.5),
    seed 1's stays 1."""
    return pd.DataFrame({"depth": 3, "init_bias": 0.0, "act": "relu", "seed": [0, 0, 0, 1, 1, 1],
                         "layer": [0, 1, 2] * 2, "second_moment": [2, 1, 0.5, 1, 1, 1],
                         "log_spread": [0.1, 0.2, 0.3, 0.3, 0.4, 0.5], "cosine": [0.0, 0.5, 0.8, 0.0, 0.5, 0.6],
                         "images": 4})


def test_signal_profile_and_ends():
    p = mech.signal_profile(signal_table()).set_index("layer")
    # relative to layer 0: seed 0 (1, 0.5, 0.25), seed 1 (1, 1, 1); geometric means 1, sqrt(0.5), sqrt(0.25)
    assert p.rel.tolist() == pytest.approx([1.0, np.sqrt(0.5), 0.5])
    assert p.cosine.tolist() == pytest.approx([0.0, 0.5, 0.7])
    end = mech.signal_ends(signal_table()).iloc[0]
    assert (end.rel, end.cosine, end.log_spread, end.cosine_first) == pytest.approx((0.5, 0.7, 0.4, 0.0))


def test_init_link_joins_each_seed_to_its_run():
    tl = pd.DataFrame({"depth": 3, "init_bias": 0.0, "act": "relu", "seed": [0, 1], "run_id": ["a", "b"]})
    link = mech.init_link(signal_table(), tl).set_index("run_id")
    # seed 0: last cosine 0.8, log(0.5 / 2); seed 1: 0.6, log(1)
    assert link.cos_last.tolist() == pytest.approx([0.8, 0.6])
    assert link.log_rel.tolist() == pytest.approx([np.log(0.25), 0.0])


def test_signal_settings_follow_the_declared_design():
    assert mech.signal_settings() == [(8, 0.0), (20, 0.0), (8, -0.5)]
    assert mech.signal_acts() == ["relu", "leaky_relu_0.01", "leaky_relu_0.1", "leaky_relu_0.3", "prelu"]


def test_mechanism_numbers_on_a_tiny_table(tmp_path: Path):
    t, e, layers = tiny()
    res = SimpleNamespace(tidy=lambda: t, epochs=e, layers=layers, dir=tmp_path)  # no signal_scale.csv
    m = mechanism_numbers(res)
    assert all(k.isalpha() for k in m)
    # one split group of 3 runs: r1 collapsed (finished), r3 diverged, r2 trained
    assert (m["MechSplitGroups"], m["MechSplitRuns"], m["MechCollapsedRuns"], m["MechDivergedRuns"],
            m["MechTrainedRuns"]) == ("1", "3", "1", "1", "1")
    assert (m["MechDeathSameEpoch"], m["MechDeathFirst"], m["MechNeitherDeathNorCollapse"]) == ("1", "0", "1")
    assert m["MechLowDeadBeforeCollapse"] == "1"          # r1: 0.0 at epoch 0 < 5%
    assert m["MechDeadRoseAfterCollapse"] == "1"          # r1: 0.2 at the collapse, 0.4 at the end
    assert (m["MechDeadEpochOneCollapsed"], m["MechDeadEpochOneTrained"]) == ("20.0", "2.0")
    assert (m["MechDeadEndCollapsed"], m["MechDeadEndTrained"]) == ("40.0", "0.0")
    assert (m["MechGradRatioEpochOneCollapsed"], m["MechGradRatioEndCollapsed"]) == ("0.5", "0.0001")
    assert m["MechInitDeadTested"] == "0"                 # one run per side: no test
    assert m["MechSignalRatioReluDepthTwenty"] == "n/a"   # no signal table
    signal = signal_table().assign(depth=20)
    signal.to_csv(tmp_path / "signal_scale.csv", index=False)
    m = mechanism_numbers(res)
    assert m["MechSignalRatioReluDepthTwenty"] == "0.5" and m["MechSignalCosineReluDepthTwenty"] == "0.70"
    assert m["MechSignalRatioReluDepthEight"] == "n/a"

"""The claim rules (src/rectifiers/analysis/claims.py) on small hand-made tables, with expected
values worked out by hand (Student's t with 2 degrees of freedom has the closed form
F(t) = 1/2 + t / (2 sqrt(2 + t^2)))."""
import math

import numpy as np
import pandas as pd
import pytest

from rectifiers.analysis import claim_text, claims, stability
from rectifiers.analysis.claim_text import CLAIMS, rule_text
from rectifiers.analysis.comparisons import Comparison, PValues, compare, holm
from rectifiers.analysis.rules import RULES, Cell, cell_key
from rectifiers.analysis.tidy import Values, resample_seeds, tidy

BASE = RULES.design["stress"]["baseline"]
ACTS = [RULES.relu] + RULES.leaky + [RULES.prelu]


def jitter(seed, act):
    """A small seed-to-seed jitter that differs between activations, so that paired
    differences have a spread (identical differences are an exact result, stats.py)."""
    return 0.001 * ((3 * seed + 2 * ACTS.index(act)) % 7)


def cdf_df2(t):
    return 0.5 + t / (2 * math.sqrt(2 + t * t))


def run(scale, cell, act, seed, acc=0.4, status="ok", dead_final=0.0, dead_peak=0.0, ever_dead=0, revived=0):
    """One row of runs.csv, placed in a cell of the declared design."""
    row = dict(BASE, model="plain", train_size=5000, epochs=5)
    if scale == "long":
        row.update(train_size=10000, epochs=10)
    if scale == "trained":
        row.update(model="resnet", depth=20, train_size=50000, epochs=8, lr=0.1, batch_size=128)
    elif cell != "baseline":
        knob, level = cell.split("=")
        row[knob] = float(level)
    return dict(row, run_id=f"{scale}-{cell}-{act}-s{seed}", act=act, seed=seed, status=status,
                final_test_acc=np.nan if status != "ok" else acc, dead_ratio_final=dead_final,
                dead_ratio_peak=dead_peak, ever_dead=ever_dead, revived=revived)


def table(rows, epochs=None):
    return tidy(pd.DataFrame(rows), epochs)


def grid(value=lambda cell, act, seed: {}, cells=None, acts=ACTS, seeds=range(3), scale="stress"):
    cells = cells or RULES.stress_cells()
    return [run(scale, c, a, s, **value(c, a, s)) for c in cells for a in acts for s in seeds]


# --- the tidy table ---------------------------------------------------------------

def test_a_diverged_run_counts_as_chance_and_all_dead_and_a_failed_run_is_missing():
    t = table([run("stress", "lr=0.1", "prelu", 0, status="diverged"),
               run("stress", "lr=0.1", "prelu", 1, status="failed"),
               run("stress", "lr=0.1", "relu", 0, acc=0.35, dead_final=0.2, dead_peak=0.4)])
    div, failed, ok = t.iloc[0], t.iloc[1], t.iloc[2]
    assert div.acc == RULES.chance_accuracy and div.dead_final == RULES.diverged_dead_ratio == div.dead_peak
    assert div.diverged and div.collapsed
    assert np.isnan(failed.acc) and np.isnan(failed.dead_final)
    assert (ok.acc, ok.dead_final, ok.dead_peak, ok.collapsed) == (0.35, 0.2, 0.4, False)


def test_a_seed_bootstrap_keeps_the_pairing_and_its_cell():
    # acc encodes cell, seed and activation: 100 x cell + 10 x seed + activation
    cells, acts = ["baseline", "lr=0.1"], [RULES.relu, RULES.prelu]
    t = table([run("stress", c, a, s, acc=100 * i + 10 * s + j) for i, c in enumerate(cells)
               for s in range(3) for j, a in enumerate(acts)]
              + [dict(run("stress", "baseline", "relu", 0), model="mlp", run_id="other")])
    rng = np.random.default_rng(1)
    drawn = set()
    for _ in range(20):
        r = resample_seeds(t, rng)
        assert len(r) == len(t) and r.run_id.is_unique
        assert (r[r.scale.isna()].model == "mlp").all()  # outside every scale: kept as it is
        for (c, seed), g in r[r.scale.notna()].groupby(["cell", "seed"]):
            v = g.set_index("act").acc
            assert v[RULES.prelu] - v[RULES.relu] == 1           # both activations of one drawn seed
            assert v[RULES.relu] // 100 == cells.index(c)         # drawn within its own cell
            drawn.add((c, v[RULES.relu] % 100 // 10))
        for c in cells:  # three seeds drawn per cell, numbered 0-2, each with both activations
            assert sorted(r[r.cell == c].seed) == [0, 0, 1, 1, 2, 2]
    assert len(drawn) == 6  # every seed of every cell gets drawn sometime


def test_stability_counts_the_verdicts_of_the_resamples():
    t = table(grid(lambda c, a, s: dict(dead_peak=0.6 if c == "batch_size=4" and a == RULES.relu else 0.1,
                                        acc=0.3 + jitter(s, a))))
    st = stability.stability(t, 4, np.random.default_rng(0))
    assert list(st.claim) == [1, 2, 3, 4, 5, 6] and (st.resamples == 4).all()
    shares = st[[claims.SUPPORTED, claims.CONTRADICTED, claims.INCONCLUSIVE]]
    assert shares.sum(axis=1).to_numpy() == pytest.approx(1.0)
    # claim 3 reads the long runs, which this table lacks: never decided
    assert st.set_index("claim").loc[3, claims.INCONCLUSIVE] == 1.0


def test_rows_are_placed_by_their_columns():
    rows = [run("stress", "baseline", "relu", 0), run("stress", "depth=20", "relu", 0),
            run("stress", "init_bias=-0.5", "relu", 0), run("long", "depth=20", "relu", 0),
            run("trained", "resnet20", "relu", 0)]
    off_grid = run("stress", "lr=0.1", "relu", 0)
    off_grid.update(batch_size=4)       # two knobs off the baseline: not a cell of the grid
    pilot = run("trained", "resnet20", "relu", 0)
    pilot.update(epochs=6, run_id="pilot")  # a shorter ResNet run is not the trained set
    t = table(rows + [off_grid, pilot]).set_index("run_id")
    assert list(t.scale.iloc[:5]) == ["stress", "stress", "stress", "long", "trained"]
    assert list(t.cell.iloc[:5]) == ["baseline", "depth=20", "init_bias=-0.5", "depth=20", "resnet20"]
    assert pd.isna(t.scale.iloc[5]) and pd.isna(t.loc["pilot"].scale)


def test_paired_differences_match_seeds():
    rows = [run("stress", "baseline", "relu", s, acc=a) for s, a in [(0, 0.30), (1, 0.40), (2, 0.50)]]
    rows += [run("stress", "baseline", "prelu", s, acc=a) for s, a in [(0, 0.35), (2, 0.45)]]
    rows += [run("stress", "baseline", "leaky_relu_0.1", s, acc=a) for s, a in [(0, 0.31), (2, 0.41)]]
    acc = Values(table(rows), "stress")
    assert acc.diff("baseline", "prelu", "relu") == pytest.approx([0.05, -0.05])
    # several activations: their mean per seed
    assert acc.diff("baseline", ["prelu", "leaky_relu_0.1"], "relu") == pytest.approx([0.03, -0.07])


# --- claims without their runs ------------------------------------------------------

def test_every_claim_is_inconclusive_not_yet_run_on_an_empty_table():
    t = table([run("stress", "baseline", "relu", 0)]).iloc[:0]
    for v in claims.decide(t):
        assert v.verdict == claims.INCONCLUSIVE and v.not_run and v.result.startswith(claim_text.NOT_RUN)
        assert v.family_size > 0 and v.correction and v.method


def test_claims_on_later_scales_wait_for_their_runs():
    t = tidy(pd.DataFrame(grid()), pd.DataFrame(columns=["run_id", "epoch", "dead_ratio", "test_acc"]))
    v = {x.number: x for x in claims.decide(t)}
    for n in (3, 4, 5):
        assert v[n].verdict == claims.INCONCLUSIVE and NOT_RUN_IN(v[n])


def NOT_RUN_IN(v):
    return v.not_run and v.result.startswith(claim_text.NOT_RUN)


# --- the types ----------------------------------------------------------------------

def test_a_cell_key_parses_back_into_its_cell():
    c = Cell.parse(cell_key("init_bias", -0.5))
    assert (c.key, c.kind, c.knob, c.level, c.label) == ("init_bias=-0.5", "stress", "init_bias", -0.5,
                                                          "init_bias -0.5")
    assert Cell.parse("depth=8", "long") == Cell("depth=8", "long", "depth", 8.0, "depth 8")


def test_a_comparison_keeps_raw_and_holm_adjusted_p_values_apart():
    x = [0.1, 0.2, 0.3]                               # mean 0.2, se 0.1 / sqrt(3)
    c = compare("a @ lr=0.1", x, 0.0, RULES, 0.5, act="a", vs="relu", cell="lr=0.1")
    p = 1 - cdf_df2(0.2 / (0.1 / math.sqrt(3)))
    assert (c.n, c.estimate, c.act, c.vs, c.cell, c.depth) == (3, pytest.approx(0.2), "a", "relu", "lr=0.1", None)
    assert c.p.greater == pytest.approx(p, abs=1e-9) and c.p.two == pytest.approx(2 * p, abs=1e-9)
    assert np.isnan(c.adjusted.greater) and np.isnan(c.p.outside)      # no correction yet; no such test made
    # TOST at +-0.5: the worse of the two one-sided tests, t = (0.5 - 0.2) / se
    assert c.p.tost == pytest.approx(1 - cdf_df2(0.3 / (0.1 / math.sqrt(3))), abs=1e-9)
    other = Comparison("b", 3, 0.0, p=PValues(greater=0.5))
    first, second = holm([c, other], "greater")       # Holm over two: 2p, then max(2p, 0.5)
    assert first.adjusted.greater == pytest.approx(2 * p) and second.adjusted.greater == 0.5
    assert first.p == c.p and np.isnan(first.adjusted.less)


# --- claim 1 ------------------------------------------------------------------------

def test_claim1_hand_computed_p_and_holm():
    rows = [run("stress", "lr=0.1", "relu", s, dead_peak=p) for s, p in enumerate([0.5, 0.6, 0.7])]
    v = claims.claim1(table(rows))
    row = next(r for r in v.comparisons if r.label == "lr=0.1")
    p = 1 - cdf_df2(0.3 / (0.1 / math.sqrt(3)))     # t = (0.6 - 0.3) / se
    assert row.p.greater == pytest.approx(p, abs=1e-9)
    assert row.adjusted.greater == pytest.approx(9 * p, abs=1e-9)  # the 8 cells without runs keep p = 1
    assert v.family_size == 9 and v.verdict == claims.INCONCLUSIVE   # 9 p = 0.158: not enough


def test_claim1_supported_contradicted():
    high = grid(lambda c, a, s: dict(dead_peak=0.60 + 0.01 * s if c == "lr=0.1" else 0.01 * s), acts=["relu"])
    assert claims.claim1(table(high)).verdict == claims.SUPPORTED
    low = grid(lambda c, a, s: dict(dead_peak=0.05 + 0.01 * s), acts=["relu"])
    assert claims.claim1(table(low)).verdict == claims.CONTRADICTED
    # one cell near the threshold: neither
    mid = grid(lambda c, a, s: dict(dead_peak=(0.2 + 0.1 * s) if c == "depth=20" else 0.05 + 0.01 * s), acts=["relu"])
    assert claims.claim1(table(mid)).verdict == claims.INCONCLUSIVE


# --- claim 2 ------------------------------------------------------------------------

def test_claim2_fewer_dead_units_more_dead_units_and_silence():
    def fewer(c, a, s):
        return dict(dead_final=(0.5 + 0.01 * s) if a == "relu" and c == "lr=0.1" else 0.001 * s)
    assert claims.claim2(table(grid(fewer))).verdict == claims.SUPPORTED
    def more(c, a, s):
        return dict(dead_final=(0.5 + 0.01 * s) if a == "leaky_relu_0.3" and c == "lr=0.1"
                    else 0.001 * s * (a == "relu"))
    assert claims.claim2(table(grid(more))).verdict == claims.CONTRADICTED
    # noisy, no shift, three seeds: nothing detectable is not a contradiction
    noise = {0: 0.0, 1: 0.3, 2: 0.1}
    def noisy(c, a, s):
        return dict(dead_final=noise[(s + len(a)) % 3])
    assert claims.claim2(table(grid(noisy))).verdict == claims.INCONCLUSIVE


def test_claim2_equivalence_is_a_contradiction():
    # every Leaky slope within a hair of ReLU, tightly: shown to make no difference anywhere
    v = claims.claim2(table(grid(lambda c, a, s: dict(dead_final=0.10 + jitter(s, a)), seeds=range(5))))
    assert v.verdict == claims.CONTRADICTED and v.numbers["p_equivalent"] < RULES.alpha / 2


# --- claim 3 ------------------------------------------------------------------------

LONG = ["depth=8", "depth=20"]


def test_claim3_noninferiority_by_hand():
    # 0.01 minus ReLU at depth 8: seed differences -0.005, 0.0, +0.005 (mean 0, sd 0.005)
    offset = {0: -0.005, 1: 0.0, 2: 0.005}
    def acc(c, a, s):
        return dict(acc=0.5 + (offset[s] if a == "leaky_relu_0.01" else 0.0))
    v = claims.claim3(table(grid(acc, cells=LONG, scale="long")))
    row = v.comparisons[0]
    assert row.label == "leaky_relu_0.01 vs relu @ depth 8"
    assert row.p.greater == pytest.approx(1 - cdf_df2(0.01 / (0.005 / math.sqrt(3))), abs=1e-9)
    assert v.family_size == 6 and v.verdict == claims.SUPPORTED


def test_claim3_needs_no_win_but_is_contradicted_by_a_clear_loss():
    def loses(c, a, s):
        return dict(acc=0.5 - (0.05 + 0.001 * s) * (a == "leaky_relu_0.01" and c == "depth=20"))
    assert claims.claim3(table(grid(loses, cells=LONG, scale="long"))).verdict == claims.CONTRADICTED
    def loses_a_little(c, a, s):   # 0.5 points worse, tightly: still within the 1-point margin
        return dict(acc=0.5 - (0.005 + 0.0005 * s) * (a == "leaky_relu_0.01"))
    assert claims.claim3(table(grid(loses_a_little, cells=LONG, scale="long"))).verdict == claims.SUPPORTED


# --- claim 4 ------------------------------------------------------------------------

def test_claim4_trend_slope_by_hand():
    # PReLU's gain over ReLU: 0, 0.01, 0.02 at depth 8 and 0.04, 0.05, 0.06 at depth 20:
    # slope = 0.04 / 12 per layer; gain at 20 = 0.05
    gains = {8: [0.0, 0.01, 0.02], 20: [0.04, 0.05, 0.06]}
    def acc(c, a, s):
        return dict(acc=0.4 + (gains[int(c.split("=")[1])][s] if a == "prelu" else 0.0))
    v = claims.claim4(table(grid(acc, cells=LONG, scale="long", acts=["relu", "prelu"])))
    slope, gain = v.comparisons
    assert slope.estimate == pytest.approx(0.04 / 12) and gain.estimate == pytest.approx(0.05)
    assert gain.low == pytest.approx(0.05 - 4.302653 * 0.01 / math.sqrt(3), abs=1e-6)
    assert v.verdict == claims.SUPPORTED


def test_claim4_contradicted_when_the_gain_shrinks_with_depth():
    gains = {8: [0.04, 0.05, 0.06], 20: [-0.04, -0.05, -0.06]}
    def acc(c, a, s):
        return dict(acc=0.4 + (gains[int(c.split("=")[1])][s] if a == "prelu" else 0.0))
    assert claims.claim4(table(grid(acc, cells=LONG, scale="long",
                                    acts=["relu", "prelu"]))).verdict == claims.CONTRADICTED


def test_claim4_contradicted_when_prelu_is_shown_to_make_no_difference_at_depth():
    # gains within a tenth of a point of zero at every depth, tightly: TOST shows |gain| < 1 point
    def acc(c, a, s):
        return dict(acc=0.4 + (jitter(s, a) - 0.003) * (a == "prelu") * 0.3)
    v = claims.claim4(table(grid(acc, cells=LONG, scale="long", acts=["relu", "prelu"], seeds=range(5))))
    assert v.comparisons[1].adjusted.tost < RULES.alpha and v.verdict == claims.CONTRADICTED


# --- claim 5 ------------------------------------------------------------------------

def test_claim5_equivalent_in_resnet_and_different_under_every_knob():
    harsh = set(RULES.harshest_cells())
    stress = grid(lambda c, a, s: dict(acc=0.3 + (0.1 + 0.001 * s) * (c in harsh and a == "prelu") + 0.001 * s))
    ref = grid(lambda c, a, s: dict(acc=0.85 + jitter(s, a)), cells=["resnet20"],
               scale="trained", seeds=range(5))
    v = claims.claim5(table(stress + ref))
    assert v.verdict == claims.SUPPORTED and all(v.numbers["matters"].values())
    # a ResNet difference of 5 points, tight: contradicted
    ref_far = grid(lambda c, a, s: dict(acc=0.85 + (0.05 + 0.001 * s) * (a == "prelu")), cells=["resnet20"],
                   scale="trained", seeds=range(5))
    assert claims.claim5(table(stress + ref_far)).verdict == claims.CONTRADICTED


def test_claim5_contradicted_when_a_knob_is_shown_to_make_no_difference():
    harsh = set(RULES.harshest_cells())
    def stress(c, a, s):  # big differences under three knobs; the initial bias changes nothing
        big = c in harsh and a == "prelu" and not c.startswith("init_bias")
        return dict(acc=0.3 + (0.1 + 0.001 * s) * big + 0.3 * jitter(s, a))
    ref = grid(lambda c, a, s: dict(acc=0.85 + jitter(s, a)), cells=["resnet20"], scale="trained", seeds=range(5))
    v = claims.claim5(table(grid(stress, seeds=range(5)) + ref))
    assert v.numbers["matters"]["init_bias"] == 0 and v.verdict == claims.CONTRADICTED


# --- claim 6 ------------------------------------------------------------------------

def epochs_for(rows, dead):
    return pd.DataFrame([dict(run_id=r["run_id"], epoch=1, dead_ratio=dead(r), test_acc=0.2) for r in rows])


def test_claim6_diagnosis_and_cure():
    harsh = set(RULES.harshest_cells())
    def acc(c, a, s):   # within a cell, higher seed = more dead after epoch 1 = less accurate ReLU
        if a == "relu":
            return dict(acc=0.4 - 0.05 * s - 0.2 * (c in harsh))
        return dict(acc=0.4 + 0.001 * s)
    rows = grid(acc, seeds=range(5))
    t = tidy(pd.DataFrame(rows), epochs_for(rows, lambda r: 0.1 * r["seed"] if r["act"] == "relu" else 0.0))
    v = claims.claim6(t)
    assert v.comparisons[0].estimate == pytest.approx(-1.0)  # every informative group perfectly ordered
    assert v.numbers["n_cured"] == 4 and v.verdict == claims.SUPPORTED
    # the association the wrong way round (more dead units, more accurate): contradicted
    flipped = tidy(pd.DataFrame(rows), epochs_for(rows, lambda r: -0.1 * r["seed"] if r["act"] == "relu" else 0.0))
    assert claims.claim6(flipped).comparisons[0].estimate == pytest.approx(1.0)
    assert claims.claim6(flipped).verdict == claims.CONTRADICTED
    # runs already at chance after epoch 1 are left out of the diagnosis
    t2 = tidy(pd.DataFrame(rows), epochs_for(rows, lambda r: 0.1 * r["seed"]).assign(test_acc=0.1))
    assert claims.claim6(t2).comparisons[0].n == 0 and claims.claim6(t2).verdict == claims.INCONCLUSIVE


# --- the words ----------------------------------------------------------------------

def test_rule_text_is_written_from_the_constants():
    import dataclasses
    other = dataclasses.replace(RULES, accuracy_margin=0.02, alpha=0.01)
    assert "2 points" in rule_text(5, other) and "1 point" in rule_text(5, RULES)
    assert "alpha 0.01" in rule_text(3, other)
    for n in range(1, 7):
        assert rule_text(n) and CLAIMS[n]


def test_verdict_changes_names_the_comparisons_that_moved():
    def verdict(n, v, *rows, not_run=False):  # rows: (label, estimate, Holm p fewer, Holm p more)
        unit = "percent" if n == 1 else "points"  # claim 1 compares a dead ratio with its threshold
        rows = [Comparison(label, 3, e, adjusted=PValues(less=p, greater=q), unit=unit) for label, e, p, q in rows]
        return claims.Verdict(number=n, verdict=v, result="", scales=("stress",), method="", family="",
                              family_size=len(rows), correction="", comparisons=rows, not_run=not_run)
    five = [verdict(1, "supported", ("lr=0.1", 0.4, 0.01, 1.0), ("bs=4", 0.3, 0.2, 1.0)),
            verdict(2, "inconclusive", ("a", 0.0, 0.5, 0.5)),
            verdict(3, "supported", ("b", 0.1, 0.01, 1.0))]
    ten = [verdict(1, "inconclusive", ("lr=0.1", 0.35, 0.2, 1.0), ("bs=4", 0.31, 0.3, 1.0)),
           verdict(2, "inconclusive", ("a", 0.1, 0.5, 0.04)),   # crossed 0.05, not 0.025: a move all the same
           verdict(3, "inconclusive", ("b", 0.1, 0.01, 1.0), not_run=True)]
    lr = "lr=0.1 (estimate from 40.0% to 35.0%, corrected p from 0.01 to 0.2)"  # claim 1: a dead ratio
    assert claim_text.moved(five[0], ten[0], 0.05) == [lr]
    assert claim_text.moved(five[1], ten[1], 0.05) == [
        "a (estimate from +0.0 points to +10.0 points, corrected p from 0.5 to 0.04)"]
    assert claim_text.moved(five[1], verdict(2, "x", ("a", 0.1, 0.5, 0.2)), 0.05) == []
    assert claim_text.verdict_changes(five, ten, 0.05, (5, 10)) == (
        "Claim 1 went from supported at 5 seeds to inconclusive at 10: the comparisons whose corrected test "
        f"crossed its level are {lr}. Claim 3 is not yet decided at 10 seeds.")
    assert claim_text.verdict_changes(five[1:2], ten[1:2], 0.05, (5, 10)) == (
        "No claim decided at 10 seeds changed its verdict from 5 seeds.")
    many = [verdict(2, "supported", *[(str(i), 0.1, 0.01, 1.0) for i in range(6)])]
    gone = [verdict(2, "contradicted", *[(str(i), 0.0, 0.5, 1.0) for i in range(6)])]
    assert claim_text.verdict_changes(many, gone, 0.05, (5, 10)).endswith(
        "3 (estimate from +10.0 points to +0.0 points, corrected p from 0.01 to 0.5); and 2 more.")


def test_an_estimate_is_said_in_its_unit():
    assert claim_text.estimate_words(Comparison("batch size 4", 10, 0.552, unit="percent")) == "55.2%"
    assert claim_text.estimate_words(Comparison("a", 10, -0.046)) == "-4.6 points"
    assert claim_text.estimate_words(Comparison("s", 20, 0.0031, unit="points per layer")) == "+0.3 points per layer"
    assert claim_text.estimate_words(Comparison("diagnosis", 175, -0.09, groups=22, unit="rho")) == "rho -0.09"

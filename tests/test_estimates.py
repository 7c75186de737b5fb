"""src/rectifiers/analysis/estimates.py against values worked out by hand on small tables;
src/rectifiers/render/estimate_numbers.py, scripts/table_estimates.py, table_aggregates.py and
fig_practitioner.py on the synthetic results of tests/fake_results.py."""
from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from conftest import load_script
from fake_results import write_fake_results
from rectifiers.analysis import estimates, results
from rectifiers.render import estimate_numbers as en
from rectifiers.render import latex

# The brief's cell: four seeds, ReLU and one activation.
RELU = [0.1, 0.5, 0.6, 0.1]
ACT = [0.5, 0.5, 0.7, 0.1]


def frame(rows) -> pd.DataFrame:
    """A tidy table from (scale, cell, act, seed, acc, diverged) rows; collapsed as tidy.outcomes
    defines it (acc at most 0.105), NaN for a failed run (acc NaN)."""
    t = pd.DataFrame(rows, columns=["scale", "cell", "act", "seed", "acc", "diverged"])
    t["collapsed"] = np.where(t.acc.isna(), np.nan, t.acc <= 0.105)
    return t


def cell(scale, name, act, accs, diverged=()):
    return [(scale, name, act, s, a, s in diverged) for s, a in enumerate(accs)]


def test_clopper_pearson_matches_the_known_exact_bounds():
    assert estimates.clopper_pearson(3, 10) == pytest.approx((0.0667, 0.6525), abs=1e-4)
    assert estimates.clopper_pearson(2, 4) == pytest.approx((0.0676, 0.9324), abs=1e-4)
    # k = 0 and k = n: one bound is exact, the other is 1 - (alpha/2)^(1/n) = 1 - 0.025^(1/10) = 0.3085
    assert estimates.clopper_pearson(0, 10) == pytest.approx((0.0, 0.3085), abs=1e-4)
    assert estimates.clopper_pearson(10, 10) == pytest.approx((0.6915, 1.0), abs=1e-4)
    assert all(np.isnan(estimates.clopper_pearson(0, 0)))


def test_iqm_is_the_mean_of_the_middle_half():
    # eight values: two cut at each end, the mean of 0.3, 0.4, 0.5, 0.6 is 0.45
    assert estimates.iqm([0.8, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]) == pytest.approx(0.45)


def test_a_tie_counts_one_half():
    assert estimates.improvement([0.4, 0.0, -0.2]).tolist() == [1.0, 0.5, 0.0]


def test_bootstrap_of_a_mean_gives_the_percentiles_of_its_resamples():
    # [0, 1, 2]: of the 27 equally likely resamples, 1 has mean 0 (3.7% > 2.5%) and 1 mean 2,
    # so the 2.5th and 97.5th percentiles are 0 and 2
    assert estimates.bootstrap_mean([0.0, 1.0, 2.0]) == pytest.approx((1.0, 0.0, 2.0))
    assert estimates.bootstrap_mean([0.2, 0.2, 0.2]) == pytest.approx((0.2, 0.2, 0.2))  # no spread: the point
    point, low, high = estimates.bootstrap_mean([0.3])
    assert point == 0.3 and np.isnan(low) and np.isnan(high)  # one value has no interval
    assert all(np.isnan(estimates.bootstrap_mean([])))


def test_per_activation_counts_shares_and_centres():
    # ReLU: one diverged (at chance), one collapsed at 0.1, two trained (0.3, 0.5) and a failed run (NaN),
    # which is missing: n = 4, trained 2/4 [0.0676, 0.9324], mean of trained 0.4, median (0.1 + 0.3)/2 = 0.2,
    # IQM: one cut at each end of [0.1, 0.1, 0.3, 0.5] -> (0.1 + 0.3)/2 = 0.2, mean 0.25
    t = frame(cell("stress", "lr=0.1", "relu", [0.1, 0.1, 0.3, 0.5, np.nan], diverged=(0,)))
    r = estimates.per_activation(t).iloc[0]
    assert (r.n, r.n_trained, r.n_diverged) == (4, 2, 1)
    assert (r.share, r.share_low, r.share_high) == pytest.approx((0.5, 0.0676, 0.9324), abs=1e-4)
    assert (r.acc_trained, r["mean"], r["median"], r.iqm) == pytest.approx((0.4, 0.25, 0.2, 0.2))


def test_versus_relu_pairs_by_seed():
    # P(improvement) = (1 + 0.5 + 1 + 0.5)/4 = 0.75; differences 0.4, 0, 0.1, 0: mean 0.125, median 0.05.
    # Seed 4 has no ReLU run: it is left out.
    t = frame(cell("long", "depth=8", "relu", RELU) + cell("long", "depth=8", "prelu", ACT + [0.9]))
    v = estimates.versus_relu(t).iloc[0]
    assert (v.scale, v.cell, v.act, v.n_pairs) == ("long", "depth=8", "prelu", 4)
    assert (v.poi, v.gain, v.gain_median) == pytest.approx((0.75, 0.125, 0.05))
    # every resample mean lies between the smallest and largest per-seed value
    assert 0.5 <= v.poi_low <= v.poi <= v.poi_high <= 1.0
    assert 0.0 <= v.gain_low <= v.gain <= v.gain_high <= 0.4
    again = estimates.versus_relu(t).iloc[0]
    assert (again.poi_low, again.gain_high) == (v.poi_low, v.gain_high)  # a fixed generator seed


def test_the_stratified_bootstrap_resamples_within_cells():
    # two cells without spread: every stratified resample is the table itself, so the interval is
    # the point; the pooled IQM of [0.1]*4 + [0.5]*4 keeps [0.1, 0.1, 0.5, 0.5]: 0.3
    cells = [np.full(4, 0.1), np.full(4, 0.5)]
    assert estimates.stratified_bootstrap(cells, estimates.pooled_iqm) == pytest.approx((0.3, 0.3, 0.3))


def two_cells() -> pd.DataFrame:
    return frame(cell("stress", "a", "relu", RELU) + cell("stress", "a", "prelu", ACT)
                 + cell("stress", "b", "relu", [0.2, 0.2]) + cell("stress", "b", "prelu", [0.3, 0.3]))


def test_aggregates_weigh_each_cell_the_same():
    # cell a: P = 0.75, gain 0.125; cell b: P = 1, gain 0.1. Over cells: P = 0.875, gain 0.1125.
    # PReLU's IQM over its six runs: sorted [0.1, 0.3, 0.3, 0.5, 0.5, 0.7], one cut at each end -> 0.4
    agg = estimates.aggregates(two_cells()).set_index("act")
    p = agg.loc["prelu"]
    assert (p.n_cells, p.n_runs) == (2, 6)
    assert (p.poi, p.gain, p.iqm) == pytest.approx((0.875, 0.1125, 0.4))
    assert p.poi_low <= p.poi <= p.poi_high and p.gain_low <= p.gain <= p.gain_high
    assert np.isnan(agg.loc["relu"].poi) and np.isnan(agg.loc["relu"].gain)
    assert list(agg.index) == ["relu", "prelu"]  # the activation table's order


def test_performance_profiles_are_shares_above_tau():
    # PReLU above 0.2: 3/4 in cell a, 2/2 in b -> 0.875; above 0.6: 1/4 and 0/2 -> 0.125
    prof = estimates.profiles(two_cells(), [0.2, 0.6]).set_index(["act", "tau"])
    assert prof.loc[("prelu", 0.2), "share"] == pytest.approx(0.875)
    assert prof.loc[("prelu", 0.6), "share"] == pytest.approx(0.125)
    assert (prof.low <= prof.share).all() and (prof.share <= prof.high).all()


# --- on the synthetic results ------------------------------------------------------------

@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    return write_fake_results(tmp_path_factory.mktemp("results") / "fake")


def test_regimes_are_spelled_out():
    assert en.regime_name("long", "depth=8") == "LongEight"
    assert en.regime_name("stress", "lr=0.1") == "StressLrPointOne"


def test_estimate_numbers_on_the_fake_results(fake):
    res = results.load(fake)
    m = en.estimate_numbers(res)
    assert all(re.fullmatch("[A-Za-z]+", k) for k in m)
    assert all(isinstance(v, str) and "nan" not in v.lower() for v in m.values())
    # tests/fake_results.py: three seeds per cell; the long runs all finish; PReLU's seed 0 diverges at lr 0.1
    assert m["LongEightReluTrained"] == "3/3" and m["LongTwentyPreluDiverged"] == "0/3"
    assert m["StressLrPointOnePreluDiverged"] == "1/3"
    assert m["TrainedLeakyPointThreeGain"] == "n/a"  # the fake trains no Leaky 0.3 ResNet
    t = res.tidy()
    long8 = t[(t.scale == "long") & (t.cell == "depth=8")].pivot(index="seed", columns="act", values="acc")
    assert m["LongEightPreluGain"] == latex.num(100 * (long8.prelu - long8.relu).mean(), ".1f")
    assert {"StressPreluIqm", "StressPreluPoiLow", "StressPreluGainHigh", "StressBestIqmAct"} <= set(m)



@pytest.mark.parametrize("name", ["table_estimates", "table_aggregates"])
def test_tables_on_the_fake_results(fake, tmp_path, name):
    out = tmp_path / f"{name}.tex"
    assert load_script(name).main(["--results", str(fake), "--out", str(out)]) == 0
    text = out.read_text()
    assert f"scripts/{name}.py" in text and r"\toprule" in text and "nan" not in text.lower()
    assert text.count(r"\begin{tabular}") == text.count(r"\end{tabular}") == 1
    again = tmp_path / "again.tex"
    assert load_script(name).main(["--results", str(fake), "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()  # deterministic: fixed bootstrap seed
    with pytest.raises(SystemExit, match="missing"):
        load_script(name).main(["--results", str(tmp_path / "nowhere"), "--out", str(tmp_path / "no.tex")])
    assert not (tmp_path / "no.tex").exists()


def test_practitioner_figure_on_the_fake_results(fake, tmp_path):
    fig = load_script("fig_practitioner").main(["--results", str(fake), "--out", str(tmp_path)])
    assert (tmp_path / "practitioner.pdf").is_file() and (tmp_path / "practitioner.png").is_file()
    assert fig.get_figwidth() == pytest.approx(15.8 / 2.54)
    texts = [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    assert min(t.get_fontsize() for t in texts) >= 7
    shown = [t.get_text() for t in texts]
    assert "\u2717 1/3" in shown  # PReLU's diverged seed at lr 0.1
    assert "no runs" in shown     # the fake trains no Leaky 0.3 ResNet
    plt.close(fig)

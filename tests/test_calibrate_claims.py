"""The calibration (rectifiers.analysis.calibration, scripts/calibrate_claims.py) and the power
table (rectifiers.analysis.power, scripts/power.py): the simulated tables have the study's
shape, each scale with its own activations, the noise is the committed runs' (pooled or per
cell) and never degenerate, and fast versions of the calibration and the power table run
(the full ones are `make calibrate` and `make power`, minutes on two idle cores)."""
import functools

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, load_script
from rectifiers.analysis import bars as B
from rectifiers.analysis import calibration as K
from rectifiers.analysis import claims as C
from rectifiers.analysis import power as P
from rectifiers.analysis import simulation as S
from rectifiers.analysis.worlds import World, worlds
from rectifiers.experiment.study import scale_activations

RESULTS = ROOT / "results" / "cpu"


@functools.cache
def acts() -> dict:
    """Per scale, the activations its studies sweep (composed by Hydra once)."""
    return scale_activations()


def shape_from(runs, epochs, seeds=5, noise="pooled"):
    return S.shape_from(runs, epochs, acts(), C.RULES, seeds, noise)



@pytest.fixture(scope="module")
def committed():
    return pd.read_csv(RESULTS / "runs.csv"), pd.read_csv(RESULTS / "epochs.csv")


@pytest.mark.parametrize("noise", S.NOISE_MODELS)
def test_simulated_tables_have_the_study_shape(committed, noise):
    shape = shape_from(*committed, seeds=7, noise=noise)
    t = S.simulate(shape, shape.means, np.random.default_rng(0))
    stress = t[t.scale == "stress"]
    assert set(stress.cell) == set(C.RULES.stress_cells())
    assert stress.groupby(["cell", "act"]).seed.nunique().eq(7).all()
    assert set(t[t.scale == "long"].cell) == {"depth=8", "depth=20"}
    # each scale simulates the activations its studies sweep (conf/study/*.yaml)
    swept = scale_activations()
    for scale in ("stress", "long", "trained"):
        assert sorted(t[t.scale == scale].act.unique()) == sorted(swept[scale])
    # every claim function accepts the simulated table
    for v in C.decide(t):
        assert v.verdict in (C.SUPPORTED, C.CONTRADICTED, C.INCONCLUSIVE)


@pytest.mark.parametrize("noise", S.NOISE_MODELS)
def test_every_compared_scale_and_outcome_has_noise(committed, noise):
    """The bug this guards: the trained ResNet's pool built over activations its runs lack was
    one zero vector, so every simulated claim-5 comparison was exact."""
    shape = shape_from(*committed, noise=noise)
    assert S.degenerate(shape) == []
    for scale, outcomes in S.COMPARED.items():
        for o in outcomes:
            pools = [shape.pools[(scale, o, c)] for c in shape.cells[scale]]
            assert sum(p.std(axis=0).sum() for p in pools) > 0, (scale, o)


def test_pooled_noise_is_shared_and_cell_noise_is_each_cells_own(committed):
    pooled, cell = (shape_from(*committed, noise=m) for m in S.NOISE_MODELS)
    key = [("stress", "acc", c) for c in C.RULES.stress_cells()]
    assert all(pooled.pools[k] is pooled.pools[key[0]] for k in key)
    assert all(len(cell.pools[k]) >= 5 for k in key)  # one residual vector per seed of that cell
    assert len(pooled.pools[key[0]]) == sum(len(cell.pools[k]) for k in key)


def test_degenerate_noise_is_named_and_stops_the_calibration(committed, tmp_path):
    runs, epochs = committed
    flat = runs.copy()
    long_runs = (flat.model == "plain") & (flat.epochs == 10)
    flat.loc[long_runs, "final_test_acc"] = 0.5  # the long runs with no seed-to-seed spread at all
    assert any(m.startswith("scale long, acc") for m in S.degenerate(shape_from(flat, epochs)))
    with pytest.raises(K.DegenerateNoise, match="scale long, acc"):
        K.calibrate(flat, epochs, acts(), n_sim=2, claims=[3])
    for f in ("study.json",):
        (tmp_path / f).write_text((RESULTS / f).read_text())
    flat.to_csv(tmp_path / "runs.csv", index=False)
    epochs.to_csv(tmp_path / "epochs.csv", index=False)
    args = ["--results", str(tmp_path), "--simulations", "2", "--jobs", "1", "--claims", "3"]
    assert load_script("calibrate_claims").main(args) == 2
    assert not (tmp_path / "claims_calibration.csv").exists()


def test_small_pools_fall_back_to_normal_noise_with_their_covariance():
    rng = np.random.default_rng(0)
    small = np.array([[1.0, 2.0], [-1.0, -2.0], [0.0, 0.0]])  # 3 < MIN_POOL vectors, correlation 1
    draws = S._draw(small, 4000, rng)
    assert not any((draws == row).all(axis=1).any() for row in small[:2])  # drawn, not resampled
    assert np.cov(draws, rowvar=False, ddof=0) == pytest.approx(np.cov(small, rowvar=False, ddof=0), rel=0.1)
    big = np.arange(2.0 * S.MIN_POOL).reshape(S.MIN_POOL, 2)
    assert all((big == row).all(axis=1).any() for row in S._draw(big, 50, rng))  # resampled rows


def test_residual_pool_is_centred_and_keeps_the_variance():
    t = pd.DataFrame({"cell": ["a"] * 6, "act": ["x", "y"] * 3, "seed": [0, 0, 1, 1, 2, 2],
                      "acc": [0.1, 0.5, 0.2, 0.5, 0.6, 0.8]})
    pool = S._residual_pool(t, ["a"], ["x", "y"], "acc")
    # x: mean 0.3, residuals -0.2, -0.1, 0.3, times sqrt(3/2)
    assert pool[:, 0] == pytest.approx(np.array([-0.2, -0.1, 0.3]) * np.sqrt(1.5))
    assert pool.mean(axis=0) == pytest.approx([0, 0])
    assert pool[:, 1].var() == pytest.approx(t[t.act == "y"].acc.var(ddof=1))


def test_noise_free_table_gives_the_planted_differences(committed):
    shape = shape_from(*committed)
    world = next(w for w in worlds(shape, C.RULES) if w.claim == 4 and w.role == "effect")
    slope, gain = C.claim4(S.noiseless(shape, world.means)).comparisons
    effect = C.RULES.calibration["accuracy_effect"]
    assert gain.estimate == pytest.approx(effect)
    assert slope.estimate == pytest.approx(effect / 12)


def test_fast_calibration_runs_every_claim_and_world(committed):
    table = K.calibrate(*committed, acts(), n_sim=2)
    assert sorted(table.claim.unique()) == [1, 2, 3, 4, 5, 6]
    assert set(table.role) == {"true", "false", "effect"}
    assert list(table.noise.unique()) == list(S.NOISE_MODELS) and set(table.seeds) == {5}
    rates = table[["supported", "contradicted", "inconclusive"]].sum(axis=1)
    assert rates.to_numpy() == pytest.approx(1.0)
    assert table.coverage.between(0, 1).all()
    # deterministic: the same seed gives the same table
    again = K.calibrate(*committed, acts(), n_sim=2, claims=[1, 5], noise=["cell"])
    pd.testing.assert_frame_equal(table[(table.noise == "cell") & table.claim.isin([1, 5])].reset_index(drop=True),
                                  again)


def test_failures_names_every_missed_bar():
    table = pd.DataFrame([
        dict(claim=3, world="true", role="true", supported=0.0, contradicted=0.06, coverage=0.95),
        dict(claim=3, world="false", role="false", supported=0.051, contradicted=0.0, coverage=0.95),
        dict(claim=4, world="effect", role="effect", supported=0.9, contradicted=0.06, coverage=0.92),
        dict(claim=5, world="true", role="true", supported=0.9, contradicted=0.05, coverage=np.nan),
    ])
    bad = B.failures(table)
    assert len(bad) == 3
    assert "claim 3: 'contradicted'" in bad[0] and "claim 3: 'supported'" in bad[1] and "cover" in bad[2]


def test_unreachable_names_the_verdicts_a_rule_never_gives():
    def world(claim, supported, contradicted):
        return dict(claim=claim, supported=supported, contradicted=contradicted,
                    inconclusive=1 - supported - contradicted)
    table = pd.DataFrame([world(1, 0.02, 0.0), world(1, 0.96, 0.0),                    # never contradicted
                          world(5, 0.0, 0.02), world(5, 0.0, 0.0),                     # never supported
                          world(6, 0.0, 0.03), world(6, 0.001, 0.0), world(6, 0.5, 0.5)])  # all three somewhere
    assert B.unreachable(table) == {1: ["contradicted"], 5: ["supported"]}
    assert B.unreachable(pd.DataFrame([world(2, 1.0, 0.0)])) == {2: ["contradicted", "inconclusive"]}


ARGS = ["--results", str(RESULTS), "--simulations", "5", "--jobs", "1", "--claims", "1", "--noise", "pooled"]


def test_script_writes_its_csv_and_exits_0_with_or_without_a_missed_bar(tmp_path, monkeypatch, capsys):
    """A missed bar is a finding: the table is written where make expects it, the miss printed."""
    out, cal = tmp_path / "cal.csv", load_script("calibrate_claims")
    assert cal.main([*ARGS, "--out", str(out)]) == 0
    assert list(pd.read_csv(out).world) == ["true", "false", "effect"]
    monkeypatch.setattr(cal, "failures", lambda table: ["claim 1: a missed bar"])
    out.unlink()
    assert cal.main([*ARGS, "--out", str(out)]) == 0
    assert list(pd.read_csv(out).world) == ["true", "false", "effect"]
    assert "MISSED (pooled noise) claim 1: a missed bar" in capsys.readouterr().err


def test_a_world_with_nothing_to_plant_stops_the_simulation(committed):
    """A broken simulation is a bug, not a finding: it raises, and the script exits 2."""
    shape = shape_from(*committed, seeds=3)
    world = next(w for w in worlds(shape, C.RULES) if w.claim == 4)
    means = {k: v.copy() for k, v in world.means.items()}
    means[("long", "acc")].iloc[0, 0] = np.nan
    with pytest.raises(K.SimulationError, match="claim 4, true world: no mean to plant for long, acc in depth=8"):
        K.run_world(shape, World(4, "true", "true", "", means), 1, np.random.default_rng(0), C.RULES)
    shape.cells["long"] = []
    with pytest.raises(K.SimulationError, match="scale long has no cells"):
        K.run_world(shape, world, 1, np.random.default_rng(0), C.RULES)


def test_calibrated_level_by_hand():
    p = np.arange(1, 101) / 100            # 0.01 ... 1.00
    assert S.calibrated_level(p, 0.05) == 0.06   # 0.01-0.05 lie below it: 5 of 100
    assert S.calibrated_level(p[::-1], 0.0) == 0.01
    assert S.calibrated_level([0.3], 0.05) == 0.3
    with pytest.raises(ValueError, match="without NaN"):
        S.calibrated_level([0.1, np.nan], 0.05)


def test_claim3_level_meets_its_declared_rate(committed, monkeypatch):
    spec = C.RULES.sensitivity["claim3"]["calibrated_level"]
    monkeypatch.setitem(spec, "simulations", 200)
    row = K.claim3_level(*committed, acts(), seeds=5)
    assert row["claim"] == 3 and row["simulations"] == 200 and row["noise"] == spec["noise"]
    assert row["contradicted_at_level"] <= spec["false_contradicted"]
    assert 0 < row["level"] <= 1


def test_power_table_has_every_n_claim_and_world_with_its_cost(committed):
    table = P.table(*committed, acts(), n_sim=3, seeds=(5, 10))
    assert sorted(table.seeds.unique()) == [5, 10]
    assert table.groupby("seeds").claim.nunique().eq(6).all()
    assert set(table.world) == {"effect", "observed"}
    cost = table.groupby("seeds").core_hours.first()
    assert cost[10] == pytest.approx(2 * cost[5])  # twice the seeds, twice the runs


def test_study_cost_is_runs_times_seconds_per_run():
    runs = pd.DataFrame({"model": ["plain"] * 2, "depth": [8, 8], "train_size": [5000] * 2, "epochs": [5] * 2,
                         "lr": [0.02] * 2, "batch_size": [32] * 2, "init_bias": [0.0] * 2, "status": ["ok"] * 2,
                         "final_test_acc": [0.3] * 2, "dead_ratio_final": [0.0] * 2, "dead_ratio_peak": [0.0] * 2,
                         "wall_time_s": [100.0, 200.0], "act": ["relu"] * 2, "seed": [0, 1]})
    shape = S.Shape({"stress": ["relu", "prelu"]}, 2, {"stress": ["baseline", "lr=0.1"]}, {}, {})
    # 2 cells x 2 activations x 3 seeds x 150 s
    assert P.core_hours(runs, shape, 3) == pytest.approx(2 * 2 * 3 * 150 / 3600)

"""scripts/calibrate_claims.py: the simulated tables have the study's shape, the noise is the
committed runs', and a fast version of the whole calibration runs (the full one is
`make calibrate`, about a minute on two idle cores)."""
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from rectifiers import claims as C

sys.path.insert(0, str(ROOT / "scripts"))
import calibrate_claims as K  # noqa: E402

RESULTS = ROOT / "results" / "cpu"


@pytest.fixture(scope="module")
def committed():
    return pd.read_csv(RESULTS / "runs.csv"), pd.read_csv(RESULTS / "epochs.csv")


def test_simulated_tables_have_the_study_shape(committed):
    shape = K.shape_from(*committed)
    t = K.simulate(shape, shape.means, np.random.default_rng(0))
    stress = t[t.scale == "stress"]
    assert set(stress.cell) == set(C.RULES.stress_cells())
    assert stress.groupby(["cell", "act"]).seed.nunique().eq(5).all()
    assert set(stress.act) == {C.RULES.relu, *C.RULES.leaky, C.RULES.prelu}
    assert set(t[t.scale == "long"].cell) == {"depth=8", "depth=20"}
    assert set(t[t.scale == "trained"].act) == set(K.TRAINED_ACTS)
    # every claim function accepts the simulated table
    for v in C.decide(t):
        assert v.verdict in (C.SUPPORTED, C.CONTRADICTED, C.INCONCLUSIVE)


def test_residual_pool_is_centred_and_keeps_the_variance():
    t = pd.DataFrame({"cell": ["a"] * 6, "act": ["x", "y"] * 3, "seed": [0, 0, 1, 1, 2, 2],
                      "acc": [0.1, 0.5, 0.2, 0.5, 0.6, 0.8]})
    pool = K._residual_pool(t, ["a"], ["x", "y"], "acc")
    # x: mean 0.3, residuals -0.2, -0.1, 0.3, times sqrt(3/2)
    assert pool[:, 0] == pytest.approx(np.array([-0.2, -0.1, 0.3]) * np.sqrt(1.5))
    assert pool.mean(axis=0) == pytest.approx([0, 0])
    assert pool[:, 1].var() == pytest.approx(t[t.act == "y"].acc.var(ddof=1))


def test_noise_free_table_gives_the_planted_differences(committed):
    shape = K.shape_from(*committed)
    world = next(w for w in K.worlds(shape, C.RULES) if w["claim"] == 4 and w["role"] == "effect")
    slope, gain = C.claim4(K.noiseless(shape, world["means"])).comparisons
    effect = C.RULES.calibration["accuracy_effect"]
    assert gain["estimate"] == pytest.approx(effect)
    assert slope["estimate"] == pytest.approx(effect / 12)


def test_fast_calibration_runs_every_claim_and_world(committed):
    table = K.calibrate(*committed, n_sim=8)
    assert sorted(table.claim.unique()) == [1, 2, 3, 4, 5, 6]
    assert set(table.role) == {"true", "false", "effect"}
    rates = table[["supported", "contradicted", "inconclusive"]].sum(axis=1)
    assert rates.to_numpy() == pytest.approx(1.0)
    assert table.coverage.between(0, 1).all()
    # deterministic: the same seed gives the same table
    pd.testing.assert_frame_equal(table, K.calibrate(*committed, n_sim=8))


def test_failures_names_every_missed_bar():
    table = pd.DataFrame([
        dict(claim=3, world="true", role="true", supported=0.0, contradicted=0.06, coverage=0.95),
        dict(claim=3, world="false", role="false", supported=0.051, contradicted=0.0, coverage=0.95),
        dict(claim=4, world="effect", role="effect", supported=0.9, contradicted=0.06, coverage=0.92),
        dict(claim=5, world="true", role="true", supported=0.9, contradicted=0.05, coverage=np.nan),
    ])
    bad = K.failures(table)
    assert len(bad) == 3
    assert "claim 3: 'contradicted'" in bad[0] and "claim 3: 'supported'" in bad[1] and "cover" in bad[2]


ARGS = ["--results", str(RESULTS), "--simulations", "5", "--jobs", "1", "--claims", "1"]


def test_script_writes_its_csv_and_exit_status(tmp_path):
    out = tmp_path / "cal.csv"
    rc = K.main([*ARGS, "--out", str(out)])
    written = out if rc == 0 else tmp_path / "cal.failed.csv"
    table = pd.read_csv(written)
    assert list(table.world) == ["true", "false", "effect"] and rc == (1 if K.failures(table) else 0)


def test_a_failed_calibration_leaves_the_last_passing_one_alone(tmp_path, monkeypatch):
    """So that a rerun of `make calibrate` does not find a fresh CSV and go on."""
    out = tmp_path / "cal.csv"
    out.write_text("the last calibration that passed\n")
    monkeypatch.setattr(K, "failures", lambda table: ["claim 1: a missed bar"])
    assert K.main([*ARGS, "--out", str(out)]) == 1
    assert out.read_text() == "the last calibration that passed\n"
    assert list(pd.read_csv(tmp_path / "cal.failed.csv").world) == ["true", "false", "effect"]

"""A reproduction (scripts/compare.py): the counts of its report on small hand-made tables
(rectifiers.render.reproduction, each expected value worked out by hand), the headline numbers
against the macros the paper prints, and where `make reproduce` builds, with its refusals
(rectifiers.experiment.locate). The whole chain is tests/test_reproduce.py."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from fake_results import write_fake_results
from rectifiers.analysis import results
from rectifiers.experiment import data
from rectifiers.experiment import locate as loc
from rectifiers.experiment.config import ConfigError
from rectifiers.render import latex, reproduction
from rectifiers.render.cell_numbers import cell_numbers, scale_numbers

NAN = float("nan")


def verdict(claim, v, seeds, not_run=False):
    return {"claim": claim, "verdict": v, "not_run": not_run, "seeds": seeds}


def test_verdicts_agree_differ_or_are_not_comparable():
    committed = [verdict(1, "supported", 10), verdict(2, "supported", 10), verdict(3, "contradicted", 10),
                 verdict(4, "inconclusive", 10), verdict(5, "inconclusive", 10),
                 verdict(6, "inconclusive", 10, not_run=True)]
    reproduced = [verdict(1, "supported", 10), verdict(2, "contradicted", 10), verdict(3, "inconclusive", 1),
                  verdict(4, "supported", 3), verdict(5, "inconclusive", 1), verdict(6, "supported", 10)]
    rows = reproduction.compare_verdicts(committed, reproduced)
    assert [r["status"] for r in rows] == ["agree", "differ", "not comparable", "differ", "not comparable",
                                           "not comparable"]
    assert rows[2]["why"] == "inconclusive on 1 of 10 seeds: too few to decide"
    assert rows[5]["why"] == "not run in full in the committed study"
    assert reproduction.verdict_seeds(("trained", "stress"), {"stress": 10, "long": 10, "trained": 3}) == 3
    assert reproduction.verdict_seeds(("long",), {"stress": 10}) == 0


@pytest.mark.parametrize("value, mean, low, high, n, expected", [
    (0.50, 0.45, 0.40, 0.50, 3, True),     # on the upper end
    (0.39, 0.45, 0.40, 0.50, 3, False),
    (0.51, 0.45, 0.40, 0.50, 3, False),
    (0.45, 0.45, NAN, NAN, 1, None),       # one run: no interval
    (0.00, 0.00, NAN, NAN, 5, True),       # five runs without a dead unit: no spread, the same value
    (0.01, 0.00, NAN, NAN, 5, False),
    (NAN, 0.45, 0.40, 0.50, 3, None),      # not in the committed study
])
def test_committed_value_inside_the_reproductions_interval(value, mean, low, high, n, expected):
    assert reproduction.within(value, mean, low, high, n) is expected


def runs(keys, status, collapsed, acc):
    return pd.DataFrame({"key": keys, "act": "relu", "scale": "stress", "status": status, "collapsed": collapsed,
                         "acc": acc})


def test_paired_runs_flips_and_differences():
    c = runs(list("abcde"), ["ok", "ok", "diverged", "ok", "failed"], [0.0, 0.0, 1.0, 1.0, NAN],
             [0.40, 0.30, 0.10, 0.10, NAN])
    r = runs(list("abcdez"), ["ok", "diverged", "diverged", "ok", "ok", "ok"], [0.0, 1.0, 1.0, 0.0, 0.0, 0.0],
             [0.42, 0.10, 0.10, 0.35, 0.30, 0.50])
    pairs = reproduction.paired_runs(c, r)
    assert sorted(pairs.key) == list("abcde")  # z has no committed run
    assert reproduction.flips(pairs) == {"pairs": 5, "status": {"failed -> ok": 1, "ok -> diverged": 1},
                                    "collapsed": 1, "recovered": 1}  # b collapsed, d recovered; e has no outcome
    d = reproduction.differences(pairs)  # +2, -20, 0, +25 points; e has no committed accuracy
    assert d["n"] == 4 and d["within_1"] == 1
    assert d["mean"] == pytest.approx(1.75) and d["median"] == pytest.approx(1.0) and d["max_abs"] == pytest.approx(25)


def test_the_last_lines_say_what_agreed_and_what_did_not():
    verdicts = [{"claim": 1, "status": "agree", "committed": "supported", "reproduced": "supported"},
                {"claim": 2, "status": "differ", "committed": "supported", "reproduced": "contradicted"},
                {"claim": 3, "status": "not comparable", "committed": "supported", "reproduced": "inconclusive"}]
    numbers = [{"name": "ReluAccLr", "inside": True}, {"name": "ReluAccDepth", "inside": False,
                                                       "committed": "20.8 [18.0, 23.6] (10)",
                                                       "reproduced": "25.1 [24.0, 26.2] (10)"},
               {"name": "ReluAccTrained", "inside": None}]
    flip = {"pairs": 7, "status": {"ok -> diverged": 2}, "collapsed": 1, "recovered": 0}
    assert reproduction.conclusion(verdicts, numbers, flip) == [
        "Agreed: 1 of 2 comparable verdicts (claim 1); 1 of 2 headline numbers inside the reproduction's 95% "
        "interval; 5 of 7 paired runs ended the same way.",
        "Did not agree: claim 2 (supported committed, contradicted reproduced); ReluAccDepth (20.8 [18.0, 23.6] "
        "(10) committed, 25.1 [24.0, 26.2] (10) reproduced); 2 runs ok -> diverged; 1 run collapsed only in the "
        "reproduction.",
        "Not comparable: 1 verdict (claim 3) and 1 number without a reproduced interval (too few runs)."]


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    out = write_fake_results(tmp_path_factory.mktemp("results") / "fake")
    return out, results.load(out, "epochs")


MEANS = re.compile(r"^(ReluAcc|ReluPeakDead|ReluEndDead|ReluInitDead|BestAcc(?!uracyA|uracyR)|LeakyMaxEndDead|"
                   r"MainFirstAccuracy)")


def test_headline_numbers_are_the_means_and_intervals_the_paper_prints(fake):
    out, res = fake
    macros = {**cell_numbers(res), **scale_numbers(res)}  # where numbers.tex has means
    specs = reproduction.headline_specs(res)
    measured = reproduction.measure(res, specs)
    names = {n for s in specs for n in s.names}
    assert {m for m in macros if MEANS.match(m)} <= names, "a mean of numbers.tex is not compared"
    for s in specs:
        m = measured[s]
        assert latex.pct(m["mean"]) == macros[s.names[0]], s
        if len(s.names) == 2:  # the printed interval of the same runs
            assert (latex.interval(m["low"], m["high"]) or "(no interval)") == macros[s.names[1]], s
    # a reproduction identical to the committed results: every committed mean inside, every run paired
    rows = reproduction.compare_numbers(specs, measured, reproduction.measure(res, specs))
    assert rows and all(r["inside"] in (True, None) for r in rows)


# --- where make reproduce builds -------------------------------------------------------------

SMOKE = "smoke"
OTHER = ["data.synthetic_train=300"]  # another synthetic set: another fingerprint


@pytest.fixture
def committed(tmp_path, compose):
    """A committed results/smoke/study.json on the smoke profile's synthetic data."""
    fp = data.content_fingerprint(compose([f"profile={SMOKE}"]).data)
    (tmp_path / "results" / SMOKE).mkdir(parents=True)
    (tmp_path / "results" / SMOKE / "study.json").write_text(json.dumps({"data_fingerprint": fp}))
    return tmp_path, fp


def locate(root, *overrides, **kw):
    return loc.locate(SMOKE, list(overrides), committed=root / "results", home=root / "reproductions", **kw)


def test_committed_data_builds_the_committed_tree_and_fresh_a_reproduction(committed):
    root, fp = committed
    assert locate(root).name is None
    with pytest.raises(loc.Refused, match="add FRESH=1"):
        locate(root, sample=1)
    place = locate(root, fresh=True, sample=1)
    assert place.name == f"smoke-synthetic-{fp[:12]}" and place.note == ""
    manifest = json.loads((root / "reproductions" / place.name / "reproduction.json").read_text())
    assert manifest["state"] == "running" and manifest["fresh"] and manifest["sample"] == 1
    again = locate(root, fresh=True, sample=1)  # stopped before `make compare` marked it complete
    assert "interrupted reproduction (0 runs recorded): continuing where it stopped" in again.note


def test_other_data_gets_its_own_folder_and_a_folder_of_other_data_is_refused(committed):
    root, fp = committed
    place = locate(root, *OTHER)
    assert place.name.startswith("smoke-synthetic-") and place.fingerprint != fp
    with pytest.raises(loc.Refused, match=f"holds a reproduction of profile smoke on other data .*{fp[:12]}"):
        locate(root, name=place.name)  # the committed data, into the other data's folder
    (root / "reproductions" / "mine").mkdir()
    (root / "reproductions" / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(loc.Refused, match="holds no reproduction.json"):
        locate(root, name="mine")


def test_unknown_data_is_refused_before_anything_is_made(committed):
    root, _ = committed
    with pytest.raises(ConfigError, match="unknown data.source 'imagenet'; use one of"):
        locate(root, "data.source=imagenet")
    with pytest.raises(ConfigError, match="did you mean data.root"):
        locate(root, "data.rooot=x")
    with pytest.raises(loc.Refused, match="SAMPLE=3: profile smoke has 2 seeds per cell; give 1 to 2"):
        loc.check_sample(SMOKE, 3, None)
    assert not (root / "reproductions").exists()

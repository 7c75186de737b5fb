"""What numbers.tex says of the tuned study (analysis/tuning.py): how far it has run, each
activation's chosen rate, its difference from ReLU after tuning beside the fixed-rate one, what
tuning did to it in one word (tuning.fate), and the sentence the abstract and the conclusion use."""
from __future__ import annotations

import pandas as pd

from .. import activations
from ..analysis import tuning
from ..analysis.rules import RULES
from .latex import act_name, count, num, series, signed_interval_tex, spelled

ACTS = [RULES.relu, *RULES.leaky, RULES.prelu]
FATE_ORDER = ("survives", "vanishes", "reverses", "appears", "turns into a gain", "remains a loss", "appears as a loss",
              "is absent either way")  # the order the text tells them in


def gain_text(r) -> str:
    return signed_interval_tex(r.gain, r.gain_low, r.gain_high) + " points"


def problem_numbers(found: tuning.Tuned, fixed: pd.DataFrame, trained: pd.DataFrame) -> tuple[dict, list]:
    """Per depth and activation (every macro defined, 'n/a' until its runs exist): the chosen
    rate, the runs that trained after tuning and at the fixed rate ('k/n'), and once compared the
    tuned and fixed-rate differences from ReLU and their fate; with the fates, for the sentence.
    Names: TunedRateEightPrelu, TunedTrainedTwentyRelu, TunedGainTwentyLeakyPointThree."""
    names = {(d, a): spelled(d) + act_name(a) for d in RULES.tuning["depths"] for a in ACTS}
    kinds = ("TunedRate", "TunedTrained", "FixedTrained", "TunedGain", "FixedGain", "TunedFate")
    m = {f"{kind}{n}": "n/a" for n in names.values() for kind in kinds}
    fates = []
    compared = found.comparison.set_index(tuning.KEYS) if len(found.comparison) else pd.DataFrame()
    for pick in found.chosen.itertuples():
        name = names[(pick.depth, pick.act)]
        m[f"TunedRate{name}"] = num(pick.lr)
        key = (pick.depth, pick.act)
        for kind, table in (("TunedTrained", compared), ("FixedTrained", trained)):
            if key in table.index:
                m[f"{kind}{name}"] = f"{int(table.loc[key, 'n_trained'])}/{int(table.loc[key, 'n'])}"
        if pick.act == activations.REFERENCE or key not in compared.index or key not in fixed.index:
            continue
        t, f = compared.loc[key], fixed.loc[key]
        word = tuning.fate((f.gain_low, f.gain_high), (t.gain_low, t.gain_high))
        m.update({f"TunedGain{name}": gain_text(t), f"FixedGain{name}": gain_text(f), f"TunedFate{name}": word})
        fates.append((pick.depth, pick.act, word, t, f))
    return m, fates


def sentence(fates: list, found: tuning.Tuned) -> str:
    """The plain-words answer, per fate: which activations at which depths it holds for
    ('survives for Leaky 0.3 at depths 8 and 20'); the numbers are in the table beside it."""
    if not fates:
        done = int(found.comparison.n.sum()) if len(found.comparison) else 0
        return (f"The tuned comparison has not finished ({found.grid_runs} of {found.grid_planned} selection runs, "
                f"{done} comparison runs so far).")
    said = []
    for word in FATE_ORDER:
        held = [(d, a) for d, a, w, *_ in fates if w == word]
        where = [f"{activations.display(act)} at depth{'s' if len(ds) > 1 else ''} {series([num(d) for d in ds])}"
                 for act in ACTS if (ds := sorted(d for d, a in held if a == act))]
        if where:
            said.append(f"{word} for {series(where)}")
    listed = "; ".join(said[:-1]) + "; and " + said[-1] if len(said) > 1 else said[0]
    return f"With each activation's learning rate tuned on held-out images, the difference from ReLU {listed}."


def tuned_numbers(tuned: pd.DataFrame, t: pd.DataFrame) -> dict[str, str]:
    """numbers.tex's macros of the tuned study, from tuned.csv and the fixed-rate study's tidy table."""
    found = tuning.summarise(tuned)
    depths = RULES.tuning["depths"]
    m = {"TunedGridRuns": count(found.grid_runs), "TunedGridPlanned": count(found.grid_planned),
         "TunedComparisonRuns": count(found.comparison.n.sum() if len(found.comparison) else 0),
         "TunedComparisonPlanned": count(len(depths) * len(ACTS) * len(RULES.tuning["comparison_seeds"])),
         "TunedValidation": count(RULES.tuning["validation"]),
         "TunedSelectionSeeds": count(len(RULES.tuning["selection_seeds"])),
         "TunedComparisonSeeds": count(len(RULES.tuning["comparison_seeds"])),
         "TunedDepths": " and ".join(num(d) for d in depths),
         "TunedRates": ", ".join(num(r) for r in RULES.tuning["rates"])}
    done = (m["TunedGridRuns"], m["TunedComparisonRuns"]) == (m["TunedGridPlanned"], m["TunedComparisonPlanned"])
    m["TunedProgress"] = (f"The study is complete: all {m['TunedGridPlanned']} selection runs and all "
                          f"{m['TunedComparisonPlanned']} comparison runs." if done else
                          f"So far the study has {m['TunedGridRuns']} of its {m['TunedGridPlanned']} selection runs "
                          f"and {m['TunedComparisonRuns']} of its {m['TunedComparisonPlanned']} comparison runs.")
    compared = len(found.comparison) > 0
    numbers, fates = problem_numbers(found, tuning.fixed_rate(t) if compared else pd.DataFrame(),
                                     tuning.fixed_trained(t) if compared else pd.DataFrame())
    under_way = (f"We also tune each activation's learning rate on held-out images and compare on fresh seeds; that "
                 f"study is under way ({m['TunedGridRuns']} of {m['TunedGridPlanned']} selection and "
                 f"{m['TunedComparisonRuns']} of {m['TunedComparisonPlanned']} comparison runs).")
    return {**m, **numbers, "TunedSentence": sentence(fates, found),
            "TunedAbstract": short_sentence(fates, m) if fates else under_way}


def short_sentence(fates: list, m: dict) -> str:
    """The abstract's version: per fate, the activations and depths it holds for, with the tuned
    difference; and how far the comparison has run if it has not finished."""
    by_fate: dict[str, list] = {}
    for depth, act, word, t, _ in fates:
        by_fate.setdefault(word, []).append(f"{activations.display(act)} at depth {depth} "
                                            f"({signed_interval_tex(t.gain, t.gain_low, t.gain_high)} points)")
    said = "; ".join(f"{word} for " + ", ".join(by_fate[word]) for word in FATE_ORDER if word in by_fate)
    left = ("" if m["TunedComparisonRuns"] == m["TunedComparisonPlanned"] else
            f" ({m['TunedComparisonRuns']} of {m['TunedComparisonPlanned']} comparison runs so far)")
    return (f"With each activation's learning rate tuned on held-out images and compared on fresh seeds, the "
            f"difference from ReLU {said}{left}.")

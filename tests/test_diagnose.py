"""The dead-unit check for any model (rectifiers.diagnose and its modules): exact figures on models whose dead
units are known, one row per call of a module, agreement with the training monitor, the
command line's outputs and its one-line refusals, and the advice drawn from the results."""
from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from fake_results import copy_results, write_fake_results
from rectifiers import diagnose, files
from rectifiers.analysis import results
from rectifiers.diagnose import report
from rectifiers.render import latex
from rectifiers.training import models, tensors
from rectifiers.training.monitor import LayerStats, Monitor

NOCAST = contextlib.nullcontext


def half_dead_conv(c_out=8):
    """A conv whose even channels have bias -100: far below anything its weights reach on
    standardised images (|w . x| < 27 * 0.2 * 5), so exactly half its channels are dead."""
    torch.manual_seed(0)
    conv = nn.Conv2d(3, c_out, 3, padding=1)
    with torch.no_grad():
        conv.bias[::2] = -100.0
    return conv


def alive(layer):
    """A layer whose every output is positive: bias +100 over tiny weights."""
    with torch.no_grad():
        layer.weight.mul_(1e-3)
        layer.bias.fill_(100.0)
    return layer


def known_model():
    """conv (half dead) -> ReLU -> conv (alive) -> ReLU -> pool -> linear (alive) -> ReLU -> linear."""
    return nn.Sequential(half_dead_conv(), nn.ReLU(), alive(nn.Conv2d(8, 4, 1)), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), alive(nn.Linear(4, 6)), nn.ReLU(), nn.Linear(6, 10))


def images(n=16, size=8, seed=0):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


# --- measure() on models whose dead units are known -----------------------------------------

def test_half_dead_conv_is_exactly_half_dead_and_nothing_else():
    rows = diagnose.measure(known_model(), images(), chunk=5)  # 16 images in chunks of 5
    assert [r["name"] for r in rows] == ["1", "3", "7"]
    assert [r["kind"] for r in rows] == ["relu"] * 3
    assert [r["units"] for r in rows] == [8, 4, 6]  # channels of conv maps, features of a linear layer
    assert [r["dead_ratio"] for r in rows] == [0.5, 0.0, 0.0]
    assert [r["dead"] for r in rows] == [4, 0, 0]
    assert diagnose.network_dead_ratio(rows) == 4 / 18
    # the statistics streamed in chunks are the monitor's on the whole probe at once
    model = known_model()
    with torch.no_grad():
        pre = model[0](images())
    whole = LayerStats.of(pre, torch.relu(pre)).metrics(0.1)
    assert rows[0]["sparsity"] == pytest.approx(whole["sparsity"])
    assert rows[0]["dormant_ratio"] == pytest.approx(whole["dormant_ratio"])


def test_resnet18_reports_one_row_per_relu_call():
    import torchvision  # a pinned dependency: an import error is a failure, not a skip
    rows = diagnose.measure(torchvision.models.resnet18(weights=None), images(4, 32))
    blocks = [f"layer{s}.{b}.relu" for s in range(1, 5) for b in range(2)]
    assert [r["name"] for r in rows] == ["relu"] + [f"{b}#{i}" for b in blocks for i in range(2)]
    assert len(rows) == 17
    assert [r["units"] for r in rows] == [64] + [c for c in (64, 128, 256, 512) for _ in range(4)]


class SharedReLU(nn.Module):
    """One ReLU module called twice, on inputs with different dead units (as in a BasicBlock)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = half_dead_conv(), alive(nn.Conv2d(8, 8, 1))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.conv2(self.relu(self.conv1(x))))


def test_a_module_called_twice_is_measured_per_call():
    rows = diagnose.measure(SharedReLU(), images(), chunk=4)
    assert [(r["name"], r["dead_ratio"]) for r in rows] == [("relu#0", 0.5), ("relu#1", 0.0)]


def test_the_input_is_measured_before_an_in_place_activation_overwrites_it():
    """A leaky slope of -1 turns every negative input positive, in place: read after the call,
    the dead channels would look alive."""
    model = nn.Sequential(half_dead_conv(), nn.LeakyReLU(-1.0, inplace=True))
    (row,) = diagnose.measure(model, images())
    assert row["kind"] == "leaky_relu" and row["dead_ratio"] == 0.5


@pytest.mark.parametrize("act, kind", [(nn.ReLU(), "relu"), (nn.LeakyReLU(0.1), "leaky_relu"), (nn.PReLU(), "prelu"),
                                       (nn.ReLU6(), "relu6"), (nn.RReLU(), "rrelu"), (nn.ELU(), "other"),
                                       (nn.GELU(), "other")])
def test_every_rectifier_kind_is_hooked(act, kind):
    (row,) = diagnose.measure(nn.Sequential(half_dead_conv(), act), images())
    assert row["kind"] == kind and row["dead_ratio"] == 0.5


def test_measure_restores_the_mode_and_leaves_no_hook():
    bn = nn.BatchNorm2d(8)
    model = nn.Sequential(half_dead_conv(), bn, nn.ReLU())
    model.train()
    before = bn.running_mean.clone()
    diagnose.measure(model, images() + 3)
    assert model.training and torch.equal(bn.running_mean, before)  # measured in eval mode
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    with pytest.raises(RuntimeError):
        diagnose.measure(model, torch.randn(2, 5, 8, 8))  # wrong channels: the forward pass fails
    assert model.training and not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_a_model_without_rectifier_modules_is_refused():
    with pytest.raises(diagnose.NoRectifierError, match="no rectifier module"):
        diagnose.measure(nn.Sequential(nn.Conv2d(3, 4, 3)), images())


# --- agreement with the training monitor ---------------------------------------------------

@pytest.mark.parametrize("overrides", [
    ["model.width=4", "model.depth=5", "model.init.bias=-1.0"],  # many dead units at initialisation
    ["activation=prelu", "model.width=4", "model.init.bias=-0.3"],
    ["model=resnet", "model.depth=8", "model.width=4", "activation=leaky_relu"],
])
def test_the_study_models_agree_with_the_training_monitor(compose, overrides):
    cfg = compose(["data=synthetic", "data.synthetic_train=200", "data.synthetic_test=20", *overrides])
    ds = tensors.load(cfg.data, 64, torch.device("cpu"))
    probe = tensors.normalise(ds.train.x[ds.probe_idx], ds.mean, ds.std)
    torch.manual_seed(0)
    model = models.build_model(cfg.model, cfg.activation).to(memory_format=torch.channels_last)
    _, monitored = Monitor(model, probe, tau=0.1, chunk=32).measure(0, NOCAST)
    rows = diagnose.measure(model, probe, tau=0.1, chunk=32)
    keys = ("name", "units", "dead", "dead_ratio", "sparsity", "dormant_ratio")
    assert [{k: r[k] for k in keys} for r in rows] == [{k: r[k] for k in keys} for r in monitored]
    if "model.init.bias=-1.0" in overrides:
        assert sum(r["dead"] for r in rows) > 0  # the comparison is not trivially all zeros


# --- the command line ---------------------------------------------------------------------

USER_MODULE = '''
import torch
from torch import nn


def half_dead():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 8, 3, padding=1)
    with torch.no_grad():
        conv.bias[::2] = -100.0
    return nn.Sequential(conv, nn.ReLU(), nn.Conv2d(8, 4, 1), nn.LeakyReLU(0.1), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 10))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 16), nn.ReLU(), nn.Linear(16, 10))


def no_rectifier():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten())


def needs_width(width):
    return nn.Linear(width, 2)
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module of factories in the current folder, as a user would have it."""
    (tmp_path / "diag_user_models.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "diag_user_models", raising=False)
    monkeypatch.chdir(tmp_path)
    return "diag_user_models"


@pytest.fixture(scope="module")
def fake_results(tmp_path_factory):
    return write_fake_results(tmp_path_factory.mktemp("results") / "fake")


def test_json_and_figure_are_written(user_module, fake_results, tmp_path, capsys):
    out_json, out_png = tmp_path / "out" / "r.json", tmp_path / "out" / "r.png"
    rc = diagnose.main(["--model", f"{user_module}:half_dead", "--probe", "32", "--json", str(out_json),
                        "--figure", str(out_png), "--results", str(fake_results)])
    assert rc == 0
    record = json.loads(out_json.read_text())
    assert set(record) >= {"model", "probe", "layers", "dead_ratio", "advice"}
    assert record["model"] == f"{user_module}:half_dead" and record["probe"] == 32
    assert [set(r) for r in record["layers"]] == [{"name", "kind", "units", "dead_ratio", "dormant_ratio",
                                                   "sparsity"}] * 2
    first, second = record["layers"]
    assert (first["name"], first["kind"], first["units"], first["dead_ratio"]) == ("1", "relu", 8, 0.50)
    assert second["kind"] == "leaky_relu"
    units = first["units"] + second["units"]
    assert record["dead_ratio"] == pytest.approx((first["dead_ratio"] * 8 + second["dead_ratio"] * 4) / units)
    assert record["advice"]
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shown = capsys.readouterr().out
    assert "network:" in shown and f"{100 * record['dead_ratio']:.1f}% dead" in shown


def test_random_weights_are_seeded(user_module, tmp_path):
    out = [tmp_path / f"{i}.json" for i in range(2)]
    for path in out:
        assert diagnose.main(["--model", f"{user_module}:mlp", "--probe", "16", "--json", str(path),
                              "--results", str(tmp_path / "none")]) == 0
    assert out[0].read_text() == out[1].read_text()


@pytest.mark.parametrize("args, problem", [
    (["--model", "no_such_package.models:net"], "cannot import 'no_such_package.models'"),
    (["--model", "{m}"], "is not PKG.MODULE:FACTORY"),
    (["--model", "{m}:missing"], "has no 'missing'"),
    (["--model", "{m}:needs_width"], "no arguments"),
    (["--model", "{m}:no_rectifier"], "has no rectifier module"),
    (["--model", "{m}:half_dead", "--checkpoint", "{mlp_weights}"], "does not fit"),
    (["--model", "{m}:half_dead", "--checkpoint", "missing.pt"], "does not exist"),
    (["--model", "{m}:half_dead", "--checkpoint", "{pickled_model}"], "cannot be loaded as weights"),
    (["--model", "{m}:mlp", "--input-shape", "3,64,64"], "rejects probe images of shape 3x64x64"),
    (["--model", "{m}:mlp", "--input-shape", "3,64"], "is not C,H,W"),
    (["--model", "{m}:mlp", "--data", "folder:no/such/folder"], "is not a folder"),
    (["--model", "{m}:mlp", "--data", "imagenet"], "is not synthetic, folder:ROOT or cifar10:ROOT"),
    (["--model", "{m}:mlp", "--probe", "0"], "--probe 0"),
    (["--run", "no/such/run"], "has no config.yaml"),
])
def test_bad_input_is_one_line_and_exit_status_2(user_module, tmp_path, capsys, args, problem):
    import diag_user_models as m
    torch.save(m.mlp().state_dict(), tmp_path / "mlp.pt")
    torch.save(m.half_dead(), tmp_path / "pickled_model.pt")  # a whole model, not weights
    args = [a.format(m=user_module, mlp_weights=tmp_path / "mlp.pt", pickled_model=tmp_path / "pickled_model.pt")
            for a in args]
    if "--probe" not in args:
        args += ["--probe", "8"]
    try:
        rc = diagnose.main(args)
    except SystemExit as e:  # argparse's refusals
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("diagnose: error: ") and problem in err and "Traceback" not in err
    assert "fix: " in err or "e.g. " in err or "--help" in err  # and says what to do instead


def test_the_bar_command_on_resnet18(tmp_path):
    """The issue's bar, as a user runs it: 17 rows (its time is not a test's business)."""
    proc = subprocess.run([sys.executable, "-m", "rectifiers.diagnose", "--model", "torchvision.models:resnet18",
                           "--data", "synthetic", "--input-shape", "3,32,32", "--probe", "64", "--json", "r.json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert len(record["layers"]) == 17 and record["layers"][2]["name"] == "layer1.0.relu#1"


# --- one of this project's runs ----------------------------------------------------------

@pytest.fixture
def run_folder(tiny_cfg, tmp_path):
    """A run folder as train.py leaves it (config.yaml; checkpoint.pt only while it runs),
    of a plain CNN with many dead units at initialisation."""
    cfg = tiny_cfg("model.init.bias=-0.5", "seed=3")
    run = tmp_path / "runs" / "smoke" / "plain4-relu-0123456789-s3"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return cfg, run


def monitor_at(cfg, model):
    ds = tensors.load(cfg.data, cfg.monitor.probe_size, torch.device("cpu"))
    probe = tensors.normalise(ds.train.x[ds.probe_idx], ds.mean, ds.std)
    return Monitor(model, probe, cfg.monitor.tau, cfg.monitor.chunk).measure(0, NOCAST)[1]


def test_a_finished_run_is_measured_at_its_initialisation(run_folder, tmp_path):
    cfg, run = run_folder
    assert diagnose.main(["--run", str(run), "--json", str(tmp_path / "r.json"), "--results", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    torch.manual_seed(cfg.seed)
    expected = monitor_at(cfg, models.build_model(cfg.model, cfg.activation).to(memory_format=torch.channels_last))
    keys = ("name", "units", "dead_ratio", "sparsity", "dormant_ratio")
    assert [{k: r[k] for k in keys} for r in record["layers"]] == [{k: r[k] for k in keys} for r in expected]
    assert record["probe"] == cfg.monitor.probe_size and 0 < record["dead_ratio"] < 1
    assert "initial weights (seed 3" in record["weights"]
    assert "is missing" in record["advice"]  # no results there: said, not failed


def test_a_run_checkpoint_is_loaded(run_folder, tmp_path):
    """A checkpoint.pt as train.py writes it while a run is in progress, read with weights_only."""
    cfg, run = run_folder
    torch.manual_seed(0)
    model = models.build_model(cfg.model, cfg.activation)
    with torch.no_grad():
        model[0][0].bias.fill_(100.0)  # the first layer entirely alive, unlike at initialisation
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(images(4, 32)).sum().backward()
    opt.step()  # momentum buffers in the optimizer's state
    opt.zero_grad()
    monitor = Monitor(model, images(4, 32))
    monitor.measure(0, NOCAST)
    state = {"epoch": 1, "metrics": [{"epoch": 0, "train_loss": None, "test_acc": 0.1}], "layers": [],
             "elapsed": 1.5, "status": "running", "error": None}
    torch.save({"config": OmegaConf.to_container(cfg, resolve=True), "model": model.state_dict(),
                "optimizer": opt.state_dict(), "generator": torch.Generator().get_state(),
                "monitor": monitor.state_dict(), "state": state}, run / "checkpoint.pt")
    assert diagnose.main(["--run", str(run), "--json", str(tmp_path / "r.json"), "--results", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    expected = monitor_at(cfg, model.to(memory_format=torch.channels_last))
    assert [r["dead_ratio"] for r in record["layers"]] == [r["dead_ratio"] for r in expected]
    assert record["layers"][0]["dead_ratio"] == 0.0 and "checkpoint.pt" in record["weights"]


# --- the advice ----------------------------------------------------------------------------

def test_study_findings_follow_the_results(fake_results):
    f = report.study_findings(fake_results)
    runs = results.load(fake_results).runs
    relu = runs[(runs.act == "relu") & (runs.status == "ok")]
    assert f["dead_threshold"] == 0.30  # claim 1's threshold in conf/claims.yaml
    # the fake study: ReLU dies (60%, at chance) at the most stressful level of each plain knob
    assert [c["label"] for c in f["lethal"]] == ["lr 0.1", "batch 4", "depth 20", "bias -0.5"]
    assert f["plain_cells"] == 9
    for cell in f["lethal"]:
        assert cell["relu_peak_dead"] == pytest.approx(0.6) and cell["relu_acc"] == pytest.approx(0.1)
        assert [a["name"] for a in cell["acts"]] == ["ReLU", "Leaky 0.01", "Leaky 0.1", "Leaky 0.3", "PReLU"]
        assert cell["best"] == max(cell["acts"], key=lambda a: a["acc"]) and cell["best"]["acc"] > 0.2
        # PReLU's seed 0 diverges at each harshest level: counted, and at chance in the mean
        prelu = cell["acts"][-1]
        assert (prelu["diverged"], prelu["runs"], prelu["slope"]) == (1, 3, 0.25)
        assert cell["milder"]["runs"] == 15  # 5 activations x 3 seeds, none diverged
    lr = f["lethal"][0]
    prelu_runs = runs[(runs.act == "prelu") & (runs.lr == 0.1) & (runs.model == "plain")]
    assert lr["acts"][-1]["acc"] == pytest.approx((0.1 + prelu_runs.final_test_acc.sum()) / 3)
    assert lr["milder"]["label"] == "lr 0.05"
    relu_05 = relu[(relu.lr == 0.05) & (relu.model == "plain")]
    assert lr["milder"]["relu_acc"] == pytest.approx(relu_05.final_test_acc.mean())
    alive = relu[(relu.model == "plain") & (relu.dead_ratio_peak < 0.3)]
    assert f["relu_acc_not_lethal"] > 0.2 and len(alive) > 0
    assert f["deadliest"]["relu_peak_dead"] == pytest.approx(0.6)
    stress_leaky = runs[runs.act.str.startswith("leaky") & (runs.status == "ok") & (runs.train_size == 5000)
                        & (runs.epochs == 5)]  # claim 2's pooling: the stress grid's finished runs
    assert f["revival_leaky"] == pytest.approx(stress_leaky.revived.sum() / stress_leaky.ever_dead.sum())
    assert f["revival_relu"] == 0.0  # the fake ReLU runs never revive
    ref = f["reference"]
    assert ref["label"] == "ResNet-20" and ref["max_abs_acc_diff"] >= 0


def test_a_diverged_run_in_a_lethal_cell_counts_as_in_the_paper(fake_results, tmp_path):
    """At lr 0.1 every Leaky 0.3 run and ReLU's seed 0 diverge: the findings count them, at chance
    accuracy and every unit dead (tidy.outcomes), and the advice says so instead of 'switch'."""
    copy = copy_results(fake_results, tmp_path / "results")
    runs = pd.read_csv(copy / "runs.csv")
    lr = (runs.lr == 0.1) & (runs.model == "plain")
    runs.loc[lr & (runs.act == "leaky_relu_0.3"), "status"] = "diverged"
    runs.loc[lr & (runs.act == "relu") & (runs.seed == 0), "status"] = "diverged"
    runs.loc[runs.status == "diverged", "final_test_acc"] = None
    runs.to_csv(copy / "runs.csv", index=False)
    cell = report.study_findings(copy)["lethal"][0]
    assert cell["label"] == "lr 0.1"
    # ReLU's peak dead ratios were 0.55, 0.60, 0.65; the diverged seed 0 counts as 1.0
    assert cell["relu_peak_dead"] == pytest.approx((1.0 + 0.60 + 0.65) / 3)
    leaky3 = next(a for a in cell["acts"] if a["name"] == "Leaky 0.3")
    assert leaky3["acc"] == pytest.approx(0.1) and (leaky3["diverged"], leaky3["runs"]) == (3, 3)
    assert cell["acts"][0]["diverged"] == 1  # ReLU's
    text = report.advice(0.5, [{"kind": "relu", "dead": 1, "units": 2}], report.study_findings(copy))
    line = next(x for x in text.splitlines() if x.startswith("- lr 0.1:"))
    assert "Leaky 0.3 in 3 of 3 runs" in line and "ReLU in 1 of 3 runs" in line
    assert "Switch to" not in text and "no cure where it diverged" in text


def cell(**over):
    """A lethal cell as study_findings gives it, with round numbers to compute the text by hand."""
    acts = [{"act": "relu", "name": "ReLU", "slope": 0.0, "acc": 0.15, "runs": 5, "diverged": 0},
            {"act": "leaky_relu_0.01", "name": "Leaky 0.01", "slope": 0.01, "acc": 0.25, "runs": 5, "diverged": 1},
            {"act": "leaky_relu_0.3", "name": "Leaky 0.3", "slope": 0.3, "acc": 0.1, "runs": 5, "diverged": 5},
            {"act": "prelu", "name": "PReLU", "slope": 0.25, "acc": 0.1, "runs": 5, "diverged": 5}]
    c = {"label": "lr 0.1", "relu_peak_dead": 0.5, "relu_acc": 0.15, "acts": acts, "best": acts[1],
         "milder": {"label": "lr 0.05", "runs": 25, "relu_acc": 0.3}}
    return {**c, **over}


def test_a_lethal_cell_in_words_names_the_best_the_diverged_and_what_worked():
    assert report.lethal_cell_text(cell()) == (
        "lr 0.1: ReLU 15.0% test accuracy (50.0% dead at its peak); best Leaky 0.01, 25.0% (1 of 5 runs "
        "diverged); diverged: Leaky 0.3 in 5 of 5 runs and PReLU in 5 of 5 runs. What worked there: a smaller "
        "slope (Leaky 0.01, not Leaky 0.3 or PReLU) or a milder setting (at lr 0.05 none of 25 runs diverged "
        "and ReLU reached 30.0%).")
    # no milder level without a divergence: only the smaller slope
    assert report.lethal_cell_text(cell(milder=None)).endswith("What worked there: a smaller slope "
                                                                "(Leaky 0.01, not Leaky 0.3 or PReLU).")
    calm = [{**a, "diverged": 0, "acc": acc} for a, acc in zip(cell()["acts"], (0.15, 0.14, 0.4, 0.35))]
    assert report.lethal_cell_text(cell(acts=calm, best=calm[2], milder=None)) == (
        "lr 0.1: ReLU 15.0% test accuracy (50.0% dead at its peak); best Leaky 0.3, 40.0%; no run diverged, "
        "and Leaky 0.3 and PReLU beat ReLU.")


def test_advice_quotes_the_findings(fake_results):
    f = report.study_findings(fake_results)
    relu_rows = [{"kind": "relu", "dead": 1, "units": 2}]
    none = report.advice(0.0, [{"kind": "relu", "dead": 0, "units": 2}], f)
    some = report.advice(0.05, relu_rows, f)
    many = report.advice(0.5, relu_rows, f)
    assert none.startswith("No unit is dead") and report.pct(f["reference"]["max_abs_acc_diff"]) in none
    assert "below the 30%" in some and report.pct(f["relu_acc_not_lethal"]) + "%" in some
    for text in (some, many):  # one line per lethal cell, as lethal_cell_text writes it
        assert text.splitlines()[1:] == ["- " + report.lethal_cell_text(c) for c in f["lethal"]]
    assert "Switch to" not in many and "PReLU in 1 of 3 runs" in many
    leaky = report.advice(0.5, [{"kind": "leaky_relu", "dead": 1, "units": 2}], f)
    assert "can come back" in leaky and "Look at what killed them" in leaky
    # the numbers come from the findings, not from the text
    other = {**f, "deadliest": {**f["deadliest"], "relu_peak_dead": 0.4321}}
    assert "43.2%" in report.advice(0.05, relu_rows, other)


def _macros(tex: str) -> dict[str, str]:
    return dict(re.findall(r"\\newcommand\{\\(\w+)\}\{(.*)\}", tex))


def _diverged_counts(table_rates: str) -> dict[tuple[str, str], str]:
    """(regime, activation) -> 'k/n' from the paper's table of rates."""
    out, regime = {}, None
    for line in table_rates.splitlines():
        parts = [p.strip() for p in line.rstrip("\\ ").split("&")]
        if len(parts) == 7 and "/" in parts[2]:
            regime = parts[0].replace("$-$", "-") or regime
            out[(regime, parts[1])] = parts[2]
    return out


@pytest.mark.skipif(not (files.RESULTS / "cpu" / "runs.csv").is_file(), reason="no committed results/cpu/")
def test_the_advice_agrees_with_the_paper_number_for_number():
    """The committed study: every number the advice cites for a lethal cell is the paper's
    (paper/generated/numbers.tex and table_rates.tex, made from the same results/cpu/)."""
    f = report.study_findings(files.RESULTS / "cpu")
    gen = files.ROOT / "paper" / "generated"
    m, rates = _macros((gen / "numbers.tex").read_text()), _diverged_counts((gen / "table_rates.tex").read_text())
    assert ", ".join(c["label"] for c in f["lethal"]) == m["LethalCells"].replace("$-$", "-")  # the paper's minus
    assert (report.pct(f["revival_relu"]), report.pct(f["revival_leaky"])) == (m["RevivalRelu"], m["RevivalLeaky"])
    for c in f["lethal"]:
        suffix = latex.macro_name(c["knob"])  # numbers.tex has each knob's last level; so are the lethal cells
        assert report.pct(c["relu_acc"]) == m["ReluAcc" + suffix]
        assert report.pct(c["relu_peak_dead"]) == m["ReluPeakDead" + suffix]
        assert (report.pct(c["best"]["acc"]), c["best"]["name"]) == (m["BestAcc" + suffix], m["BestAct" + suffix])
        for a in c["acts"][1:]:
            assert f"{a['diverged']}/{a['runs']}" == rates[(c["label"], a["name"])]


def test_advice_without_results_says_so(tmp_path):
    findings, reason = report.findings_or_reason(tmp_path / "absent")
    assert findings is None
    text = report.advice(0.25, [{"kind": "relu", "dead": 1, "units": 4}], findings, reason)
    assert text.startswith("25.0% of the units are dead") and "absent" in text and "make results" in text

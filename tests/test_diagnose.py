"""The dead-unit check for any model (rectifiers.diagnose and its modules): exact figures on models whose dead
units are known, one row per call of a module, agreement with the training monitor, the
command line's outputs and its one-line refusals, and the advice drawn from the results."""
from __future__ import annotations

import contextlib
import json
import logging
import re
import subprocess
import sys

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from conftest import read_jsonl
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
    rows = diagnose.measure(model, probe, tau=0.1, chunk=32, batchnorm="keep")  # as the monitor measures
    keys = ("name", "units", "dead", "dead_ratio", "sparsity", "dormant_ratio")
    assert [{k: r[k] for k in keys} for r in rows] == [{k: r[k] for k in keys} for r in monitored]
    if "model.init.bias=-1.0" in overrides:
        assert sum(r["dead"] for r in rows) > 0  # the comparison is not trivially all zeros


# --- the command line ---------------------------------------------------------------------

USER_MODULE = '''
from collections import OrderedDict

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


def dead_conv():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 8, 3, padding=1)
    with torch.no_grad():
        conv.bias.fill_(-100.0)
    return conv


def all_dead():
    return nn.Sequential(dead_conv(), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))


def one_dead_site():
    """stem_relu entirely dead (8 units), head_relu alive (4 units, bias +1 after a dead input)."""
    mix = nn.Conv2d(8, 4, 1)
    with torch.no_grad():
        mix.bias.fill_(1.0)
    return nn.Sequential(OrderedDict(stem=dead_conv(), stem_relu=nn.ReLU(), mix=mix, head_relu=nn.LeakyReLU(0.1),
                                     pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(), fc=nn.Linear(4, 10)))


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
    assert record["model"] == f"{user_module}:half_dead" and record["probe"]["count"] == 32
    assert [set(r) for r in record["layers"]] == [{"name", "kind", "units", "dead", "dead_ratio", "dormant_ratio",
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
    (["--model", "{m}:mlp", "--fail-above", "1.5"], "'1.5' is not a fraction of units between 0 and 1"),
    (["--model", "{m}:mlp", "--fail-above", "half"], "'half' is not a fraction of units between 0 and 1"),
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


# --- issue 35: BatchNorm, --fail-above, CSV, the probe in full, advice, stderr, the figure -----

def test_an_untrained_resnet18_is_measured_with_the_probes_batchnorm_statistics(tmp_path, capsys):
    """Its BatchNorm layers were never updated: in eval mode they normalise with mean 0 and
    variance 1, and a quarter of layer4 looked dead. With the probe's statistics (in a copy)
    nothing is dead, the report says so, and the user's model is untouched."""
    import torchvision  # a pinned dependency
    torch.manual_seed(0)
    model, x = torchvision.models.resnet18(weights=None), images(16, 32)
    assert len(diagnose.never_updated(model)) == 20
    kept = diagnose.measure(model, x, batchnorm="keep")
    assert diagnose.network_dead_ratio(kept) > 0.02  # what the old, eval-mode-only measurement gave
    assert diagnose.network_dead_ratio(diagnose.measure(model, x)) < 0.005
    assert diagnose.never_updated(model) and not model.bn1.running_mean.any()  # the model itself is unchanged
    with torch.no_grad():  # statistics that came with weights (old checkpoints track no batch) are kept
        model.bn1.running_mean.fill_(0.5)
    assert "bn1" not in diagnose.never_updated(model)
    rc = diagnose.main(["--model", "torchvision.models:resnet18", "--input-shape", "3,32,32", "--probe", "16",
                        "--json", str(tmp_path / "r.json"), "--results", str(tmp_path / "none")])
    record, err = json.loads((tmp_path / "r.json").read_text()), capsys.readouterr().err
    assert rc == 0 and record["dead_ratio"] < 0.005
    assert record["probe"]["batchnorm"] == "20 of 20 layers never updated: statistics recomputed on the probe"
    assert len(err.strip().splitlines()) == 1 and err.startswith("diagnose: warning: 20 BatchNorm layers")


def test_fail_above_exits_1_when_the_network_or_a_call_site_is_too_dead(user_module, tmp_path, capsys):
    common = ["--probe", "8", "--results", str(tmp_path / "none"), "--json", str(tmp_path / "r.json")]
    assert diagnose.main(["--model", f"{user_module}:all_dead", *common]) == 0
    capsys.readouterr()
    assert diagnose.main(["--model", f"{user_module}:all_dead", "--fail-above", "0.5", *common]) == 1
    err = capsys.readouterr().err
    assert err == "diagnose: dead ratio above --fail-above 0.5: the network (100.0%), 1 (100.0%)\n"
    assert json.loads((tmp_path / "r.json").read_text())["dead_ratio"] == 1.0  # the outputs are still written
    # half_dead: 5 of 12 units dead (41.7%), but its first call site is 50% dead
    assert diagnose.main(["--model", f"{user_module}:half_dead", "--fail-above", "0.45", *common]) == 1
    assert capsys.readouterr().err.endswith("above --fail-above 0.45: 1 (50.0%)\n")
    assert diagnose.main(["--model", f"{user_module}:half_dead", "--fail-above", "0.5", *common]) == 0


def test_csv_rows_and_the_probe_in_full(user_module, tmp_path):
    out = tmp_path / "out"
    assert diagnose.main(["--model", f"{user_module}:half_dead", "--probe", "32", "--csv", str(out / "r.csv"),
                          "--json", str(out / "r.json"), "--results", str(tmp_path / "none")]) == 0
    record, table = json.loads((out / "r.json").read_text()), pd.read_csv(out / "r.csv")
    assert list(table.columns) == ["index", "name", "kind", "units", "dead", "dead_ratio", "dormant_ratio",
                                   "sparsity"]
    assert table[["index", "name", "kind", "units", "dead", "dead_ratio"]].values.tolist() == [
        [0, 1, "relu", 8, 4, 0.5], [1, 3, "leaky_relu", 4, 1, 0.25]]
    assert table.sparsity.tolist() == pytest.approx([r["sparsity"] for r in record["layers"]])
    assert record["probe"] == {"source": "synthetic", "data": "synthetic stand-in for CIFAR-10 (made in memory)",
                               "count": 32, "input_shape": [3, 32, 32], "seed": 0, "tau": 0.1,
                               "dead": "pre-activation <= 0 for every probe image and position",
                               "batchnorm": "none"}


def test_the_advice_names_this_models_dead_call_site_first(user_module, fake_results, tmp_path):
    assert diagnose.main(["--model", f"{user_module}:one_dead_site", "--probe", "8", "--json",
                          str(tmp_path / "r.json"), "--results", str(fake_results)]) == 0
    text = json.loads((tmp_path / "r.json").read_text())["advice"]
    assert text.startswith("66.7% of the units are dead on this probe; entirely dead: stem_relu (1 of 2 call "
                           "sites). That is at least the 30%")
    assert "head_relu" not in text
    rows = [{"name": n, "kind": "relu", "dead": d, "units": 10} for n, d in (("a", 1), ("b", 3), ("c", 0), ("d", 3))]
    assert report.worst_sites(rows, n=2) == "; the most at b (30.0%) and d (30.0%)"


def test_no_study_warning_reaches_stderr(user_module, fake_results, tmp_path, capsys, caplog):
    """A study with cells not yet run warns its own scripts; a diagnosis says it in the advice."""
    results_dir = copy_results(fake_results, tmp_path / "results")
    study = json.loads((results_dir / "study.json").read_text())
    (results_dir / "study.json").write_text(json.dumps({**study, "missing": [{"cell": "lr=0.1"}] * 3}))
    with caplog.at_level(logging.WARNING, logger="rectifiers"):
        assert diagnose.main(["--model", f"{user_module}:half_dead", "--probe", "8", "--results",
                              str(results_dir)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and not caplog.records
    assert f"3 of its {study['cells']} cells have no finished run yet" in " ".join(out.split())


def covers(a, b, px: float = 2) -> bool:
    """Two extents overlap by more than px pixels each way."""
    return min(a.x1, b.x1) - max(a.x0, b.x0) > px and min(a.y1, b.y1) - max(a.y0, b.y0) > px


@pytest.mark.parametrize("names", [["1", "3"], ["backbone.encoder.stages.3.blocks.11.mlp.activation#1", "head"]])
def test_the_figure_keeps_legend_and_labels_off_the_bars_and_inside(tmp_path, monkeypatch, names):
    """A 100%-dead first call site: the legend once covered its bar and showed grey swatches
    that no bar has, the lethal line's label sat on the bars, and a long call-site name ran off
    a small model's figure."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba
    from matplotlib.text import Text
    figs, close = [], plt.close
    monkeypatch.setattr(plt, "close", figs.append)  # keep the figure to look at it
    rows = [{"name": names[0], "kind": "relu", "units": 8, "dead": 8, "dead_ratio": 1.0, "dormant_ratio": 1.0,
             "sparsity": 1.0},
            {"name": names[1], "kind": "leaky_relu", "units": 4, "dead": 0, "dead_ratio": 0.0, "dormant_ratio": 0.25,
             "sparsity": 0.4}]
    report.figure(rows, "diag_user_models:half_dead", tmp_path / "f.png", 0.3)
    (fig,), (ax,) = figs, figs[0].axes
    texts, draw = [], Text.draw

    def recording(self, renderer):  # the texts drawn, where they are drawn
        draw(self, renderer)
        if self.get_visible() and self.get_text().strip():
            texts.append((self.get_text(), self.get_window_extent(renderer)))
    monkeypatch.setattr(Text, "draw", recording)
    fig.canvas.draw()
    renderer, page = fig.canvas.get_renderer(), fig.bbox
    panel = ax.get_window_extent(renderer)
    assert not [t for t, b in texts if covers(b, panel)]  # no legend, no label on the bars
    assert not [t for t, b in texts if b.x0 < page.x0 - 1 or b.y0 < page.y0 - 1 or b.x1 > page.x1 + 1
                or b.y1 > page.y1 + 1]  # none cut off
    legends = [*fig.legends, *([ax.get_legend()] if ax.get_legend() else [])]
    assert legends and not any(covers(leg.get_window_extent(renderer), panel) for leg in legends)
    bars = {tuple(round(c, 3) for c in to_rgba(p.get_facecolor())) for p in ax.patches}
    swatches = {tuple(round(c, 3) for c in to_rgba(h.get_facecolor())) for leg in legends
                for h in leg.legend_handles if hasattr(h, "get_facecolor")}
    assert swatches == bars  # a swatch for each bar style, none that no bar has
    close(fig)


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
    assert record["probe"]["count"] == cfg.monitor.probe_size and 0 < record["dead_ratio"] < 1
    assert "initial weights (seed 3" in record["weights"] and "runtime.keep_weights=true" in record["weights"]
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


def test_kept_final_weights_are_what_diagnose_run_measures(tiny_cfg, tmp_path):
    """runtime.keep_weights: the final weights stay in the run folder as weights.pt, never in the
    record, and --run measures them (as the run's monitor did after its last epoch) and says so."""
    from rectifiers.experiment import records
    from rectifiers.experiment.config import run_dir
    from rectifiers.training.train import train
    cfg = tiny_cfg("runtime.keep_weights=true", f"runtime.record_dir={tmp_path / 'records'}", "model.init.bias=-0.5")
    out = run_dir(cfg)
    assert train(cfg)["status"] == "ok"
    assert (out / "weights.pt").is_file() and not (out / "checkpoint.pt").exists()
    assert sorted(p.name for p in (tmp_path / "records" / out.name).iterdir()) == sorted(records.RECORD_FILES)
    assert diagnose.main(["--run", str(out), "--json", str(tmp_path / "r.json"), "--results", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["weights"] == f"the run's final weights ({out / 'weights.pt'})"
    layers = read_jsonl(out / "layers.jsonl")
    first, last = ([r for r in layers if r["epoch"] == e] for e in (0, cfg.optim.epochs))
    assert [r["dead"] for r in record["layers"]] == [r["dead"] for r in last]
    assert [r["sparsity"] for r in record["layers"]] == pytest.approx([r["sparsity"] for r in last])
    assert [r["sparsity"] for r in record["layers"]] != pytest.approx([r["sparsity"] for r in first])  # trained


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
    text = report.advice(0.5, [{"name": "conv1", "kind": "relu", "dead": 1, "units": 2}], report.study_findings(copy))
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
    relu_rows = [{"name": "conv1", "kind": "relu", "dead": 1, "units": 2}]
    none = report.advice(0.0, [{"kind": "relu", "dead": 0, "units": 2}], f)
    some = report.advice(0.05, relu_rows, f)
    many = report.advice(0.5, relu_rows, f)
    assert none.startswith("No unit is dead") and report.pct(f["reference"]["max_abs_acc_diff"]) in none
    assert "below the 30%" in some and report.pct(f["relu_acc_not_lethal"]) + "%" in some
    for text in (some, many):  # one line per lethal cell, as lethal_cell_text writes it
        assert text.splitlines()[1:] == ["- " + report.lethal_cell_text(c) for c in f["lethal"]]
    assert "Switch to" not in many and "PReLU in 1 of 3 runs" in many
    leaky = report.advice(0.5, [{"name": "conv1", "kind": "leaky_relu", "dead": 1, "units": 2}], f)
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
    text = report.advice(0.25, [{"name": "conv1", "kind": "relu", "dead": 1, "units": 4}], findings, reason)
    assert text.startswith("25.0% of the units are dead") and "absent" in text and "make results" in text

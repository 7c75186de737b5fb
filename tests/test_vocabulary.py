"""One table per vocabulary: the activation table (rectifiers.activations) agrees with the
configs in conf/activation/, the knob table (rectifiers.knobs) with the study configs, and
adding an activation is one table entry plus its constructor: ELU, added that way here,
builds, is monitored, has its label, colour and order, and passes through the results
loader, a table and a figure."""
from __future__ import annotations

import contextlib

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch
from matplotlib.colors import to_rgba
from omegaconf import OmegaConf

from conftest import CONF, load_script
from fake_results import write_fake_results
from rectifiers import activations, knobs
from rectifiers.activations import Activation, Constructor
from rectifiers.analysis import results
from rectifiers.render import style
from rectifiers.training import models
from rectifiers.training.monitor import Monitor

CONFIGS = sorted(p.stem for p in (CONF / "activation").glob("*.yaml"))



# --- the activation table and conf/activation/ --------------------------------------------

@pytest.mark.parametrize("config", CONFIGS)
def test_every_activation_config_is_its_table_entry(compose, config):
    cfg = compose([f"activation={config}"]).activation
    entry = activations.by_label()[activations.label(cfg)]
    assert entry.config == config and entry.name == cfg.name
    assert entry.slope == activations.slope_at_init(cfg)


def test_every_table_entry_has_its_config_and_a_look_of_its_own():
    table = activations.ACTIVATIONS
    assert sorted(a.config for a in table) == CONFIGS
    for field in ("label", "display", "colour", "marker"):
        assert len({getattr(a, field) for a in table}) == len(table), field
    assert table[0].label == activations.REFERENCE


def test_a_setting_the_table_does_not_list_keeps_its_name_and_slope():
    cfg = {"name": "leaky_relu", "negative_slope": 0.05}
    assert activations.label(cfg) == "leaky_relu_0.05"
    assert activations.display("leaky_relu_0.05") == "leaky_relu_0.05"
    assert activations.ordered(["leaky_relu_0.05", "prelu", "relu"]) == ["relu", "prelu", "leaky_relu_0.05"]
    assert not activations.is_leaky("leaky_relu_0.05")  # not an activation of the study until it has an entry


# --- the knob table and conf/study/ --------------------------------------------------------

@pytest.mark.parametrize("column", list(knobs.KNOBS))
def test_each_knob_is_the_one_its_study_sweeps(compose, column):
    cfg = compose([f"+study={column}"])
    assert cfg.study.knob == knobs.KNOBS[column].key
    assert OmegaConf.select(cfg, cfg.study.knob) is not None


def test_knob_names_for_figures_and_tables():
    assert knobs.axis_label("lr", "plain") == "learning rate"
    assert knobs.axis_label("depth", "plain") == "depth (plain CNN)"
    assert knobs.axis_label("depth", "resnet") == "depth (ResNet)"
    assert knobs.levels_label("init_bias", "plain") == "Initial biases"
    assert knobs.levels_label("depth", "resnet") == "ResNet depths"


# --- a sixth activation: one entry plus its constructor ------------------------------------

ELU = Activation("elu", "elu", "elu", "ELU", "#999999", "X")


@pytest.fixture
def with_elu(monkeypatch):
    """The table with ELU added, as a user would: its constructor and one entry."""
    monkeypatch.setitem(activations.CONSTRUCTORS, "elu",
                        Constructor("ELU", lambda cfg, channels: {"alpha": cfg.alpha}, lambda cfg: 0.0))
    monkeypatch.setattr(activations, "ACTIVATIONS", activations.ACTIVATIONS + (ELU,))
    return OmegaConf.create({"name": "elu", "alpha": 1.0})


def test_a_model_with_the_new_activation_builds_and_is_monitored(compose, with_elu):
    cfg = compose(["model.width=4", "model.depth=5"])
    torch.manual_seed(0)
    model = models.build_model(cfg.model, with_elu)
    assert torch.isfinite(model(torch.randn(2, 3, 32, 32))).all()
    elus = [m for m in model.modules() if isinstance(m, torch.nn.ELU)]
    assert len(elus) == 4 and all(activations.is_activation(m) for m in elus)
    _, layers = Monitor(model, torch.randn(8, 3, 32, 32)).measure(0, contextlib.nullcontext)
    assert len(layers) == 4


def test_the_new_activation_has_its_label_colour_and_place(with_elu):
    assert activations.label(with_elu) == "elu"
    assert activations.display("elu") == "ELU"
    assert style.colour("elu") == "#999999" and style.marker("elu") == "X"
    assert activations.ordered(["elu", "prelu", "relu"]) == ["relu", "prelu", "elu"]


def test_the_new_activation_goes_through_the_loader_a_table_and_a_figure(tmp_path, with_elu):
    fake = write_fake_results(tmp_path / "results")
    runs = pd.read_csv(fake / "runs.csv")
    elu = runs[runs.act == "relu"].assign(act="elu", activation="elu", run_id=lambda d: d.run_id + "-elu")
    pd.concat([runs, elu]).to_csv(fake / "runs.csv", index=False)
    res = results.load(fake)
    assert "elu" in set(res.runs.act)
    table = tmp_path / "table_main.tex"
    assert load_script("table_main").main(["--results", str(fake), "--out", str(table)]) == 0
    assert " & ELU" in table.read_text()
    fig = load_script("fig_stress_accuracy").main(["--results", str(fake), "--out", str(tmp_path / "figures")])
    lines = [line for ax in fig.axes for line in ax.get_lines() if line.get_label() == "ELU"]
    assert len(lines) == 4 and all(to_rgba(line.get_color()) == to_rgba("#999999") for line in lines)
    plt.close(fig)

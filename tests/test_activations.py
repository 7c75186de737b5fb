"""The activation factory: values, gradients, PReLU parameters and optimiser groups. The
activation table itself is tests/test_vocabulary.py."""
from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from rectifiers import activations
from rectifiers.activations import make_activation, param_groups
from rectifiers.training import models

X = torch.tensor([-3.0, -1.0, -0.25, 0.25, 1.0, 3.0])


def value_and_grad(act: nn.Module, x: torch.Tensor = X):
    x = x.clone().requires_grad_(True)
    y = act(x)
    y.sum().backward()
    return y.detach(), x.grad


def test_relu_value_and_gradient(compose):
    act = make_activation(compose(["activation=relu"]).activation, 6)
    assert isinstance(act, nn.ReLU)
    y, g = value_and_grad(act)
    assert torch.equal(y, torch.clamp(X, min=0))
    assert torch.equal(g[X < 0], torch.zeros(3))
    assert torch.equal(g[X > 0], torch.ones(3))


@pytest.mark.parametrize("option, slope", [("leaky_relu", 0.01), ("leaky_relu_0.1", 0.1),
                                           ("leaky_relu_0.2", 0.2), ("leaky_relu_0.3", 0.3)])
def test_leaky_relu_value_and_gradient(compose, option, slope):
    act = make_activation(compose([f"activation={option}"]).activation, 6)
    assert isinstance(act, nn.LeakyReLU) and act.negative_slope == pytest.approx(slope)
    y, g = value_and_grad(act)
    a = torch.tensor(slope)  # float32, as the module computes
    assert torch.equal(y[X > 0], X[X > 0])
    assert torch.allclose(y[X < 0], a * X[X < 0])
    assert torch.equal(g[X < 0], torch.full((3,), a.item()))  # exactly the slope
    assert torch.equal(g[X > 0], torch.ones(3))


def test_leaky_relu_slope_override(compose):
    cfg = compose(["activation=leaky_relu", "activation.negative_slope=0.2"])
    _, g = value_and_grad(make_activation(cfg.activation, 6))
    assert torch.equal(g[X < 0], torch.full((3,), torch.tensor(0.2).item()))


@pytest.mark.parametrize("option, n_params", [("prelu", 5), ("prelu_shared", 1)])
def test_prelu_parameters(compose, option, n_params):
    cfg = compose([f"activation={option}"])
    act = make_activation(cfg.activation, 5)
    assert isinstance(act, nn.PReLU)
    assert act.weight.shape == (n_params,)
    assert torch.equal(act.weight.detach(), torch.full((n_params,), 0.25))
    # y = x for x > 0, 0.25 x for x < 0, per channel of an (N, C, H, W) input
    x = torch.randn(2, 5, 3, 3)
    assert torch.allclose(act(x), torch.where(x > 0, x, 0.25 * x))
    # the gradient w.r.t. x is the slope on the negative side
    x.requires_grad_(True)
    act(x).sum().backward()
    assert torch.allclose(x.grad[x < 0], torch.full_like(x.grad[x < 0], 0.25))


def test_prelu_init_override(compose):
    act = make_activation(compose(["activation=prelu", "activation.init=0.1"]).activation, 3)
    assert torch.allclose(act.weight.detach(), torch.full((3,), 0.1))


def test_slope_at_init(compose):
    assert activations.slope_at_init(compose(["activation=relu"]).activation) == 0.0
    assert activations.slope_at_init(compose(["activation=leaky_relu_0.3"]).activation) == 0.3
    assert activations.slope_at_init(compose(["activation=prelu"]).activation) == 0.25


def _plain_model(compose, *extra):
    cfg = compose(["model.width=4", "model.depth=4", *extra])
    return cfg, models.build_model(cfg.model, cfg.activation)


@pytest.mark.parametrize("option", ["prelu", "prelu_shared"])
def test_param_groups_put_prelu_slopes_in_own_group(compose, option):
    cfg, model = _plain_model(compose, f"activation={option}")
    assert cfg.activation.weight_decay == 0.0  # the documented default
    groups = param_groups(model, cfg.optim.weight_decay, cfg.activation.weight_decay)
    assert len(groups) == 2
    rest, slopes = groups
    prelu_weights = {id(m.weight) for m in model.modules() if isinstance(m, nn.PReLU)}
    assert {id(p) for p in slopes["params"]} == prelu_weights
    assert slopes["weight_decay"] == 0.0
    assert rest["weight_decay"] == cfg.optim.weight_decay == 5.0e-4
    assert not prelu_weights & {id(p) for p in rest["params"]}
    # every parameter is in exactly one group
    all_ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(all_ids) == sorted(id(p) for p in model.parameters())

    opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    zero_wd = [g for g in opt.param_groups if g["weight_decay"] == 0.0]
    assert len(zero_wd) == 1
    assert {id(p) for p in zero_wd[0]["params"]} == prelu_weights


def test_param_groups_slope_weight_decay_from_config(compose):
    cfg, model = _plain_model(compose, "activation=prelu", "activation.weight_decay=0.001")
    groups = param_groups(model, cfg.optim.weight_decay, cfg.activation.weight_decay)
    assert groups[1]["weight_decay"] == 0.001


@pytest.mark.parametrize("option", ["relu", "leaky_relu"])
def test_param_groups_without_prelu_is_one_group(compose, option):
    cfg, model = _plain_model(compose, f"activation={option}")
    groups = param_groups(model, cfg.optim.weight_decay, 0.0)
    assert len(groups) == 1
    assert groups[0]["weight_decay"] == cfg.optim.weight_decay
    assert len(groups[0]["params"]) == len(list(model.parameters()))


def test_training_optimiser_gets_zero_wd_slope_group(tiny_cfg, monkeypatch):
    """The optimiser train() builds has the PReLU slopes in a weight-decay-0 group."""
    import rectifiers.training.train as train_mod
    built = []
    real_sgd = torch.optim.SGD

    def spy(params, **kw):
        opt = real_sgd(params, **kw)
        built.append(opt)
        return opt
    monkeypatch.setattr(train_mod.torch.optim, "SGD", spy)
    train_mod.train(tiny_cfg("activation=prelu", "data.synthetic_train=100", "monitor.enabled=false"))
    (opt,) = built
    wds = sorted(g["weight_decay"] for g in opt.param_groups)
    assert wds == [0.0, 5.0e-4]
    slope_group = next(g for g in opt.param_groups if g["weight_decay"] == 0.0)
    assert all(p.ndim == 1 for p in slope_group["params"])


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError) as e:
        make_activation(OmegaConf.create({"name": "swish"}), 4)
    msg = str(e.value)
    assert "swish" in msg
    for name in activations.CONSTRUCTORS:
        assert name in msg


@pytest.mark.parametrize("cfg, words", [
    ({"name": "leaky_relu", "negative_slope": 1.5}, "negative_slope"),
    ({"name": "leaky_relu", "negative_slope": -0.1}, "negative_slope"),
    ({"name": "prelu", "mode": "layer", "init": 0.25}, "channel"),
])
def test_bad_activation_settings_are_rejected(cfg, words):
    with pytest.raises(ValueError, match=words):
        activations.check(OmegaConf.create(cfg))

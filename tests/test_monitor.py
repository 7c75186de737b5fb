"""The dead-unit monitor: pure metrics on known tensors, the Monitor's hooks, and a real run."""
from __future__ import annotations

import contextlib

import pytest
import torch
from torch import nn

from conftest import read_jsonl
from rectifiers.activations import is_activation
from rectifiers.experiment.config import run_dir
from rectifiers.training import models
from rectifiers.training.monitor import LayerStats, Monitor, dormant_scores, feeding_weights, revival
from rectifiers.training.train import train

NOCAST = contextlib.nullcontext


def conv_with_dead_channel3(c_out=5):
    """A conv whose channel 3 is negative everywhere (zero weights, bias -1); the other
    channels have positive bias and small weights, so they are positive somewhere."""
    torch.manual_seed(0)
    conv = nn.Conv2d(3, c_out, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(0.1)
        conv.bias.fill_(1.0)
        conv.weight[3] = 0.0
        conv.bias[3] = -1.0
    return conv


def probe_images(n=10, seed=0):
    return torch.randn(n, 3, 8, 8, generator=torch.Generator().manual_seed(seed))


def all_hooks(model):
    return [h for m in model.modules()
            for h in (m._forward_hooks, m._forward_pre_hooks, m._backward_hooks)
            if len(h)]


# --- the metrics on known tensors (LayerStats, their one definition) ------------------------

def dead(pre):
    return LayerStats.of(pre, torch.relu(pre)).metrics(0.1)["dead_mask"].tolist()


def sparsity(pre):
    return LayerStats.of(pre, torch.relu(pre)).metrics(0.1)["sparsity"]


def dormant_ratio(post, tau):
    return LayerStats.of(post, post).metrics(tau)["dormant_ratio"]


def test_dead_units_finds_the_dead_channel():
    conv = conv_with_dead_channel3()
    with torch.no_grad():
        pre = conv(probe_images())
    assert dead(pre) == [False, False, False, True, False]


def test_unit_positive_at_one_position_is_alive():
    pre = -torch.ones(4, 2, 5, 5)
    pre[2, 1, 3, 4] = 0.5
    assert dead(pre) == [True, False]
    pre[2, 1, 3, 4] = 0.0  # exactly zero everywhere-else-negative: dead (<= 0)
    assert dead(pre) == [True, True]
    # linear layers: (N, C)
    assert dead(torch.tensor([[-1.0, 2.0], [-3.0, -1.0]])) == [True, False]


def test_sparsity_counts_nonpositive_entries():
    pre = torch.tensor([[-1.0, 0.0, 2.0], [3.0, -2.0, 1.0]])
    assert sparsity(pre) == pytest.approx(3 / 6)
    pre4 = torch.tensor([-1.0, 0.0, 0.5, 2.0, -0.1, 3.0, 4.0, 5.0]).reshape(2, 2, 2, 1)
    assert sparsity(pre4) == pytest.approx(3 / 8)


def test_dormant_scores_by_hand():
    # unit 0: |h| = 1, 1 -> mean 1; unit 1: |h| = 2, 4 -> mean 3; layer mean 2
    post = torch.tensor([[1.0, 2.0], [-1.0, 4.0]])
    assert torch.allclose(dormant_scores(torch.tensor([1.0, 3.0])), torch.tensor([0.5, 1.5]))
    assert dormant_ratio(post, 0.6) == pytest.approx(0.5)
    assert dormant_ratio(post, 0.4) == 0.0
    assert dormant_ratio(post, 0.5) == pytest.approx(0.5)  # s <= tau counts
    assert dormant_ratio(post, 1.49) == pytest.approx(0.5) and dormant_ratio(post, 1.5) == 1.0  # unit 1: 1.5
    assert dormant_ratio(post, 2.0) == 1.0
    # conv-shaped: per-unit mean over images and positions (scores 0.5 and 1.5 again)
    post4 = torch.zeros(2, 2, 2, 2)
    post4[:, 0] = 1.0
    post4[:, 1] = 3.0
    assert [dormant_ratio(post4, tau) for tau in (0.49, 0.5, 1.49, 1.5)] == [0.0, 0.5, 0.5, 1.0]
    # an all-zero layer is entirely dormant (no division by zero)
    assert torch.equal(dormant_scores(torch.zeros(4)), torch.zeros(4))
    assert dormant_ratio(torch.zeros(3, 4), 0.1) == 1.0


def test_revival_by_hand():
    assert revival([torch.tensor([True]), torch.tensor([False])]) == (1, 1)
    assert revival([torch.tensor([True, False, False])]) == (0, 1)
    history = [torch.tensor([True, False, True, False]),
               torch.tensor([False, True, True, False]),
               torch.tensor([False, False, True, False])]
    # unit 0 revived at 2, unit 1 died at 2 and revived at 3, unit 2 always dead
    assert revival(history) == (2, 3)
    assert revival(history[:2]) == (1, 3)


# --- the Monitor on hand-built models ---------------------------------------------------

def test_monitor_reports_the_dead_channel():
    model = nn.Sequential(conv_with_dead_channel3(), nn.ReLU())
    mon = Monitor(model, probe_images(), tau=0.1, chunk=3)  # 10 images in chunks of 3
    network, layers = mon.measure(0, NOCAST)
    (rec,) = layers
    assert rec["dead"] == 1 and rec["units"] == 5 and rec["dead_ratio"] == pytest.approx(0.2)
    assert rec["name"] == "1" and rec["layer"] == 0 and rec["epoch"] == 0
    assert rec["slope_mean"] is None and rec["grad_norm"] is None
    assert network["dead_ratio"] == pytest.approx(0.2)
    assert network["ever_dead"] == 1 and network["revived"] == 0
    # the statistics streamed in chunks equal those of the whole probe set at once
    with torch.no_grad():
        pre = model[0](probe_images())
    assert rec["sparsity"] == pytest.approx(sparsity(pre))
    assert rec["dormant_ratio"] == pytest.approx(dormant_ratio(torch.relu(pre), 0.1))
    assert rec["dormant_ratio"] >= 0.2  # the dead unit is dormant too


def test_monitor_single_positive_position_in_a_later_chunk():
    """The max is streamed over chunks: a value in the last chunk keeps the unit alive."""
    pre = -torch.ones(4, 2, 5, 5)
    pre[3, 1, 3, 4] = 0.5
    mon = Monitor(nn.Sequential(nn.ReLU()), pre, chunk=1)
    _, (rec,) = mon.measure(0, NOCAST)
    assert rec["dead"] == 1 and rec["units"] == 2
    assert rec["sparsity"] == pytest.approx(1 - 1 / 200)


def test_monitor_revival_and_eval_mode():
    conv = conv_with_dead_channel3()
    model = nn.Sequential(conv, nn.ReLU())
    model.train()
    mon = Monitor(model, probe_images())
    net1, _ = mon.measure(0, NOCAST)
    assert model.training  # restored after the probe pass
    with torch.no_grad():
        conv.bias[3] = 1.0  # channel 3 comes back to life
    net2, layers2 = mon.measure(1, NOCAST)
    assert (net1["revived"], net1["ever_dead"]) == (0, 1)
    assert (net2["revived"], net2["ever_dead"]) == (1, 1)
    assert net2["revival_ratio"] == 1.0 and layers2[0]["dead"] == 0
    # the history survives a checkpoint round trip
    mon2 = Monitor(model, probe_images())
    mon2.load_state_dict(mon.state_dict())
    assert [d.tolist() for d in mon2.dead_history] == [d.tolist() for d in mon.dead_history]


def test_monitor_probes_in_eval_mode():
    bn = nn.BatchNorm2d(3)
    model = nn.Sequential(nn.Conv2d(3, 3, 1), bn, nn.ReLU())
    before = bn.running_mean.clone()
    Monitor(model, probe_images() + 5).measure(0, NOCAST)
    assert torch.equal(bn.running_mean, before)  # no BatchNorm statistics were updated


@pytest.mark.parametrize("act, zero_grad", [(nn.ReLU(), True), (nn.LeakyReLU(0.1), False),
                                            (nn.LeakyReLU(0.01), False)])
def test_dead_unit_gets_zero_gradient_only_under_relu(act, zero_grad):
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    with torch.no_grad():
        conv.bias[2] = -100.0  # far below anything the weights can reach
    model = nn.Sequential(conv, act, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    x, y = probe_images(16), torch.arange(16) % 10
    with torch.no_grad():
        assert dead(conv(x)) == [False, False, True, False]
    nn.functional.cross_entropy(model(x), y).backward()
    g = conv.weight.grad
    if zero_grad:
        assert torch.equal(g[2], torch.zeros_like(g[2]))
        assert conv.bias.grad[2] == 0.0
    else:
        assert g[2].abs().sum() > 0
    for c in (0, 1, 3):
        assert g[c].abs().sum() > 0
    # the Monitor's gradient record uses the same feeding weight
    assert feeding_weights(model) == [conv.weight]


def test_prelu_slopes_are_recorded():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(4), nn.Conv2d(4, 2, 1), nn.PReLU(1),
                          nn.Conv2d(2, 2, 1), nn.ReLU())
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([0.1, -0.2, 0.3, 0.6]))
        model[3].weight.fill_(-0.5)
    _, layers = Monitor(model, probe_images()).measure(0, NOCAST)
    assert [r["name"] for r in layers] == ["1", "3", "5"]
    assert layers[0]["slope_mean"] == pytest.approx(0.2)
    assert layers[0]["slope_min"] == pytest.approx(-0.2)
    assert layers[0]["slope_max"] == pytest.approx(0.6)
    assert layers[1]["slope_mean"] == layers[1]["slope_min"] == layers[1]["slope_max"] == pytest.approx(-0.5)
    assert layers[2]["slope_mean"] is None
    assert [r["units"] for r in layers] == [4, 2, 2]


def test_prelu_pre_activation_is_the_input():
    """Dead means the activation's *input* is <= 0, also for PReLU whose output is not 0."""
    model = nn.Sequential(conv_with_dead_channel3(), nn.PReLU(5))
    _, (rec,) = Monitor(model, probe_images()).measure(0, NOCAST)
    assert rec["dead"] == 1


def test_feeding_weights_in_the_study_models(compose):
    for overrides in (["model.width=4", "model.depth=5"], ["model=resnet", "model.depth=8", "model.width=4"]):
        cfg = compose(overrides)
        model = models.build_model(cfg.model, cfg.activation)
        feeders = feeding_weights(model)
        acts = [m for m in model.modules() if is_activation(m)]
        assert len(feeders) == len(acts) and all(w is not None for w in feeders)
        for w in feeders:
            assert w.ndim == 4 and w.shape[2:] == (3, 3)  # the 3x3 conv, never a 1x1 shortcut


def test_grad_norm_is_the_mean_over_steps():
    conv = conv_with_dead_channel3()
    model = nn.Sequential(conv, nn.ReLU())
    mon = Monitor(model, probe_images())
    norms = []
    for s in range(3):
        model.zero_grad()
        (model(probe_images(4, seed=s)) ** 2).sum().backward()
        norms.append(conv.weight.grad.norm().item())
        mon.accumulate_grads()
    _, (rec,) = mon.measure(1, NOCAST)
    assert rec["grad_norm"] == pytest.approx(sum(norms) / 3, rel=1e-5)
    _, (rec,) = mon.measure(2, NOCAST)
    assert rec["grad_norm"] is None  # reset after each measurement


def test_hooks_are_removed_after_measuring():
    model = nn.Sequential(conv_with_dead_channel3(), nn.ReLU(), nn.Conv2d(5, 2, 1), nn.LeakyReLU(0.1))
    assert not all_hooks(model)
    mon = Monitor(model, probe_images(), chunk=4)
    mon.measure(0, NOCAST)
    assert not all_hooks(model)

    class Boom(Exception):
        pass

    def fail():
        raise Boom

    @contextlib.contextmanager
    def failing_autocast():
        yield
        fail()
    with pytest.raises(Boom):
        mon.probe(failing_autocast)
    assert not all_hooks(model)  # removed even when the probe pass fails


# --- a real training run ----------------------------------------------------------------

@pytest.mark.parametrize("activation", ["relu", "prelu"])
def test_training_run_writes_consistent_layer_records(tiny_cfg, activation):
    epochs = 2
    cfg = tiny_cfg(f"activation={activation}", f"optim.epochs={epochs}", "monitor.every=1",
                   "model.init.bias=-2.0")  # many dead units, so the sums are not trivially 0
    summary = train(cfg)
    out = run_dir(cfg)
    metrics, layers = read_jsonl(out / "metrics.jsonl"), read_jsonl(out / "layers.jsonl")
    model = models.build_model(cfg.model, cfg.activation)
    n_act = sum(is_activation(m) for m in model.modules())
    assert len(metrics) == epochs + 1
    assert len(layers) == (epochs + 1) * n_act
    for epoch in range(epochs + 1):
        recs = [r for r in layers if r["epoch"] == epoch]
        assert [r["layer"] for r in recs] == list(range(n_act))
        units = sum(r["units"] for r in recs)
        assert units == summary["units"]
        m = metrics[epoch]
        assert sum(r["dead"] for r in recs) == round(m["dead_ratio"] * units)
        assert m["sparsity"] == pytest.approx(sum(r["sparsity"] * r["units"] for r in recs) / units)
        assert (recs[0]["grad_norm"] is None) == (epoch == 0)
    assert 0 < metrics[0]["dead_ratio"] < 1
    assert summary["dead_ratio_init"] == metrics[0]["dead_ratio"]
    assert summary["dead_ratio_final"] == metrics[-1]["dead_ratio"]
    assert 0 < summary["monitor_seconds"] < summary["wall_time_s"]  # the monitor times itself
    assert summary["units"] == 4 + 8 + 16  # width 4, depth 4: 4, 8 and 16 channels
    if activation == "prelu":
        slopes = summary["prelu_slopes"]
        assert [s["layer"] for s in slopes] == list(range(n_act))
        assert all(s["slope_min"] <= s["slope_mean"] <= s["slope_max"] for s in slopes)
    else:
        assert summary["prelu_slopes"] == []


def test_monitor_every_measures_at_multiples_and_the_end(tiny_cfg):
    cfg = tiny_cfg("optim.epochs=3", "monitor.every=2", "data.synthetic_train=100")
    train(cfg)
    out = run_dir(cfg)
    metrics = read_jsonl(out / "metrics.jsonl")
    measured = [m["epoch"] for m in metrics if "dead_ratio" in m]
    assert measured == [0, 2, 3]
    assert sorted({r["epoch"] for r in read_jsonl(out / "layers.jsonl")}) == [0, 2, 3]


def test_monitor_disabled_writes_no_layer_records(tiny_cfg):
    cfg = tiny_cfg("monitor.enabled=false", "data.synthetic_train=100")
    summary = train(cfg)
    assert read_jsonl(run_dir(cfg) / "layers.jsonl") == []
    assert summary["status"] == "ok" and summary["dead_ratio_final"] is None
    assert summary["monitor_seconds"] is None


def test_training_forward_passes_run_without_hooks(tiny_cfg, monkeypatch):
    """Hooks exist only during the probe pass: none is attached while training."""
    import rectifiers.training.monitor as monitor_mod
    seen = []
    real = monitor_mod.Monitor.accumulate_grads

    def spy(self):  # called after every training step's backward()
        seen.append(len(all_hooks(self.model)) + len(torch.nn.modules.module._global_forward_hooks))
        real(self)
    monkeypatch.setattr(monitor_mod.Monitor, "accumulate_grads", spy)
    measured = []
    real_measure = monitor_mod.Monitor.measure

    def measure_spy(self, epoch, autocast):
        result = real_measure(self, epoch, autocast)
        measured.append(len(all_hooks(self.model)))
        return result
    monkeypatch.setattr(monitor_mod.Monitor, "measure", measure_spy)
    train(tiny_cfg("optim.epochs=2", "data.synthetic_train=100"))
    assert len(seen) == 2 * (100 // 32) and set(seen) == {0}
    assert measured == [0, 0, 0]

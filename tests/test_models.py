"""The two architectures: every model x activation builds, initialisation, and depth checks."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

from conftest import CONF
from rectifiers.activations import is_activation
from rectifiers.experiment.config import MODELS as MODEL_NAMES
from rectifiers.experiment.config import ConfigError, check_config, check_model
from rectifiers.training import models
from rectifiers.training.models import build_model, leaky_kaiming_std

ACTIVATIONS = sorted(p.stem for p in (CONF / "activation").glob("*.yaml"))
MODELS = {
    "plain": ["model=plain", "model.width=4"],
    "plain_bn": ["model=plain", "model.width=4", "model.batchnorm=true"],
    "resnet20": ["model=resnet", "model.depth=20", "model.width=4"],
}


def weight_layers(model):
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("model_name", MODELS)
def test_every_model_and_activation_builds(compose, model_name, activation):
    cfg = compose([*MODELS[model_name], f"activation={activation}"])
    torch.manual_seed(0)
    model = build_model(cfg.model, cfg.activation)
    logits = model(torch.randn(3, 3, 32, 32))
    assert logits.shape == (3, 10)
    assert torch.isfinite(logits).all()
    acts = [m for m in model.modules() if is_activation(m)]
    n_conv = sum(isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) for m in model.modules())
    assert len(acts) == n_conv  # one activation after every 3x3 conv (which module: tests/test_activations.py)
    has_bn = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert has_bn == (model_name != "plain")
    if model_name == "resnet20":
        assert n_conv == 19  # 18 block convs + the stem; plus the linear layer = 20


def test_plain_depth_counts_weight_layers(compose):
    for depth in (4, 5, 8, 11):
        cfg = compose(["model.width=4", f"model.depth={depth}"])
        assert len(weight_layers(build_model(cfg.model, cfg.activation))) == depth


@pytest.mark.parametrize("activation, slope", [
    (["activation=relu"], 0.0),
    (["activation=leaky_relu", "activation.negative_slope=0.3"], 0.3),
    (["activation=prelu"], 0.25),
])
def test_kaiming_init_std_is_leak_aware(compose, activation, slope):
    cfg = compose(["model.width=32", "model.depth=4", *activation])
    torch.manual_seed(0)
    layers = weight_layers(build_model(cfg.model, cfg.activation))
    *convs, classifier = layers
    for m in convs:
        fan_in = m.weight[0].numel()
        want = leaky_kaiming_std(fan_in, slope)
        assert want == pytest.approx(math.sqrt(2 / ((1 + slope ** 2) * fan_in)))
        n = m.weight.numel()
        tol = 4 * want / math.sqrt(2 * n) + 1e-3 * want  # 4 standard errors of a std estimate
        assert abs(m.weight.std().item() - want) < tol, (m, n)
        assert abs(m.weight.mean().item()) < 4 * want / math.sqrt(n)
    # the widest layer (64 -> 128 channels, 73,728 weights) pins the gain down to ~1%
    wide = convs[-1]
    assert wide.weight.numel() > 70_000
    assert wide.weight.std().item() == pytest.approx(leaky_kaiming_std(wide.weight[0].numel(), slope), rel=0.02)
    # the classifier has no rectifier after it: std 1/sqrt(fan_in), zero bias
    fan_in = classifier.weight.shape[1]
    assert classifier.weight.std().item() == pytest.approx(1 / math.sqrt(fan_in), rel=0.15)
    assert torch.equal(classifier.bias, torch.zeros_like(classifier.bias))


def test_relu_and_leaky_init_differ_by_the_gain(compose):
    stds = {}
    for act in ("relu", "leaky_relu_0.3"):
        cfg = compose(["model.width=32", "model.depth=4", f"activation={act}"])
        torch.manual_seed(0)
        stds[act] = weight_layers(build_model(cfg.model, cfg.activation))[2].weight.std().item()
    assert stds["leaky_relu_0.3"] / stds["relu"] == pytest.approx(1 / math.sqrt(1.09), rel=1e-3)


def test_weight_scale_multiplies_std(compose):
    stds = []
    for scale in (1.0, 2.0):
        cfg = compose(["model.width=32", "model.depth=4", f"model.init.weight_scale={scale}"])
        torch.manual_seed(0)
        stds.append(weight_layers(build_model(cfg.model, cfg.activation))[2].weight.std().item())
    assert stds[1] / stds[0] == pytest.approx(2.0, rel=1e-5)


def test_init_bias_shifts_biases_plain(compose):
    cfg = compose(["model.width=4", "model.depth=4", "model.init.bias=-0.5"])
    *convs, classifier = weight_layers(build_model(cfg.model, cfg.activation))
    for m in convs:
        assert torch.equal(m.bias, torch.full_like(m.bias, -0.5))
    assert torch.equal(classifier.bias, torch.zeros_like(classifier.bias))
    cfg = compose(["model.width=4", "model.depth=4"])
    for m in weight_layers(build_model(cfg.model, cfg.activation)):
        assert torch.equal(m.bias, torch.zeros_like(m.bias))


@pytest.mark.parametrize("model_name", ["plain_bn", "resnet20"])
def test_init_bias_shifts_batchnorm_biases(compose, model_name):
    cfg = compose([*MODELS[model_name], "regime=bad_init"])
    assert cfg.model.init.bias == -0.5
    model = build_model(cfg.model, cfg.activation)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns
    for m in bns:
        assert torch.equal(m.bias.detach(), torch.full_like(m.bias, -0.5))
    for m in weight_layers(model)[:-1]:
        assert m.bias is None  # a conv before BatchNorm has no bias of its own


def test_pytorch_init_scheme_differs(compose):
    torch.manual_seed(0)
    cfg = compose(["model.width=32", "model.depth=4", "model.init.scheme=pytorch"])
    pt = weight_layers(build_model(cfg.model, cfg.activation))[2]
    torch.manual_seed(0)
    cfg = compose(["model.width=32", "model.depth=4"])
    km = weight_layers(build_model(cfg.model, cfg.activation))[2]
    fan_in = pt.weight[0].numel()
    assert not torch.equal(pt.weight, km.weight)
    # PyTorch's default: uniform(+-1/sqrt(fan_in)), std 1/sqrt(3 fan_in), vs Kaiming's sqrt(2/fan_in)
    assert pt.weight.abs().max().item() <= 1 / math.sqrt(fan_in) + 1e-7
    assert pt.weight.std().item() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.02)
    assert km.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)


def test_build_is_deterministic_given_torch_seed(compose):
    cfg = compose(["model.width=4", "model.depth=4", "activation=prelu"])
    torch.manual_seed(7)
    a = build_model(cfg.model, cfg.activation).state_dict()
    torch.manual_seed(7)
    b = build_model(cfg.model, cfg.activation).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("overrides, words", [
    (["model=resnet", "model.depth=21"], "6n\\+2"),
    (["model=resnet", "model.depth=2"], "6n\\+2"),
    (["model=plain", "model.depth=2"], "depth >= 4"),
    (["model=plain", "model.depth=3"], "depth >= 4"),
    (["model.width=0"], "model.width"),
    (["model.init.scheme=xavier"], "kaiming or pytorch"),
])
def test_impossible_models_are_rejected(compose, overrides, words):
    cfg = compose(overrides)
    with pytest.raises(ValueError, match=words):
        check_model(cfg.model)
    with pytest.raises(ConfigError, match=words):
        check_config(cfg)
    with pytest.raises(ValueError, match=words):
        build_model(cfg.model, cfg.activation)


def test_unknown_model_lists_valid_names(compose):
    cfg = compose(["model.name=vgg"])
    with pytest.raises(ConfigError) as e:
        check_config(cfg)
    assert "vgg" in str(e.value)
    for name in MODEL_NAMES:
        assert name in str(e.value)


@pytest.mark.parametrize("depth", [8, 20, 56])
def test_valid_resnet_depths_pass_check(compose, depth):
    check_model(compose(["model=resnet", f"model.depth={depth}"]).model)


# --- the AVX2 convolution crash (docs/design.md, Known issues) ------------------------------

CL = torch.channels_last


@pytest.fixture
def capability(monkeypatch):
    """capability(name): pretend torch reports this CPU capability, with no oneDNN cap set."""
    for var in models.ONEDNN_ISA_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    return lambda name: monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: name)


@pytest.mark.parametrize("cpu, cap, expected", [
    ("AVX2", "", True), ("AVX512", "", False), ("DEFAULT", "", False),
    ("AVX512", "AVX2", True), ("AVX512", "avx2_vnni", True), ("AVX512", "AVX512_CORE", False),
])
def test_onednn_avx2_reads_the_cpu_and_the_onednn_cap(capability, monkeypatch, cpu, cap, expected):
    capability(cpu)
    if cap:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert models.onednn_avx2() is expected


@pytest.mark.parametrize("c_in, kernel, stride, device, cpu, expected", [
    (4, 1, 2, "cpu", "AVX2", True),      # the crashing shape: ResNet's first shortcut at width 4
    (2, 1, 2, "cpu", "AVX2", True),      # 2 to 7 input channels crash alike
    (8, 1, 2, "cpu", "AVX2", False),     # width 8 and up do not
    (4, 1, 1, "cpu", "AVX2", False),     # nor an unstrided 1x1 conv
    (4, 3, 2, "cpu", "AVX2", False),     # nor a 3x3 one
    (4, 1, 2, "cpu", "AVX512", False),   # nor AVX512's kernel
    (4, 1, 2, "meta", "AVX2", False),    # nor any device but the CPU
])
def test_the_crashing_conv_is_recognised(capability, c_in, kernel, stride, device, cpu, expected):
    capability(cpu)
    conv = nn.Conv2d(c_in, 8, kernel, stride)
    assert models.hits_avx2_conv_bug(conv, torch.empty(2, c_in, 8, 8, device=device)) is expected


def test_on_avx2_the_shortcut_runs_contiguous_and_computes_the_same(capability, monkeypatch):
    """Faked AVX2: ResNet-8 at width 4 in channels_last runs its 4-channel strided 1x1 shortcut on
    contiguous copies, hands on channels_last, and gives the outputs and gradients of the same
    network in the contiguous format, which no kernel crashes on. Unguarded channels_last is run
    only where the real CPU is not AVX2: there it would crash the process."""
    real = torch.backends.cpu.get_cpu_capability()
    seen, conv2d = [], torch.nn.functional.conv2d

    def spy(x, w, *args, **kwargs):
        seen.append((x.shape[1], w.shape[2:], x.stride() == x.contiguous().stride(), w.stride()))
        return conv2d(x, w, *args, **kwargs)
    monkeypatch.setattr(torch.nn.functional, "conv2d", spy)

    def run(cpu, fmt=CL):
        capability(cpu)
        torch.manual_seed(0)
        net = models.ResNet(8, 4, lambda c: nn.ReLU()).to(memory_format=fmt)
        x = torch.randn(8, 3, 16, 16).contiguous(memory_format=fmt).requires_grad_()
        shortcut = net.blocks[1].shortcut[0]
        out = []
        shortcut.register_forward_hook(lambda m, i, o: out.append(o))
        seen.clear()
        net(x).square().sum().backward()
        return out[0], x.grad, [p.grad for p in net.parameters()], list(seen)

    guarded, reference = run("AVX2"), run("AVX512", torch.contiguous_format)
    call = next(s for s in guarded[3] if s[:2] == (4, (1, 1)))
    assert call[2] and call[3] == (4, 1, 1, 1)  # input and weight with the contiguous format's strides
    if real != "AVX2":  # the spy tells the formats apart: unguarded, the weight keeps channels_last's strides
        assert next(s for s in run("AVX512")[3] if s[:2] == (4, (1, 1)))[3] == (4, 1, 4, 4)
    assert guarded[0].is_contiguous(memory_format=CL)
    torch.testing.assert_close(guarded[0], reference[0])
    torch.testing.assert_close(guarded[1], reference[1])
    for a, b in zip(guarded[2], reference[2]):
        torch.testing.assert_close(a, b)


def test_a_width_4_resnet_trains_on_the_avx2_kernel_that_crashes():
    """The real kernel: ONEDNN_MAX_CPU_ISA=AVX2 makes oneDNN use it on an AVX512 CPU too. Without
    the fallback this process dies with a segfault (return code -11)."""
    script = ("import torch; from torch import nn; from rectifiers.training import models; torch.set_num_threads(1); "
              "net = models.ResNet(8, 4, lambda c: nn.ReLU()).to(memory_format=torch.channels_last); "
              "x = torch.randn(64, 3, 32, 32).contiguous(memory_format=torch.channels_last); "
              "net(x).sum().backward()")
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"return code {out.returncode}: {out.stderr[-2000:]}"

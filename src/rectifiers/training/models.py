"""The two architectures of the study: a plain VGG-style CNN and a CIFAR ResNet.

Both receive the activation as a factory `act(channels) -> nn.Module`, so no model code
depends on which rectifier is used. `build_model(cfg)` wires config to constructor.
"""
from __future__ import annotations

import math
import os
from functools import partial

import torch
from torch import nn

from ..activations import make_activation, slope_at_init
from ..experiment.config import check_model

ONEDNN_ISA_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")  # they cap the kernels oneDNN picks


def onednn_avx2() -> bool:
    """Whether oneDNN may run its AVX2 convolution kernels: the CPU's best is AVX2, or an
    environment variable caps oneDNN at an AVX2 level (AVX2, AVX2_VNNI, ...)."""
    capped = any(os.environ.get(v, "").upper().startswith("AVX2") for v in ONEDNN_ISA_VARIABLES)
    return capped or torch.backends.cpu.get_cpu_capability() == "AVX2"


def hits_avx2_conv_bug(conv: nn.Conv2d, x: torch.Tensor) -> bool:
    """torch 2.14.1's oneDNN AVX2 kernel crashes the process (segfault) in the backward pass of a
    1x1 strided conv with 2 to 7 input channels when the input or the weight has channels_last
    strides (docs/design.md, Known issues). True where that can happen, whatever the memory
    format: a 1x1 weight is "contiguous" in both formats, so its strides cannot be told apart."""
    return (x.device.type == "cpu" and conv.kernel_size == (1, 1) and conv.stride != (1, 1)
            and conv.in_channels < 8 and onednn_avx2())


class ShortcutConv(nn.Conv2d):
    """The 1x1 projection of a ResNet shortcut. Where the conv would crash (hits_avx2_conv_bug)
    it runs on copies in the contiguous memory format (clone re-strides even a tensor that
    already counts as contiguous) and hands its output on in the input's format."""

    def forward(self, x):
        if not hits_avx2_conv_bug(self, x):
            return super().forward(x)
        plain = torch.contiguous_format
        out = self._conv_forward(x.clone(memory_format=plain), self.weight.clone(memory_format=plain), self.bias)
        return out.contiguous(memory_format=torch.channels_last) if x.is_contiguous(
            memory_format=torch.channels_last) else out


class ConvUnit(nn.Sequential):
    """conv -> (BatchNorm) -> activation: one monitored layer of the plain network."""

    def __init__(self, c_in, c_out, act, batchnorm):
        layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batchnorm)]
        if batchnorm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(act(c_out))
        super().__init__(*layers)


class PlainCNN(nn.Sequential):
    """VGG-style CNN without skip connections. `depth` counts weight layers: depth-1 convs
    split over three stages of width w, 2w, 4w (max-pool between stages), then a linear
    classifier on globally pooled features."""

    def __init__(self, depth: int, width: int, act, batchnorm: bool = False, num_classes: int = 10):
        n_conv = depth - 1
        per_stage = [n_conv // 3 + (i < n_conv % 3) for i in range(3)]
        layers, c_in = [], 3
        for stage, n in enumerate(per_stage):
            c_out = width * 2 ** stage
            if stage > 0:
                layers.append(nn.MaxPool2d(2))
            for _ in range(n):
                layers.append(ConvUnit(c_in, c_out, act, batchnorm))
                c_in = c_out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes)]
        super().__init__(*layers)


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride, act):
        super().__init__()
        # The shortcut is registered first so that, in module order, the conv that feeds
        # each activation is the last weight layer before it (the monitor relies on this).
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(ShortcutConv(c_in, c_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(c_out))
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.act1 = act(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.act2 = act(c_out)

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        return self.act2(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR ResNet of He et al. (2016): depth 6n+2, three stages of n basic blocks."""

    def __init__(self, depth: int, width: int, act, num_classes: int = 10):
        super().__init__()
        n = (depth - 2) // 6
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                  act(width))
        blocks, c_in = [], width
        for stage in range(3):
            c_out = width * 2 ** stage
            for i in range(n):
                blocks.append(BasicBlock(c_in, c_out, 2 if stage > 0 and i == 0 else 1, act))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


def leaky_kaiming_std(fan_in: int, slope: float, scale: float = 1.0) -> float:
    """He et al. (2015), eq. 15 with a leak: std = sqrt(2 / ((1 + a^2) fan_in))."""
    return scale * math.sqrt(2.0 / ((1.0 + slope ** 2) * fan_in))


@torch.no_grad()
def initialise(model: nn.Module, init, slope: float) -> None:
    """Apply `model.init`: leak-aware Kaiming (or PyTorch's default) weights scaled by
    `weight_scale`, and a constant `bias` shift on every layer that feeds an activation."""
    weight_layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    classifier = weight_layers[-1]
    for m in weight_layers:
        if init.scheme == "kaiming":
            fan_in = m.weight[0].numel()
            std = leaky_kaiming_std(fan_in, slope, init.weight_scale)
            if m is classifier:  # the logits have no rectifier after them
                std = init.weight_scale / math.sqrt(fan_in)
            m.weight.normal_(0.0, std)
        else:
            m.weight.mul_(init.weight_scale)
        if m.bias is not None and (init.scheme == "kaiming" or init.bias != 0):
            m.bias.fill_(0.0 if m is classifier else init.bias)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.bias.fill_(init.bias)


def build_model(model_cfg, act_cfg) -> nn.Module:
    check_model(model_cfg)
    act = partial(make_activation, act_cfg)
    if model_cfg.name == "plain":
        model = PlainCNN(model_cfg.depth, model_cfg.width, act, model_cfg.batchnorm)
    else:
        model = ResNet(model_cfg.depth, model_cfg.width, act)
    initialise(model, model_cfg.init, slope_at_init(act_cfg))
    return model

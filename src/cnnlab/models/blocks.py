"""Reusable residual blocks. ``expansion`` says how many times ``planes`` the block outputs,
so a network can stack any of them without knowing which it got."""

from __future__ import annotations

import torch
from torch import nn


def shortcut(cin: int, cout: int, stride: int, norm: bool = True) -> nn.Module:
    """Identity when shapes match, else a strided 1x1 projection (ResNet option B)."""
    if stride == 1 and cin == cout:
        return nn.Identity()
    if not norm:
        return nn.Conv2d(cin, cout, 1, stride=stride)
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut; ``residual=False`` drops the shortcut, giving
    the plain two-layer unit that depth studies compare against; ``norm=False`` drops the
    batch norms (the convolutions get biases instead), which is what lets a depth study
    see gradients vanish: batch norm rescales every layer's signal and would hide it."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, residual: bool = True,
                 norm: bool = True):
        super().__init__()
        self.residual = residual
        self.conv1 = nn.Conv2d(cin, planes, 3, stride=stride, padding=1, bias=not norm)
        self.bn1 = nn.BatchNorm2d(planes) if norm else nn.Identity()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=not norm)
        self.bn2 = nn.BatchNorm2d(planes) if norm else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut(cin, planes, stride, norm) if residual else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x) if self.residual else out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (ResNet-50 style): ``expansion`` times ``planes``
    output channels for the parameter cost of a much thinner basic block."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1):
        super().__init__()
        cout = planes * self.expansion
        self.branch = nn.Sequential(
            nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(inplace=True),
            nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(planes), nn.ReLU(inplace=True),
            nn.Conv2d(planes, cout, 1, bias=False), nn.BatchNorm2d(cout),
        )
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut(cin, cout, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.branch(x) + self.shortcut(x))


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}

"""An example of a user's own model file: named in config under `models_from:`, its
builders are models the studies can use beside the built-in ones (docs/models.md).

Each builder takes the dataset's `in_shape` (C, H, W) and `num_classes`, and its own keyword
arguments, which config sets with `args:`.
"""

from torch import nn

import cnnlab


@cnnlab.register_model
def tiny_vgg(in_shape, num_classes, width=16, blocks=2):
    """`blocks` pairs of 3x3 convolutions (ReLU), each pair followed by 2x2 max pooling,
    the width doubling from block to block; global average pooling; a linear classifier."""
    layers, channels = [], in_shape[0]
    for block in range(blocks):
        out = width * 2 ** block
        layers += [nn.Conv2d(channels, out, 3, padding=1), nn.ReLU(inplace=True),
                   nn.Conv2d(out, out, 3, padding=1), nn.ReLU(inplace=True),
                   nn.MaxPool2d(2)]
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)

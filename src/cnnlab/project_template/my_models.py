"""My models. A builder takes the dataset's image shape (C, H, W) and number of classes,
and any keyword arguments config.yaml may set (`args:`); registered with
cnnlab.register_model, it is named in config.yaml by its function's name."""

from torch import nn

import cnnlab


@cnnlab.register_model
def my_cnn(in_shape, num_classes, width=16):
    """Two 3x3 convolutions (ReLU, 2x2 max pooling), global average pooling, a linear layer."""
    return nn.Sequential(
        nn.Conv2d(in_shape[0], width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, num_classes))

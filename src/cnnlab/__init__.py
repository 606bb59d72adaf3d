"""cnnlab: train, measure and compare convolutional networks on image datasets: MNIST,
CIFAR-10, Fashion-MNIST, KMNIST, CIFAR-100 and SVHN by name (``cnnlab.data.catalog``), or a
folder of the user's own images.

Plain importable Python; the Snakemake workflow calls it through thin scripts. A user's
model file registers its builders with ``cnnlab.register_model`` (docs/models.md).
"""

__version__ = "0.1.0"


def __getattr__(name):
    # Loaded on first use, not at `import cnnlab`: the workflow imports cnnlab at every
    # start and must not pay for PyTorch there.
    if name == "register_model":
        from cnnlab.models.registry import register_model

        return register_model
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")

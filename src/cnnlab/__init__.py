"""cnnlab: train, measure and compare convolutional networks on MNIST and CIFAR-10.

Plain importable Python; the Snakemake workflow calls it through thin scripts."""

__version__ = "0.1.0"

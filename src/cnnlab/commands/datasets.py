"""List every dataset a config can name: the built-in ones by name, and the config's image folders.

Each with its image shape, classes and split sizes; a folder is listed and checked as
the workflow checks it at its start (a problem is named). No PyTorch is imported.
"""

from __future__ import annotations

import argparse

from cnnlab.cli import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configfile", nargs="+", default=[], metavar="FILE",
                        help="your config file(s), as given to snakemake (for image folders; "
                             "default: config.yaml in this folder, if there is one)")


def _line(info) -> str:
    c, h, w = info.shape
    classes = ", ".join(info.classes[:5]) + (", ..." if len(info.classes) > 5 else "")
    return (f"  {info.name:<14} {c}x{h}x{w}  {len(info.classes):>3} classes ({classes})  "
            f"train {info.train_images:,}, test {info.test_images:,}")


def run(args: argparse.Namespace) -> int:
    from cnnlab.data.catalog import BUILTIN, DATASETS
    from cnnlab.plan.config import ConfigError, folder_datasets
    from cnnlab.commands import config_of

    config = config_of(args.configfile)
    print("Built-in datasets (by name; downloaded, or read from the offline mirror; "
          "synthetic at the smoke scale):")
    for name in BUILTIN:
        print(_line(DATASETS[name]))
    try:
        folders = folder_datasets(config)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    if folders:
        print("\nYour image folders (datasets.<name>.folder):")
        for name, listing in folders.items():
            print(_line(DATASETS[name]) + f"  [{listing.root}]")
    return 0

"""List every model a config can name, with its arguments and their defaults.

Built-in models (cnnlab.models.registry), the models of the config's models_from files,
and torchvision's image classifiers (`torchvision.<name>`; listed with --torchvision,
which imports torchvision). Read from the files' syntax trees: no PyTorch is imported.
Last, the rule by which the report counts a variant as a CNN or an MLP, and the variant
key (``kind``) that overrides it.
"""

from __future__ import annotations

import argparse
import textwrap

from cnnlab.cli import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configfile", nargs="+", default=[], metavar="FILE",
                        help="your config file(s), as given to snakemake (for models_from; "
                             "default: config.yaml in this folder, if there is one)")
    parser.add_argument("--torchvision", action="store_true",
                        help="also list torchvision's classifiers (imports torchvision)")


def _signature(arguments: tuple[str, ...], defaults: dict) -> str:
    return ", ".join(f"{a}={defaults[a]!r}" if a in defaults else a for a in arguments)


def builtin_models() -> dict[str, str]:
    """``{name: "arg=default, ..."}`` of cnnlab's own models."""
    from cnnlab.models.arguments import model_defaults, registered_model_arguments

    return {name: _signature(args, model_defaults(name))
            for name, args in sorted(registered_model_arguments().items())}


def user_models_of(config: dict) -> dict[str, tuple[str, str]]:
    """``{name: (file, "arg=default, ...")}`` of the config's models_from files."""
    from cnnlab.models.arguments import model_defaults
    from cnnlab.models.user_models import ModelSourceError, user_models

    try:
        found = user_models(list(config.get("models_from") or []))
    except ModelSourceError as e:
        raise CommandError(str(e)) from None
    return {name: (m.file, _signature(m.arguments, model_defaults(name, m.file)))
            for name, m in sorted(found.items())}


def torchvision_classifiers() -> list[str]:
    """torchvision's image classification models, as a config names them."""
    import torchvision.models

    return [f"torchvision.{name}" for name in torchvision.models.list_models(
        module=torchvision.models)]


def run(args: argparse.Namespace) -> int:
    from cnnlab.commands import config_of

    config = config_of(args.configfile)
    print("Built-in models (config: model: NAME, args: {...}); in_shape and num_classes "
          "come from the dataset:")
    for name, signature in builtin_models().items():
        print(f"  {name}({signature})")
    mine = user_models_of(config)
    if mine:
        print("\nYour models (models_from):")
        for name, (file, signature) in mine.items():
            print(f"  {name}({signature})    [{file}]")
    if args.torchvision:
        names = torchvision_classifiers()
        print(f"\ntorchvision's image classifiers ({len(names)}; built untrained, "
              f"num_classes from the dataset):")
        for name in names:
            print(f"  {name}")
    else:
        print("\ntorchvision.<name>: any torchvision image classifier, e.g. "
              "torchvision.resnet18 (cnnlab models --torchvision lists them)")
    # Said here because a model is chosen here: whether the report will compare it as a
    # CNN or an MLP, and how to say so where the rule is wrong for it.
    from cnnlab.analysis.model_kind import RULE

    print("\nCNN or MLP in the report:\n" + textwrap.fill(RULE, width=88, initial_indent="  ",
                                                         subsequent_indent="  "))
    return 0

"""The ``cnnlab`` command: a project of one's own and what it can name, outside Snakemake.

Each subcommand is a module of ``cnnlab.commands`` with a docstring (its help), an
``add_arguments(parser)`` and a ``run(args) -> int``. Every module is imported to build the
help; none imports PyTorch at import time (each imports what it needs inside ``run``), so
``cnnlab --help`` and the commands that need no model start in well under a second.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Subcommand name -> module under cnnlab.commands, in the order `cnnlab --help` lists them.
COMMANDS: dict[str, str] = {
    "init": "init",
    "models": "models",
    "datasets": "datasets",
    "snapshot": "snapshot",
    "compare": "compare",
    "export": "export",
}


def _summary(module) -> str:
    """The first line of a command module's docstring, for the command list."""
    doc = (module.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="cnnlab",
        description="cnnlab: start a study of your own and see what a config can name. "
                    "The workflow itself runs with snakemake (README).")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"cnnlab.commands.{module_name}")
        command = sub.add_parser(name, help=_summary(module), description=module.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(module=module)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.module.run(args) or 0)
    except CommandError as e:
        print(f"cnnlab {args.command}: {e}", file=sys.stderr)
        return 2


class CommandError(Exception):
    """A user error a command reports in one line (no traceback), exit status 2."""


if __name__ == "__main__":
    # `python -m cnnlab.cli`: run the imported module's main, whose CommandError is the
    # class the commands raise (this file, run as __main__, defines a second one).
    sys.exit(importlib.import_module("cnnlab.cli").main())

"""Write a new project of your own: a ten-line config, a model file, a README of three commands.

The project builds at the smoke scale as written (synthetic MNIST, offline): run the
commands its README prints, in the new folder.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from cnnlab.cli import CommandError

TEMPLATE = Path(__file__).resolve().parents[1] / "project_template"
FILES = ("config.yaml", "my_models.py", "README.md")


def snakefile() -> Path:
    """cnnlab's Snakefile, beside the package's source (a clone, installed editable)."""
    path = Path(__file__).resolve().parents[3] / "Snakefile"
    if not path.is_file():
        raise CommandError(f"cnnlab's Snakefile is not at {path}: install cnnlab from a "
                           f"clone of its repository (pip install -e <clone>)")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, help="the new project's folder (created; must "
                                               "not hold the project's files already)")


def run(args: argparse.Namespace) -> int:
    target: Path = args.dir
    taken = [name for name in FILES if (target / name).exists()]
    if taken:
        raise CommandError(f"{target} already has {', '.join(taken)}; nothing was written "
                           f"(choose an empty or new folder)")
    where = snakefile()
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(TEMPLATE / name, target / name)
    readme = target / "README.md"
    readme.write_text(readme.read_text().replace("SNAKEFILE", str(where)))
    print(f"A new cnnlab project in {target}: {', '.join(FILES)}. Next, there:")
    for line in readme.read_text().split("```bash\n", 1)[1].split("```", 1)[0].splitlines():
        print(f"  {line}")
    return 0

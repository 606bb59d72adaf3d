"""A whole config from what a user gives: cnnlab's defaults (``defaults.yaml``, the one
place they are stated) with the user's settings merged over them.

Where the studies come from: the config given (a ``--configfile``, a module's ``config:``)
when it names any, else cnnlab's own ``config.yaml`` (Tasks 1-3). So a file of one's own
runs one's own studies alone, with no flag, and ``--configfile config.yaml --configfile
mine.yaml`` runs both. No PyTorch, no Snakemake: the workflow and the ``cnnlab`` command
both start here.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

DEFAULTS_FILE = Path(__file__).resolve().parents[1] / "defaults.yaml"
# cnnlab's own studies, at the top of the repository (beside the Snakefile).
BUILTIN_STUDIES_FILE = Path(__file__).resolve().parents[3] / "config.yaml"


def defaults() -> dict:
    """cnnlab's default for every setting (a fresh copy each call)."""
    return yaml.safe_load(DEFAULTS_FILE.read_text())


def merged(base: dict, over: dict) -> dict:
    """``base`` with ``over`` merged in: mappings key by key, anything else replaced (a
    list of seeds given replaces the default list, it does not extend it)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def builtin_studies(path: Path | str = BUILTIN_STUDIES_FILE) -> dict:
    """cnnlab's own config.yaml (its studies, and anything else it sets)."""
    return yaml.safe_load(Path(path).read_text()) or {}


def whole_config(given: dict | None = None, builtin: Path | str = BUILTIN_STUDIES_FILE
                 ) -> dict:
    """Defaults, then cnnlab's own studies file unless ``given`` names studies, then
    ``given``. ``given`` is what the user's files and ``--config`` said."""
    given = given or {}
    base = defaults()
    if not given.get("studies"):
        base = merged(base, builtin_studies(builtin))
    return merged(base, given)


def apply_defaults(config: dict, builtin: Path | str = BUILTIN_STUDIES_FILE) -> None:
    """``whole_config`` in place: Snakemake's ``config`` is one dict that every rule and
    script shares, so it is filled, not replaced."""
    whole = whole_config(dict(config), builtin)
    config.clear()
    config.update(whole)


def config_from_files(paths: list) -> dict:
    """The whole config Snakemake would run given ``--configfile`` ``paths`` (merged in
    order, as Snakemake merges them), for the ``cnnlab`` command. No paths: the project's
    ``config.yaml`` in the current folder where there is one (``cnnlab init`` writes it)."""
    if not paths and Path("config.yaml").is_file():
        paths = ["config.yaml"]
    given: dict = {}
    for path in paths:
        given = merged(given, yaml.safe_load(Path(path).read_text()) or {})
    return whole_config(given)

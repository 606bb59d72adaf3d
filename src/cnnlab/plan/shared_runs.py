"""A run that trains exactly what another run trains (Task 1's residual CNN is Task 3's
basic-block ResNet) is trained once (``shared_runs`` finds them); its folder gets a copy of
the trained run's files (``copy_shared_run``), with its own spec in ``metrics.json``, so
that everything downstream (summary, figures, report) reads it like any other run. No PyTorch: a copy, no model load.
``model.pt`` is copied as it is: the checkpoint describes the network that was trained, and
its spec names the run that trained it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cnnlab.files import atomic_path
from cnnlab.plan.config import DISPLAY_KEYS, canonical

# What says where a run is shown, not what it trains: runs equal in everything else train
# the same network in the same way.
SHOWN_AS = ("study", "variant", *DISPLAY_KEYS)


def shared_runs(runs: dict[str, dict]) -> dict[str, str]:
    """Runs that would train exactly what an earlier run (in config order) trains, mapped to
    that run: same model and arguments, recipe, data and seed, shown in another study or
    under another name (Task 1's residual CNN is Task 3's basic-block ResNet). Each is
    trained once; the workflow copies its files to the other run's folder."""
    first, shared = {}, {}
    for run, spec in runs.items():
        key = repr(canonical({k: v for k, v in spec.items() if k not in SHOWN_AS}))
        if key in first:
            shared[run] = first[key]
        else:
            first[key] = run
    return shared


def copy_shared_run(sources: list[str], outputs: list[str], spec: dict) -> None:
    """Copy each source file to the output of the same name; ``metrics.json`` last (a run
    whose metrics exist is complete), with ``spec`` in place of the trained run's."""
    by_name = {Path(s).name: Path(s) for s in sources}
    outputs = sorted(map(Path, outputs), key=lambda p: p.name == "metrics.json")
    for out in outputs:
        source = by_name[out.name]
        with atomic_path(out) as tmp:
            if out.name == "metrics.json":
                metrics = json.loads(source.read_text())
                metrics["spec"] = spec
                metrics["trained_as"] = str(source.parent)
                tmp.write_text(json.dumps(metrics, indent=2))
            else:
                shutil.copyfile(source, tmp)

"""A run that trains exactly what another run trains (``config.shared_runs``: Task 1's
residual CNN is Task 3's basic-block ResNet) is trained once; its folder gets a copy of the
trained run's files, with its own spec in ``metrics.json``, so that everything downstream
(summary, figures, report) reads it like any other run. No PyTorch: a copy, no model load.
``model.pt`` is copied as it is: the checkpoint describes the network that was trained, and
its spec names the run that trained it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cnnlab.files import atomic_path


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

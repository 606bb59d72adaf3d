"""Where the offline mirror of the original dataset files is. Its own module, with nothing
else in it: the data job's code digest includes it, so an edit elsewhere in the planning
code re-prepares no data."""

from __future__ import annotations

import os
from pathlib import Path


def data_mirror(config: dict, environ=os.environ) -> str:
    """The offline mirror's absolute path ("" when there is none: torchvision downloads):
    ``data_mirror`` in config, else the environment variable ``CNNLAB_DATA_MIRROR``.
    Read by the workflow's checks and by the data job itself, not passed as a rule
    parameter: where identical files lie is no reason to prepare them again."""
    mirror = config.get("data_mirror") or environ.get("CNNLAB_DATA_MIRROR", "")
    return str(Path(mirror).resolve()) if mirror else ""

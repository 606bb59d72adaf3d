"""The environment the project is tested with: a lock file (locks/, `make lock`) that
`make test` installs from, each run recording whether its packages were the lock's, and a
workflow start saying so in one line where they are not."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cnnlab.provenance import LOCK, LOCK_PLATFORM, lock_notice, lock_pins, lock_status
from conftest import REPO
from test_workflow import SNAKEMAKE

ON_LOCKED_PLATFORM = (sys.platform, os.uname().machine, sys.version_info[:2]) == LOCK_PLATFORM


def test_the_lock_pins_everything_pyproject_asks_for_with_hashes():
    pins = lock_pins()
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"
    for name in ("snakemake", "pandas", "scipy", "matplotlib", "pytest", "numpy"):
        assert name in pins, name
    text = LOCK.read_text()
    # Every pinned requirement carries at least one hash (pip --require-hashes needs it).
    blocks = [b for b in text.split("\n") if "==" in b and not b.startswith("#")]
    assert len(blocks) == len(pins) and text.count("--hash=sha256:") >= len(pins)


@pytest.mark.skipif(not ON_LOCKED_PLATFORM, reason="the lock is for Linux x86-64, Python 3.11")
def test_the_installed_packages_are_the_lock_s():
    """`make test` installs from the lock: this process runs in that environment."""
    status = lock_status()
    assert status["matches_lock"], status["differs"]
    assert lock_notice(status) is None


@pytest.mark.skipif(not ON_LOCKED_PLATFORM, reason="the lock is for Linux x86-64, Python 3.11")
def test_a_package_of_another_version_is_named_in_one_line(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text(LOCK.read_text().replace(f"tqdm=={lock_pins()['tqdm']}", "tqdm==0.0.1"))
    status = lock_status(lock)
    assert not status["matches_lock"]
    assert status["differs"] == [f"tqdm {lock_pins()['tqdm']} (lock 0.0.1)"]
    notice = lock_notice(status)
    assert "\n" not in notice and "1 installed package(s) differ" in notice and "tqdm" in notice


@pytest.mark.workflow
@pytest.mark.skipif(not ON_LOCKED_PLATFORM, reason="the lock is for Linux x86-64, Python 3.11")
def test_a_workflow_start_in_another_environment_says_so_and_goes_on(tmp_path):
    """Another version of a locked package, first on the import path (as an upgrade by
    hand would leave it): the start prints one line naming it, then plans as usual."""
    shadow = tmp_path / "shadow"
    (shadow / "tqdm-0.0.1.dist-info").mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(shadow), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([*SNAKEMAKE, "-d", str(tmp_path), "-n", "--cores", "1", "report",
                           "--config", "scale=smoke"], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if "differ from" in line]
    assert len(lines) == 1 and "tqdm 0.0.1 (lock " in lines[0]
    clean = subprocess.run([*SNAKEMAKE, "-d", str(tmp_path), "-n", "--cores", "1", "report",
                            "--config", "scale=smoke"], capture_output=True, text=True,
                           timeout=600)
    assert "differ from" not in clean.stderr

"""The record of one measurement: a JSON file in benchmarks/measured/ that says what was
measured (its question), on what machine, when, at which commit, by which command, and the
figures it gave. BENCHMARKS.md is rendered from these files (benchmarks/render.py), so a
figure never appears there without its machine, date and commit.

A record:

    {"question": "quick_report",              # one of QUESTIONS
     "machine": "AMD EPYC (family 26, model 2), 2 cores, AVX512_BF16",
     "date": "2026-12-02", "commit": "370eecd",
     "commit_note": "...",                    # optional: why this commit stands for the code
     "command": "python benchmarks/quick_report.py --mirror ../shared/datasets",
     "note": "...",                           # optional: what it measured beyond the command
     "table": "...",                          # optional: the part of its question's section
     "figures": [{"name": "wall time", "value": 26.9, "unit": "min"},
                 {"case": "mnist mlp", "name": "cnnlab", "value": 39769, "unit": "images/s"},
                 {"name": "test accuracy", "value": 93.11, "sd": 0.1, "unit": "%"}],
     "accuracy": [{"name": "MNIST CNN", "value": 99.05, "unit": "%"},
                  {"name": "kernel study", "value": [60.2, 63.03], "unit": "%"}]}

A value is a number or a [low, high] range; ``sd`` adds "± sd". Kept torch-free: the page's
test and renderer import it.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEASURED = REPO / "benchmarks" / "measured"
QUESTIONS = ("quick_report", "training_loop", "machine_limit", "workflow_start",
             "data_preparation", "gpu")
REQUIRED = ("question", "machine", "date", "commit", "command", "figures")
# Environment variables that cap PyTorch's CPU kernels: a capped run measures another
# code path on the same CPU, so they belong to the machine's description.
ISA_CAPS = ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS")


def cpu_description() -> str:
    """This CPU as a speed figure depends on it: model name, family and model, the cores
    this process may use, its widest matrix instructions, and any cap on PyTorch's kernels.
    Read from /proc/cpuinfo, so no PyTorch is needed."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    first = info.split("\n\n", 1)[0]
    fields = {k.strip(): v.strip() for k, _, v in
              (line.partition(":") for line in first.splitlines())}
    flags = set(fields.get("flags", "").split())
    widest = next((name for flag, name in (("amx_bf16", "AMX"), ("avx512_bf16", "AVX512_BF16"),
                                           ("avx512f", "AVX-512"), ("avx2", "AVX2"))
                   if flag in flags), "no AVX2")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    caps = " ".join(f"{v}={os.environ[v]}" for v in ISA_CAPS if os.environ.get(v))
    return (f"{fields.get('model name', 'unknown CPU')} (family {fields.get('cpu family', '?')}, "
            f"model {fields.get('model', '?')}), {cores} cores, {widest}"
            + (f", capped: {caps}" if caps else ""))


def current_commit() -> str:
    """The short hash of the code measured; "-dirty" when the work tree's code differs
    from it (the figure then measured code no commit holds). The page and the records are
    left out: rendering the page after one measurement must not mark the next one dirty."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short=7", "HEAD"], capture_output=True,
                          text=True)
    if head.returncode != 0:
        return "unknown (no git)"
    changed = subprocess.run([*git, "status", "--porcelain", "--", ".",
                              ":(exclude)BENCHMARKS.md", ":(exclude)benchmarks/measured"],
                             capture_output=True, text=True).stdout.strip()
    return head.stdout.strip() + ("-dirty" if changed else "")


def add_record_option(parser) -> None:
    """``--record [DIR]``: write the measurement's record. A flag rather than always, so
    that trying a script (synthetic data, fewer rounds) leaves no record behind."""
    parser.add_argument("--record", nargs="?", const=MEASURED, type=Path, metavar="DIR",
                        help="write this measurement's record to DIR (default "
                             "benchmarks/measured/, and BENCHMARKS.md is rendered again)")


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed from the repository's root: the script's path, its arguments."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).resolve()
    shown = script.relative_to(REPO) if script.is_relative_to(REPO) else script
    return " ".join(["python", str(shown), *argv[1:]])


def figure(name: str, value, unit: str, case: str | None = None, sd=None) -> dict:
    """One figure of a record (see the module's docstring)."""
    found = {"name": name, "value": value, "unit": unit}
    if case is not None:
        found["case"] = case
    if sd is not None:
        found["sd"] = sd
    return found


def slug(text: str, length: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:length].strip("-")


def write_record(question: str, figures: list[dict], folder: Path = MEASURED, *,
                 machine: str | None = None, accuracy: list[dict] | None = None,
                 note: str | None = None, table: str | None = None,
                 command: str | None = None, commit: str | None = None) -> Path:
    """Write one measurement's record into ``folder`` as
    ``QUESTION[-TABLE]-MACHINE-DATE[-N].json``; into benchmarks/measured/, BENCHMARKS.md is
    rendered again too. ``commit``: taken when a long measurement started, if given."""
    assert question in QUESTIONS, f"{question}: not one of {QUESTIONS}"
    record = {"question": question, "machine": machine or cpu_description(),
              "date": datetime.date.today().isoformat(), "commit": commit or current_commit(),
              "command": command or command_line(), "figures": figures}
    for key, value in (("accuracy", accuracy), ("note", note), ("table", table)):
        if value:
            record[key] = value
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = "-".join(filter(None, (question, table and slug(table, 24),
                                  slug(record["machine"]), record["date"])))
    path, n = folder / f"{stem}.json", 1
    while path.exists():  # a second measurement the same day keeps the first
        n += 1
        path = folder / f"{stem}-{n}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"record written: {path}")
    if folder.resolve() == MEASURED:
        # The page follows its records at once: one command measures and publishes.
        from render import write_page  # render imports this module: imported here

        write_page(folder)
        print("BENCHMARKS.md rendered again")
    else:
        print("copy it into benchmarks/measured/, then `python benchmarks/render.py`")
    return path


def problems(record: dict) -> list[str]:
    """What a record lacks or gets wrong (empty when it is whole)."""
    found = [f"no {key}" for key in REQUIRED if not record.get(key)]
    if record.get("question") and record["question"] not in QUESTIONS:
        found.append(f"question {record['question']!r} is not one of {QUESTIONS}")
    if record.get("date") and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["date"]):
        found.append(f"date {record['date']!r} is not YYYY-MM-DD")
    if record.get("commit") and not re.fullmatch(r"[0-9a-f]{7,40}(-dirty)?", record["commit"]):
        found.append(f"commit {record['commit']!r} is not a short hash")
    for item in record.get("figures", []) + record.get("accuracy", []):
        if not {"name", "value", "unit"} <= set(item):
            found.append(f"figure {item} lacks a name, value or unit")
    return found


def read_records(folder: Path = MEASURED) -> list[dict]:
    """Every record in ``folder`` (its own JSON files, not subfolders), each with the file
    it came from under ``"file"``."""
    return [{**json.loads(path.read_text()), "file": path.name}
            for path in sorted(Path(folder).glob("*.json"))]

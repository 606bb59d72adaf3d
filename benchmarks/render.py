"""Writes BENCHMARKS.md from the records in benchmarks/measured/ (format in records.py):
one section per question, one table per section (a question with parts, such as the GPU's
speed and its full-scale runs, has one per part), newest record first, every row with its
machine, date, commit and command. The prose says what each question means and the goal it
is held to; the measured numbers come only from the records, so the page cannot state a
figure that a newer record contradicts.

    python benchmarks/render.py           # rewrite BENCHMARKS.md
    python benchmarks/render.py --check   # exit 1 if BENCHMARKS.md is not what it renders
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from records import MEASURED, QUESTIONS, REPO, problems, read_records

PAGE = REPO / "BENCHMARKS.md"
RENDER = "python benchmarks/render.py"

# What each question means and the goal it is held to. No measured figure belongs here:
# those live in the records, where a rerun replaces them.
PROSE = {
    "quick_report": (
        "The whole quick report",
        "`snakemake --cores 2 report --config scale=quick` with the real datasets in a fresh "
        "folder: data preparation, every study's training (every seed), the figures and the "
        "report. Wall time; the share of the core-seconds spent inside training loops (the "
        "runs' training seconds over wall time times cores); the test accuracies reached, "
        "mean over seeds. It depends on the kind of CPU most: `precision: auto` trains in "
        "bf16 where the CPU has bf16 units, in fp32 elsewhere.",
        "Goal (issue 22): at most 30 minutes on 2 cores with bf16 units and 60 on 2 AVX2 cores; at "
        "least 80% of the core-seconds in training loops; MNIST's CNNs at least 98.5% and its "
        "MLP 97%; on CIFAR-10 the best Task 1 CNN at least 60% and each CNN at least the MLP "
        "plus 10 points; the kernel study and Task 3 at least 55%; the depth study's residual "
        "twins at 16 and 32 layers and the batch-norm network at 32 at least 35%, the plain "
        "network at 32 at chance."),
    "training_loop": (
        "Training loop against the textbook loop",
        "`benchmarks/throughput.py`: training images/s of cnnlab's `Trainer` against the loop "
        "PyTorch's tutorials teach (a torchvision dataset with `ToTensor` and `Normalize`, a "
        "`DataLoader` with 0 or 2 workers, unfused SGD, `loss.item()` every step); same model, "
        "batch, optimizer and threads; the second of two epochs timed, rounds alternating the "
        "loops, medians. cnnlab is measured in fp32 and in its default precision.",
        "Goal (issue 9): MLPs at least 5 times the best textbook loop, CNNs at least 1.3 times, on "
        "2 threads."),
    "machine_limit": (
        "Distance to the machine's limit",
        "`benchmarks/machine_limit.py`: each model's training FLOP/s (forward and backward "
        "FLOPs counted by `torch.utils.flop_counter`, times cnnlab's images/s) as a fraction of "
        "the matrix-multiply rate of 2048-square products, measured in the same run with the "
        "same threads; training in fp32 and under bf16 autocast.",
        "Goal (issue 9): the residual CNN's training at least half the fp32 matmul rate."),
    "workflow_start": (
        "Workflow start",
        "Each figure a whole `snakemake` process, start-up included, as a user sees it; "
        "medians. A dry run plans a workflow without running it; a no-op rerun finds a "
        "finished folder up to date; Snakemake alone (a one-rule workflow's no-op) is the "
        "floor under any workflow on the same machine.",
        "Goals: (issue 38) the dry run of a 10,000-run grid and the no-op rerun of a built "
        "1,000-run grid each within 2x a minimal Snakefile of as many jobs (ratio), a "
        "cluster job's start within a few seconds, and the cold full-scale dry run within "
        "5 s; (issue 31) a no-op rerun within 2 s; (issue 9) the dry run of a 1,000-run grid "
        "within 10 s."),
    "data_preparation": (
        "Data preparation",
        "`benchmarks/image_folder.py`: a folder of one's own images (CIFAR-10's training "
        "images exported as 32x32 PNGs in class folders) listed with every file's checksum "
        "and decoded into the prepared arrays by 1 and 2 worker processes; medians.",
        "Goal (issue 30): at least 5,000 images/s on 2 cores."),
    "gpu": (
        "GPU",
        "`benchmarks/gpu.py`: on one GPU, images/s of cnnlab's loop in fp32, under bf16 "
        "autocast and with `torch.compile` added, side by side; then Task 1's runs at full "
        "scale (the whole datasets) with their accuracy and overfitting gap. Raw results per "
        "seed, epoch by epoch: `benchmarks/measured/raw/`.",
        "Goal: MNIST's CNN and residual CNN at least 99.3%; CIFAR-10's regularized residual CNN at "
        "least 92%, with a smaller overfitting gap than without regularization."),
}

INTRO = f"""# Benchmarks

<!-- Written by `{RENDER}` from benchmarks/measured/*.json: edit those, then render. -->

Today's figures, one table per question, newest first. Every row names the machine, the
date, the commit of the code it measured and the command that measured it; a commit marked
† is the one that recorded the figure (the code measured is that commit's or an earlier
one). Figures measured side by side in one run (the ratios) carry over to other machines
better than absolute times.

To measure again, run the script with `--record`: it writes its record into
`benchmarks/measured/` and renders this page again, in one command (for example
`python benchmarks/quick_report.py --record`). A record written elsewhere (`--record DIR`,
as on a lent GPU machine) is copied into `benchmarks/measured/`, then `{RENDER}` renders
the page. A record that a newer one supersedes is deleted. `tests/test_benchmarks_page.py`
fails while this page differs from what the records render. The record format is in
`benchmarks/records.py`; the scripts are listed in `docs/benchmarks.md`.

History is in git: `git log -p BENCHMARKS.md`. Questions the page no longer asks (threads,
bf16 against fp32 by kind of CPU and in accuracy, the custom layers' speed, how the quick
scale was sized) were last answered, with earlier configs, in
`git show bd084b1:BENCHMARKS.md`.
"""


def number(value) -> str:
    return f"{value:,}"


def shown(item: dict) -> str:
    """A figure's value as the page prints it: ranges as low-high, a standard deviation
    after ±, the unit last ("x" and "%" without a space)."""
    value = item["value"]
    text = (f"{number(value[0])}-{number(value[1])}" if isinstance(value, list)
            else number(value))
    if "sd" in item:
        text += f" ± {number(item['sd'])}"
    unit = item["unit"]
    return text + (unit if unit in ("x", "%") else f" {unit}" if unit else "")


def newest_first(records: list[dict]) -> list[dict]:
    # Same-day records keep a fixed order (by file name), so rendering is reproducible.
    by_file = sorted(records, key=lambda r: r["file"])
    return sorted(by_file, key=lambda r: r["date"], reverse=True)


def commit_cell(record: dict) -> str:
    return f"`{record['commit']}`" + ("†" if record.get("commit_note") else "")


def first_seen(items) -> list:
    found = []
    for item in items:
        if item not in found:
            found.append(item)
    return found


def figures_table(records: list[dict]) -> list[str]:
    """One row per record and case; a column per figure name, in the order the newest
    record names them; a record without that figure shows —."""
    cases = any("case" in f for r in records for f in r["figures"])
    names = first_seen(f["name"] for r in records for f in r["figures"])
    head = ["date", "machine", "commit", *(["case"] if cases else []), *names, "command"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---:" if h in names else "---" for h in head) + "|"]
    for record in records:
        for case in first_seen(f.get("case") for f in record["figures"]):
            values = {f["name"]: shown(f) for f in record["figures"] if f.get("case") == case}
            row = [record["date"], record["machine"], commit_cell(record),
                   *([case or ""] if cases else []), *(values.get(n, "—") for n in names),
                   f"`{record['command']}`"]
            lines.append("| " + " | ".join(row) + " |")
    return lines


def notes(records: list[dict]) -> list[str]:
    """What each record measured beyond its command, once per record (not on each of its
    rows), then what each kind of † means."""
    lines = [f"- {r['date']}, `{r['commit']}`, `{r['command']}`: {r['note']}."
             for r in records if r.get("note")]
    for note in first_seen(r["commit_note"] for r in records if r.get("commit_note")):
        commits = first_seen(f"`{r['commit']}`" for r in records if r.get("commit_note") == note)
        lines.append(f"- † {', '.join(commits)}: {note}.")
    return lines


def accuracy_table(records: list[dict]) -> list[str]:
    """Accuracies side by side: a row per accuracy, a column per record that kept any."""
    kept = [r for r in records if r.get("accuracy")]
    if not kept:
        return []
    names = first_seen(a["name"] for r in kept for a in r["accuracy"])
    head = ["test accuracy", *(f"{r['date']}, {r['machine']}, {commit_cell(r)}" for r in kept)]
    lines = ["", "| " + " | ".join(head) + " |", "|---|" + "---:|" * len(kept)]
    for name in names:
        cells = [next((shown(a) for a in r["accuracy"] if a["name"] == name), "—")
                 for r in kept]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def section(question: str, records: list[dict]) -> list[str]:
    title, meaning, goal = PROSE[question]
    lines = [f"## {title}", "", meaning, "", goal, ""]
    if not records:
        return lines + ["No record yet.", ""]
    for part in first_seen(r.get("table", "") for r in records):
        in_part = [r for r in records if r.get("table", "") == part]
        lines += ([f"### {part}", ""] if part else []) + figures_table(in_part)
        lines += accuracy_table(in_part) + [""]
    return lines + (notes(records) + [""] if notes(records) else [])


def render(records: list[dict]) -> str:
    """The whole page from ``records`` (as ``read_records`` returns them)."""
    broken = {r.get("file", "?"): problems(r) for r in records if problems(r)}
    if broken:
        raise SystemExit(f"records that cannot be rendered: {broken}")
    ordered = newest_first(records)
    lines = [INTRO]
    for question in QUESTIONS:
        lines += section(question, [r for r in ordered if r["question"] == question])
    return "\n".join(lines).rstrip("\n") + "\n"


def write_page(folder: Path = MEASURED, page: Path | None = None) -> None:
    (page or PAGE).write_text(render(read_records(folder)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="only compare BENCHMARKS.md with what the records render")
    args = ap.parse_args(argv)
    if args.check:
        if PAGE.read_text() != render(read_records()):
            print(f"BENCHMARKS.md is not what the records render: run `{RENDER}`")
            return 1
        return 0
    write_page()
    print(f"wrote {PAGE.relative_to(REPO)} from {len(read_records())} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The GPU path, measured: images/s of cnnlab's own training loop in fp32, bf16 autocast and
bf16 + torch.compile (side by side, same model and batch), then the runs of one study at a
scale (default: Task 1 at full scale) with their accuracy, overfitting gap and
time-to-accuracy. Runs without Snakemake (a GPU box may not have it): the specs come from
config.yaml through the same code the workflow uses, the training from the same function.

    python benchmarks/gpu.py --mirror DIR [--study task1] [--seed 0] [--out gpu.json]
        [--runs cifar10/resnet_reg,mnist/cnn,...]   # order (and subset) of the runs
        [--record [DIR]]   # its records, for BENCHMARKS.md (on a lent machine: --record $OUT)

Results are rewritten to --out after every item, so a run stopped by a time limit keeps
what it finished. On a CPU it works too (use --scale smoke/--max-epochs to try it).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from common import config_runs, prepared
from records import add_record_option, figure, write_record

from cnnlab.training.loop import run_training  # noqa: E402

THRESHOLDS = {"mnist": [0.99, 0.993], "cifar10": [0.90, 0.92, 0.94]}
MODES = {"fp32": {"precision": "fp32", "compile": False},
         "bf16": {"precision": "bf16", "compile": False},
         "bf16+compile": {"precision": "bf16", "compile": True}}


def time_to_accuracy(history: list[dict], threshold: float):
    """Training seconds (summed over epochs) until test accuracy first reaches threshold."""
    seconds = 0.0
    for row in history:
        seconds += row["seconds"]
        if row["test_acc"] >= threshold:
            return {"epoch": row["epoch"], "seconds": round(seconds, 1)}
    return None


def train(spec, data, threads):
    with tempfile.TemporaryDirectory() as out:
        metrics = run_training(spec, data, Path(out), threads=threads, progress=io.StringIO())
        history = pd.read_csv(Path(out) / "history.csv").to_dict("records")
    return metrics, history


def throughput(spec, data, threads, images: int):
    """Images/s of the second of two short epochs (the first pays for warm-up and
    compilation), for each precision/compile mode."""
    rows = {}
    for mode, settings in MODES.items():
        s = copy.deepcopy(spec)
        s["training"].update(settings, epochs=2)
        s["data"]["train_size"] = images
        s["data"]["test_size"] = 1000
        start = time.perf_counter()
        _, history = train(s, data, threads)
        rows[mode] = {"images_per_s": round(images / history[-1]["seconds"]),
                      "first_epoch_s": round(history[0]["seconds"], 1),
                      "wall_s": round(time.perf_counter() - start, 1)}
        print(f"throughput {mode:13s} {rows[mode]['images_per_s']:>8,} img/s "
              f"(first epoch {rows[mode]['first_epoch_s']} s)", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", required=True, type=Path)
    ap.add_argument("--study", default="task1")
    ap.add_argument("--scale", default="full")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", default="", help="dataset/variant,... in this order")
    ap.add_argument("--throughput-run", default="cifar10/resnet_reg",
                    help="dataset/variant whose images/s is measured per mode ('' skips)")
    ap.add_argument("--throughput-images", type=int, default=25600)
    ap.add_argument("--max-epochs", type=int, default=0, help="cap epochs (for trying it)")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--out", type=Path, default=Path("gpu.json"))
    add_record_option(ap)
    args = ap.parse_args(argv)

    runs = {(s["dataset"], s["variant"]): s for s in config_runs(args.scale).values()
            if s["study"] == args.study and s["seed"] == args.seed}
    order = ([tuple(r.split("/")) for r in args.runs.split(",")] if args.runs
             else list(runs))
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    report = {"device": device, "torch": torch.__version__, "scale": args.scale,
              "study": args.study, "seed": args.seed, "runs": {}, "throughput": {}}
    print(f"{device}, torch {torch.__version__}", flush=True)

    data = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ds in sorted({d for d, _ in order}):
            data[ds] = prepared(ds, args.mirror, Path(tmp))[1]

    def save():
        args.out.write_text(json.dumps(report, indent=1))

    def run_one(key):
        spec = copy.deepcopy(runs[key])
        if args.max_epochs:
            spec["training"]["epochs"] = min(spec["training"]["epochs"], args.max_epochs)
        start = time.perf_counter()
        metrics, history = train(spec, data[key[0]], args.threads)
        row = {k: metrics[k] for k in ("test_acc", "train_acc", "test_loss", "train_loss",
                                       "train_seconds", "parameters", "throughput")}
        row.update(gap=metrics["train_acc"] - metrics["test_acc"],
                   wall_s=time.perf_counter() - start, history=history,
                   epochs=spec["training"]["epochs"],
                   batch_size=spec["training"]["batch_size"],
                   to_accuracy={str(t): time_to_accuracy(history, t)
                                for t in THRESHOLDS[key[0]]})
        report["runs"]["/".join(key)] = row
        save()
        print(f"{'/'.join(key):20s} test {row['test_acc']:.4f} train {row['train_acc']:.4f} "
              f"gap {row['gap']:+.4f} | {row['train_seconds']:.0f} s training, "
              f"{row['parameters']:,} params | to accuracy {row['to_accuracy']}", flush=True)

    for i, key in enumerate(order):
        run_one(key)
        if i == 0 and args.throughput_run:  # after the most important run
            tkey = tuple(args.throughput_run.split("/"))
            report["throughput"] = throughput(runs[tkey], data[tkey[0]], args.threads,
                                              args.throughput_images)
            save()
    if args.record:
        write_records(report, args)


def write_records(report: dict, args) -> None:
    """The raw results as BENCHMARKS.md's records: the training speed by precision (when
    measured) and each run's accuracy, gap and training time."""
    machine = f"{report['device']} ({os.cpu_count()} CPU cores)"
    settings = f"seed {report['seed']}, {report['study']} at {report['scale']} scale"
    if report["throughput"]:
        fp32 = report["throughput"]["fp32"]["images_per_s"]
        write_record("gpu", [item for mode, row in report["throughput"].items() for item in (
            figure("training speed", row["images_per_s"], "images/s", mode),
            figure("vs fp32", round(row["images_per_s"] / fp32, 2), "x", mode),
            figure("first epoch", row["first_epoch_s"], "s", mode))],
            args.record, machine=machine, table="Training speed by precision",
            note=f"{args.throughput_run}, second of two epochs of "
                 f"{args.throughput_images:,} images; torch {report['torch']}")
    write_record("gpu", [item for key, row in report["runs"].items() for item in (
        figure("parameters", row["parameters"], "", key),
        figure("test accuracy", round(100 * row["test_acc"], 2), "%", key),
        figure("train accuracy", round(100 * row["train_acc"], 2), "%", key),
        figure("gap", round(100 * row["gap"], 2), "points", key),
        figure("training", round(row["train_seconds"], 1), "s", key))],
        args.record, machine=machine, table=f"{report['study'].replace('task', 'Task ')} at "
                                            f"{report['scale']} scale",
        note=f"{settings}; torch {report['torch']}")


if __name__ == "__main__":
    main()

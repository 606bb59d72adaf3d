"""A run as the workflow sees it (cnnlab.run_files): asked for by its metrics.json, the rest
read beside it; a rule that reads every run of a study's dataset asks for one index file;
a finished run that lost a file is found."""

from __future__ import annotations

from cnnlab.files import RUN_FILES
from cnnlab.run_files import beside, incomplete_runs, reader_inputs, run_groups, runs_index


def runs_of(study, datasets, variants, seeds=(0, 1)):
    return {f"results/runs/{study}/{ds}/{v}/seed{s}": {"study": study, "dataset": ds,
                                                       "variant": v, "seed": s}
            for ds in datasets for v in variants for s in seeds}


def test_a_reader_of_every_run_of_a_dataset_asks_for_its_index_else_for_each_run():
    runs = runs_of("s", ["mnist", "cifar10"], ["a", "b"])
    groups = run_groups(runs)
    assert groups[("s", "mnist")] == [r for r in runs if "/mnist/" in r]
    # Every run of both datasets: two files, not eight.
    assert reader_inputs(runs, runs, groups, {}) == [runs_index("s", "mnist"),
                                                     runs_index("s", "cifar10")]
    # One variant's runs of MNIST (a probe figure, a sweep): each run, and for the whole of
    # CIFAR-10 its index.
    some = [r for r in runs if "/mnist/a/" in r] + [r for r in runs if "/cifar10/" in r]
    assert reader_inputs(some, runs, groups, {}) == [
        "results/runs/s/mnist/a/seed0/metrics.json", "results/runs/s/mnist/a/seed1/metrics.json",
        runs_index("s", "cifar10")]
    # A run that lost a file is asked for with it, so that it is retrained first.
    lost = {"results/runs/s/mnist/a/seed1": ["curve.csv"]}
    assert "results/runs/s/mnist/a/seed1/curve.csv" in reader_inputs(some, runs, groups, lost)


def test_a_finished_run_that_lost_a_file_is_found_and_an_unfinished_one_is_not(tmp_path):
    runs = [tmp_path / name for name in ("whole", "lost", "running", "absent")]
    for run in runs[:3]:
        run.mkdir()
        for name in RUN_FILES:
            (run / name).write_text("x")
    (runs[1] / "curve.csv").unlink()
    (runs[1] / "model.pt").unlink()
    (runs[2] / "metrics.json").unlink()  # cut off before the end: trained again anyway
    assert incomplete_runs(map(str, runs)) == {str(runs[1]): ["model.pt", "curve.csv"]}
    assert beside([str(runs[0] / "metrics.json")], "curve.csv") == [str(runs[0] / "curve.csv")]

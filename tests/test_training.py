import io
import json

import numpy as np
import pandas as pd
import pytest
import torch

from cnnlab.data.batches import Batches, channel_stats, flip_crop
from cnnlab.data.prepared import subset_indices
from cnnlab.training.evaluation import predict
from cnnlab.models.registry import build_model
from cnnlab.models.checkpoint import load_checkpoint
from cnnlab.training.device import autocast_dtype
from cnnlab.analysis.summary import build_summary
from cnnlab.models.speed import latency_table
from cnnlab.training.loop import run_training

from conftest import smoke_spec


def train(spec, data, out, threads=1):
    return run_training(spec, data, out, threads=threads, progress=io.StringIO())


def test_run_writes_consistent_outputs(config, synthetic_mnist, tmp_path):
    spec = smoke_spec(config, "mnist", "cnn", epochs=2, grad_log_every=3)
    metrics = train(spec, synthetic_mnist, tmp_path)

    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history["epoch"]) == [1, 2]
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr",
            "seconds"} <= set(history)
    # Validation after every epoch; the final validation accuracy is the last epoch's.
    assert history["val_acc"].notna().all()
    assert history["val_acc"].iloc[-1] == metrics["val_acc"]
    # ... measured on the held-out images: the saved model scores it again on them.
    from cnnlab.data.run_subsets import split_training

    model, ckpt = load_checkpoint(tmp_path / "model.pt")
    _, held_out = split_training(synthetic_mnist.train_labels, spec["data"]["train_size"],
                                 spec["data"]["validation_size"])
    batches = Batches(synthetic_mnist.train_images[held_out],
                      synthetic_mnist.train_labels[held_out], 100, torch.device("cpu"),
                      ckpt["mean"], ckpt["std"])
    _, acc, _ = predict(model, batches, autocast_dtype(spec["training"], torch.device("cpu")))
    assert acc == pytest.approx(metrics["val_acc"])
    # The fixture's 1,000 training images less the scale's 200 validation ones.
    assert metrics["images"] == {"train": 1000 - spec["data"]["validation_size"],
                                 "validation": spec["data"]["validation_size"],
                                 "test": spec["data"]["test_size"]}
    # The last epoch's test accuracy is the final one: same model, same test subset.
    assert history["test_acc"].iloc[-1] == pytest.approx(metrics["test_acc"])
    # The whole test subset is evaluated after the last epoch only (curve.csv has the rest).
    assert history["test_acc"].iloc[:-1].isna().all()
    assert metrics["test_acc"] > 0.5  # synthetic classes are learnable; chance is 0.1
    assert metrics["train_seconds"] == pytest.approx(history["seconds"].sum())

    from cnnlab.files import RUN_FILES  # what the workflow's training rule declares
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(RUN_FILES)
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["spec"] == spec and on_disk["parameters"] == metrics["parameters"]
    assert on_disk["torch_version"] == torch.__version__ and on_disk["device"] == "cpu"
    # Inference speed is measured apart from training (the latency rule), from model.pt.
    assert "latency_ms" not in on_disk
    speed = latency_table([tmp_path / "model.pt"], [spec])
    assert list(speed[["study", "dataset", "variant"]].iloc[0]) == [
        spec["study"], spec["dataset"], spec["variant"]]
    assert speed["latency_ms"].iloc[0] > 0 and speed["throughput"].iloc[0] > 0

    # grad_norms.csv lists the weights in forward order (the gradient facts' first and last
    # layer), the summary row carries the total norm at the first step from steps.csv.
    row = build_summary([tmp_path / "metrics.json"], speed).iloc[0]
    first = pd.read_csv(tmp_path / "grad_norms.csv").query("step == 0")
    model = build_model(spec["model"], (1, 28, 28), 10, **spec["model_args"])
    assert list(first["layer"]) == [n for n, p in model.named_parameters() if p.ndim > 1]
    assert row["grad_norm_init"] == pd.read_csv(tmp_path / "steps.csv")["grad_norm"].iloc[0]
    assert row["latency_ms"] == speed["latency_ms"].iloc[0]
    # ... and the layers as the run built them, for the report's architecture table.
    assert row["layers"] == on_disk["layers"] == \
        "2 conv (3x3; widths 32, 64); batch norm; 2 linear (128, 10)"

    steps_csv = pd.read_csv(tmp_path / "steps.csv")
    assert metrics["max_loss_spike"] == pytest.approx(max(0, steps_csv["loss"].diff().max()))
    assert steps_csv["loss"].iloc[0] > steps_csv["loss"].iloc[-1]  # it learned

    # The learning curve: evenly spaced points to the last step, the fixed curve
    # (validation) images evaluated at each, and the train loss of the batches in between.
    curve = pd.read_csv(tmp_path / "curve.csv")
    total = len(history) * (metrics["images"]["train"] // spec["training"]["batch_size"])
    assert len(curve) == spec["training"]["curve_points"] and curve["step"].iloc[-1] == total
    assert curve["epoch"].iloc[-1] == len(history) and curve["step"].is_monotonic_increasing
    assert "test_acc" not in curve  # the test split is read once, at the end
    assert curve["val_acc"].iloc[-1] > curve["val_acc"].iloc[0]
    assert curve["train_loss"].iloc[-1] < curve["train_loss"].iloc[0]

    grads = pd.read_csv(tmp_path / "grad_norms.csv")
    steps = len(history) * (metrics["images"]["train"] // spec["training"]["batch_size"])
    assert set(grads["step"]) == set(range(0, steps, spec["training"]["grad_log_every"]))
    assert (grads["norm"] > 0).all()

    # Evaluation happens in the run itself, from the last epoch's test predictions.
    confusion = pd.read_csv(tmp_path / "confusion.csv", index_col=0)
    per_class = pd.read_csv(tmp_path / "per_class.csv")
    assert confusion.shape == (10, 10)
    assert confusion.values.sum() == spec["data"]["test_size"]
    assert np.trace(confusion.values) / confusion.values.sum() == pytest.approx(
        metrics["test_acc"])
    assert list(per_class["correct"]) == list(np.diag(confusion.values))


def test_history_is_written_after_every_epoch(config, synthetic_mnist, tmp_path):
    """A running job can be followed: history.csv holds every finished epoch so far."""
    seen = []

    def stop_after_second_epoch():
        if (tmp_path / "history.csv").exists():
            seen.append(len(pd.read_csv(tmp_path / "history.csv")))
        return len(seen) > 0 and seen[-1] == 2

    from cnnlab.training.loop import Interrupted

    with pytest.raises(Interrupted):
        run_training(smoke_spec(config, "mnist", "mlp", epochs=4), synthetic_mnist, tmp_path,
                     progress=io.StringIO(), should_stop=stop_after_second_epoch)
    assert seen[0] == 1 and seen[-1] == 2
    assert not (tmp_path / "metrics.json").exists()  # the run has not finished


def test_checkpoint_rebuilds_the_model_with_weights_only(config, synthetic_mnist, tmp_path):
    spec = smoke_spec(config, "mnist", "resnet", epochs=1)
    metrics = train(spec, synthetic_mnist, tmp_path)
    model, ckpt = load_checkpoint(tmp_path / "model.pt")  # torch.load(weights_only=True)
    assert ckpt["spec"] == spec
    idx = subset_indices(synthetic_mnist.test_labels, spec["data"]["test_size"])
    batches = Batches(synthetic_mnist.test_images[idx], synthetic_mnist.test_labels[idx], 100,
                      torch.device("cpu"), ckpt["mean"], ckpt["std"])
    _, acc, _ = predict(model, batches, autocast_dtype(spec["training"], torch.device("cpu")))
    assert acc == pytest.approx(metrics["test_acc"])


def test_same_seed_same_metrics_other_seed_differs(config, synthetic_mnist, tmp_path):
    spec = smoke_spec(config, "mnist", "mlp", epochs=1)
    a = train(spec, synthetic_mnist, tmp_path / "a")
    b = train(spec, synthetic_mnist, tmp_path / "b")
    c = train({**spec, "seed": 1}, synthetic_mnist, tmp_path / "c")
    for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert a[key] == b[key]
    assert a["train_loss"] != c["train_loss"]


@pytest.mark.parametrize("threads", [1, 3])
def test_training_uses_exactly_the_threads_given(config, synthetic_mnist, tmp_path, threads):
    """Both directions: from the test process's own count (2 on CI) down to 1 and up to 3
    (a count no other test sets); the run records what it used."""
    before = torch.get_num_threads()
    try:
        metrics = train(smoke_spec(config, "mnist", "mlp", epochs=1), synthetic_mnist,
                        tmp_path, threads=threads)
        # metrics.json records the threads the process really ran with, read from torch.
        assert torch.get_num_threads() == threads and metrics["threads"] == threads
    finally:
        torch.set_num_threads(before)


def test_divergence_stops_the_run_and_is_recorded(config, synthetic_mnist, tmp_path):
    spec = smoke_spec(config, "mnist", "mlp", epochs=3, lr=1e6, schedule="constant")
    metrics = train(spec, synthetic_mnist, tmp_path)
    assert metrics["diverged"] and metrics["diverged_epoch"] == 1
    assert np.isnan(metrics["test_acc"])
    assert json.loads((tmp_path / "metrics.json").read_text())["diverged"] is True


def test_batches_normalize_and_cover_every_image_once():
    images = np.random.default_rng(0).integers(0, 256, (50, 3, 4, 4), dtype=np.uint8)
    labels = np.arange(50)
    mean, std = channel_stats(images)
    batches = Batches(images, labels, 16, torch.device("cpu"), mean, std, shuffle=True,
                      generator=torch.Generator().manual_seed(0))
    xs, ys = zip(*batches)
    assert sorted(torch.cat(ys).tolist()) == list(range(50))
    x = torch.cat(xs)
    ref = (torch.from_numpy(images).float() / 255 - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    torch.testing.assert_close(x, ref[torch.cat(ys)])
    torch.testing.assert_close(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)


def test_flip_crop_moves_pixels_without_changing_them():
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).view(2, 1, 8, 8) + 1
    out = flip_crop(x, torch.Generator().manual_seed(0), pad=2)
    assert out.shape == x.shape
    for i in range(2):
        shown = out[i][out[i] != 0]  # zeros come from the padding
        assert set(shown.tolist()) <= set(x[i].flatten().tolist())
        assert len(shown) >= 6 * 6  # at most `pad` rows and columns shifted out


def test_gradient_facts_from_hand_made_tables():
    """First layer over last at the first logged step, the median of that ratio over the
    later steps, and the total norm of steps.csv's first step (not of its last)."""
    from cnnlab.analysis.summary import gradient_facts

    norms = pd.DataFrame([(step, layer, norm) for step, values in
                          [(0, (2.0, 1.0, 4.0)), (20, (1.0, 9.0, 1.0)), (40, (3.0, 9.0, 1.0)),
                           (60, (8.0, 9.0, 1.0))] for layer, norm in zip("abc", values)],
                         columns=["step", "layer", "norm"])
    steps = pd.DataFrame({"step": [20, 0], "grad_norm": [7.0, 5.0], "loss": [1.0, 2.0]})
    facts = gradient_facts(norms, steps)
    assert facts == {"grad_norm_init": 5.0, "grad_ratio_init": 0.5, "grad_ratio_train": 3.0}


def test_stability_measures():
    from cnnlab.training.run_outputs import stability

    steps = [{"loss": l, "grad_norm": g} for l, g in [(2.0, 1.0), (1.0, 10.0), (1.5, 1.0), (0.5, 10.0)]]
    measured = stability(steps)
    assert measured["max_loss_spike"] == pytest.approx(0.5)
    assert measured["grad_norm_log_var"] == pytest.approx(0.25)  # log10 norms 0,1,0,1
    assert stability([{"loss": 1.0, "grad_norm": 1.0}])["max_loss_spike"] == 0.0


def test_autocast_follows_precision_and_the_hardware(monkeypatch):
    import cnnlab.training.device as device

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(device, "has_fast_bf16", lambda d: d.type == "cuda")
    assert autocast_dtype({"precision": "auto"}, cpu) is None
    assert autocast_dtype({"precision": "auto"}, cuda) is torch.bfloat16
    assert autocast_dtype({"precision": "fp32"}, cuda) is None
    assert autocast_dtype({"precision": "bf16"}, cpu) is torch.bfloat16
    monkeypatch.setattr(device, "has_fast_bf16", lambda d: True)  # a CPU with bf16 units
    assert autocast_dtype({"precision": "auto"}, cpu) is torch.bfloat16


@pytest.mark.parametrize("amx, avx512_bf16, expected", [
    (True, True, "amx"), (True, False, "amx"),          # Intel Sapphire Rapids and later
    (False, True, "avx512_bf16"),                       # AMD Zen 4, Intel Cooper Lake
    (False, False, None),                               # AVX2-only CPUs: bf16 is emulated
])
def test_cpu_bf16_decision_reads_amx_and_avx512_bf16(monkeypatch, amx, avx512_bf16, expected):
    import cnnlab.training.device as device

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    assert device.cpu_bf16_units() == expected
    assert device.has_fast_bf16(torch.device("cpu")) is (expected is not None)
    assert (autocast_dtype({"precision": "auto"}, torch.device("cpu"))
            is (torch.bfloat16 if expected else None))


def test_bf16_and_compiled_training_learn_like_fp32_eager(config, synthetic_mnist, tmp_path):
    """The GPU path (bf16 autocast, torch.compile) exercised on the CPU: both change the
    arithmetic, so results differ from fp32 eager, but only by rounding."""
    spec = smoke_spec(config, "mnist", "cnn", epochs=2, precision="fp32")
    eager = train(spec, synthetic_mnist, tmp_path / "fp32")
    bf16 = train(smoke_spec(config, "mnist", "cnn", epochs=2, precision="bf16"),
                 synthetic_mnist, tmp_path / "bf16")
    compiled = train(smoke_spec(config, "mnist", "cnn", epochs=2, precision="fp32", compile=True),
                     synthetic_mnist, tmp_path / "compiled")
    assert (eager["precision"], bf16["precision"]) == ("fp32", "bf16")
    assert bf16["train_loss"] != eager["train_loss"]  # autocast really ran in bf16
    for run in (bf16, compiled):
        assert run["test_acc"] == pytest.approx(eager["test_acc"], abs=0.05)
        assert run["train_loss"] == pytest.approx(eager["train_loss"], abs=0.1)


def test_clipping_bounds_the_update_but_the_logged_norms_are_unclipped(config, synthetic_mnist,
                                                                       tmp_path):
    spec = smoke_spec(config, "mnist", "cnn", epochs=1, grad_log_every=1)
    free = train(spec, synthetic_mnist, tmp_path / "free")
    clip = 1e-3  # far below every measured norm: every step is clipped
    clipped = train(smoke_spec(config, "mnist", "cnn", epochs=1, grad_log_every=1,
                               grad_clip=clip), synthetic_mnist, tmp_path / "clipped")
    free_steps = pd.read_csv(tmp_path / "free" / "steps.csv")
    clipped_steps = pd.read_csv(tmp_path / "clipped" / "steps.csv")
    assert (free_steps["grad_norm"] > clip).all()
    # Step 0 is taken from the same weights: the logged norm is the one before clipping.
    assert clipped_steps["grad_norm"].iloc[0] == pytest.approx(free_steps["grad_norm"].iloc[0],
                                                               rel=1e-4)
    # Clipped updates are tiny, so the clipped run learns far less in one epoch.
    assert clipped["train_loss"] > free["train_loss"]


def test_confusion_matrix_counts_true_rows_predicted_columns():
    from cnnlab.training.evaluation import confusion_matrix, per_class_accuracy

    labels = np.array([0, 0, 1, 2, 2, 2])
    preds = np.array([0, 1, 1, 2, 0, 2])
    m = confusion_matrix(labels, preds, 3)
    np.testing.assert_array_equal(m, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    acc = per_class_accuracy(m, ["a", "b", "c"])
    np.testing.assert_allclose(acc["accuracy"], [0.5, 1.0, 2 / 3])
    assert list(acc["support"]) == [2, 1, 3]


def test_momentum_zero_trains_without_momentum_and_the_run_records_what_it_used(
        config, synthetic_mnist, tmp_path, monkeypatch):
    """With the one-cycle schedule, OneCycleLR would overwrite SGD's momentum every step
    (its default cycle_momentum=True): `momentum: 0` then still trained with momentum."""
    seen = []
    step = torch.optim.SGD.step

    def spy(self, *a, **kw):
        seen.append((self.param_groups[0]["momentum"],
                     any("momentum_buffer" in s and s["momentum_buffer"] is not None
                         for s in self.state.values())))
        return step(self, *a, **kw)

    monkeypatch.setattr(torch.optim.SGD, "step", spy)
    none = train(smoke_spec(config, "mnist", "mlp", epochs=1, momentum=0.0, schedule="onecycle"),
                 synthetic_mnist, tmp_path / "none")
    assert seen and all(m == 0.0 and not buffered for m, buffered in seen)
    assert none["momentum"] == {"min": 0.0, "max": 0.0}

    seen.clear()
    constant = train(smoke_spec(config, "mnist", "mlp", epochs=1, momentum=0.7,
                                momentum_cycle=0.0), synthetic_mnist, tmp_path / "constant")
    assert {m for m, _ in seen} == {0.7} and constant["momentum"] == {"min": 0.7, "max": 0.7}

    seen.clear()
    cycled = train(smoke_spec(config, "mnist", "mlp", epochs=1, momentum=0.8,
                              momentum_cycle=0.1), synthetic_mnist, tmp_path / "cycled")
    momenta = [m for m, _ in seen]
    assert momenta[0] == pytest.approx(0.9)  # starts high while the learning rate is low
    assert min(momenta) == pytest.approx(0.7, abs=0.01)  # at the peak learning rate
    assert cycled["momentum"]["min"] == pytest.approx(min(momenta))

    from cnnlab.analysis.summary import momentum_used
    assert momentum_used(constant) == 0.7
    assert momentum_used(cycled) == f"{round(min(momenta), 3):g}-0.9, cycled"


def test_the_logged_total_gradient_norm_is_the_one_clipping_bounds(config, synthetic_mnist,
                                                                  tmp_path, monkeypatch):
    """steps.csv's grad_norm counts every parameter (biases, batch norm) as clipping does."""
    totals = []
    clip = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *a, **kw):
        total = clip(params, max_norm, *a, **kw)
        totals.append(float(total))
        return total

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    # resnet: convolutions without bias, but batch norm weights and biases and a fc bias.
    train(smoke_spec(config, "mnist", "resnet", epochs=1, grad_log_every=1, grad_clip=1e9),
          synthetic_mnist, tmp_path)
    logged = pd.read_csv(tmp_path / "steps.csv")["grad_norm"]
    assert len(logged) == len(totals)
    np.testing.assert_allclose(logged, totals, rtol=1e-5)
    weights_only = pd.read_csv(tmp_path / "grad_norms.csv").query("step == 0")["norm"]
    assert float((weights_only ** 2).sum() ** 0.5) < logged.iloc[0] * (1 - 1e-6)


@pytest.mark.parametrize("capability, expected", [((7, 5), None), ((7, 0), None),
                                                  ((8, 0), torch.bfloat16),
                                                  ((9, 0), torch.bfloat16)])
def test_auto_precision_picks_bf16_only_on_gpus_that_have_it(monkeypatch, capability, expected):
    """A T4 (7.5) or V100 (7.0) emulates bf16: fp32 there; Ampere (8.0) and later: bf16."""
    import cnnlab.training.device as device

    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **kw: True)  # emulation
    assert autocast_dtype({"precision": "auto"}, torch.device("cuda")) is expected

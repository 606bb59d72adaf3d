"""What the report says about how to read it, and the columns of its tables: written once,
here, and printed by both templates (Markdown and HTML), with the numbers the statements
rest on taken from the library that uses them."""

from __future__ import annotations

from dataclasses import dataclass

from cnnlab.analysis.model_kind import RULE as KIND_RULE
from cnnlab.analysis.statistics import ALPHA, LEVEL

CONFIDENCE = f"{100 * LEVEL:g}%"
# A custom layer equals its built-in reference when gradcheck passes and both its forward
# and (relative) backward differences are below this.
EQUAL_WITHIN = 1e-5
_EQUAL_TEXT = f"{EQUAL_WITHIN:.0e}".replace("e-0", "e-")  # 1e-5, as it is written

METHOD = ("Every number and statement below was computed from results/summary.csv. "
          f"Accuracies are in percent. Test accuracy is the mean ± the half-width of its "
          f"{CONFIDENCE} confidence interval over seeds (Student's t); the other columns are "
          "mean ± standard deviation over seeds; n is the number of seeds. A difference "
          f"between two variants is called resolved only when Welch's t-test gives "
          f"p < {ALPHA:g}. Chance is what a network that ignores its input scores: the "
          "largest class's share of the test images (10% on ten balanced classes, more on "
          "imbalanced ones, from each run's per-class counts); where the test classes are "
          "imbalanced, balanced accuracy (the mean of the per-class recalls) stands beside "
          "accuracy. Which split each number comes from: test accuracy, the gap, per-class "
          "accuracy, the confusion matrices, chance and every verdict from the test split, "
          "evaluated once, at the end of each run; learning curves, sweep figures and the "
          "choice of a reference variant (each kind's best for CNN vs MLP, the kernel size "
          "the others are held against) from the validation split, "
          "images held out of the training split (stratified, the same for every run of a "
          "dataset, never trained on); train accuracy from the training images. " + KIND_RULE)
DIAGNOSTICS_LEGEND = (
    "Diagnostics: train acc is measured on as many training images as the test set has; "
    "loss spike is the largest rise of the batch loss between two logged steps (a sign of "
    "instability); log10 grad-norm var is the variance of log10 of the total gradient norm "
    "over training (how much it swung); grad norm at init is the total gradient norm at "
    "the first step, and first/last layer grad at init the first layer's gradient norm "
    "over the last layer's (far below 1: the gradient vanished on its way back; mean over "
    "seeds); latency and images/s are one model per variant, timed with nothing else "
    "running (median of repeats); peak memory is the largest resident memory of the "
    "training job (Snakemake's benchmark file; one job may train several seeds).")
VERIFICATION_TEXT = (
    "Each custom torch.autograd.Function against the same math written with built-in "
    "operations (autograd derives that backward): gradcheck in float64 (input and every "
    "parameter), the largest forward and backward differences in float32 at non-trivial "
    "parameter values, and one forward + backward timed against the reference (median). "
    f"\"Equal\" means gradcheck passed and both differences are below {_EQUAL_TEXT} "
    "(relative, for gradients).")


@dataclass(frozen=True)
class Column:
    header: str
    key: str  # the row's key (report.render builds the rows)
    numeric: bool = True  # right-aligned


RESULTS = (Column("variant", "label", False), Column("model", "model", False),
           Column("parameters", "parameters"),
           Column(f"test acc ({CONFIDENCE} CI)", "test_acc"),
           Column("gap (train − test)", "gap_acc"), Column("train s", "train_seconds"),
           Column("n", "n"))
DIAGNOSTICS = (Column("variant", "label", False), Column("train acc", "train_acc"),
               Column("loss spike", "max_loss_spike"),
               Column("log10 grad-norm var", "grad_norm_log_var"),
               Column("grad norm at init", "grad_init"),
               Column("first/last layer grad at init", "grad_ratio_init"),
               Column("latency ms", "latency_ms"), Column("images/s", "throughput"),
               Column("peak memory MB", "peak_memory_mb"))
VERIFICATION = (Column("layer", "layer", False), Column("gradcheck", "gradcheck", False),
                Column("max forward diff", "forward"), Column("max backward diff", "backward"),
                Column("relative", "backward_rel"), Column("time vs reference", "ratio"),
                Column("equal", "equal", False))
COLUMNS = {"results": RESULTS, "diagnostics": DIAGNOSTICS, "verification": VERIFICATION}

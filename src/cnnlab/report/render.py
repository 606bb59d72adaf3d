"""Render the report: Python computes every number and sentence into a context; the
Jinja2 templates only loop and format. ``StrictUndefined`` turns a missing value into an
error instead of an empty cell; the HTML environment autoescapes everything it prints."""

from __future__ import annotations

import base64
import json
import math
import shutil
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import pandas as pd

from cnnlab.analysis import findings, questions
from cnnlab.analysis.answer import ratio_text
from cnnlab.analysis.chance import with_chance
from cnnlab.analysis.statistics import chance_text
from cnnlab.analysis.summary import over_seeds
from cnnlab.provenance import LOCK, REPO, git_commit, library_versions

LOCK_NAME = str(LOCK.relative_to(REPO))
from cnnlab.report.figure_kinds import KINDS
from cnnlab.report.legend import (COLUMNS, DIAGNOSTICS_LEGEND, EQUAL_WITHIN, METHOD,
                                  VERIFICATION_TEXT)
from cnnlab.report.tables import architecture_rows, per_class_rows, read_per_class, recipe_text


def mean_std(mean, std, scale: float = 1.0, digits: int = 2) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    text = f"{scale * mean:.{digits}f}"
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += f" ± {scale * std:.{digits}f}"
    return text


def table_rows(table: pd.DataFrame) -> list[dict]:
    rows = []
    for _, r in table.iterrows():
        def ms(key, scale=1.0, digits=2):
            return mean_std(r[f"{key}_mean"], r[f"{key}_std"], scale, digits)
        rows.append({
            "label": r["label"], "model": r["model"],
            "parameters": "n/a" if r["n"] == 0 else f"{int(r['parameters_mean']):,}",
            # Test accuracy: mean ± half-width of its 95% confidence interval; beside it,
            # where the test classes are imbalanced, the mean balanced accuracy.
            "test_acc": mean_std(r["test_acc_mean"], r["test_acc_ci"], 100)
            + (f" (balanced {mean_std(r['balanced_acc_mean'], None, 100)})"
               if r.get("imbalanced", False) and r["n"] > 0 else ""),
            "train_acc": ms("train_acc", 100),
            "gap_acc": ms("gap_acc", 100), "train_seconds": ms("train_seconds", 1, 1),
            # One model per variant, measured by the latency job: no seed-to-seed spread.
            "latency_ms": mean_std(r["latency_ms_mean"], None, 1, 3),
            "throughput": mean_std(r["throughput_mean"], None, 1, 0),
            "max_loss_spike": ms("max_loss_spike", 1, 3),
            "grad_norm_log_var": ms("grad_norm_log_var", 1, 4),
            # Gradients at initialization: total norm, and first over last layer's norm
            # (geometric scale: printed in scientific notation, mean over seeds).
            "grad_init": ratio_text(r["grad_norm_init_mean"]),
            "grad_ratio_init": ratio_text(r["grad_ratio_init_mean"]),
            # The training job's peak resident memory (mean over the variant's jobs).
            "peak_memory_mb": mean_std(r["peak_memory_mb_mean"], None, 1, 0),
            "n": f"{int(r['n'])}" + (f" ({int(r['diverged'])} diverged)" if r["diverged"] else ""),
        })
    return rows


def environment_text(summary: pd.DataFrame) -> str:
    """Whether the runs were trained with the packages of the project's lock file
    (``provenance.lock_status``, recorded by each run), in one sentence."""
    if "lock_digest" not in summary:
        return "not recorded"
    recorded = summary[summary["lock_digest"].fillna("").astype(str) != ""]
    if recorded.empty:
        return "no lock file for the platform the runs were trained on, or not recorded"
    parts = []
    for digest, runs in recorded.groupby("lock_digest", sort=False):
        same = int(runs["matches_lock"].astype(str).str.lower().eq("true").sum())
        parts.append(f"lock {LOCK_NAME} {digest}: {same} of {len(runs)} runs trained with "
                     f"exactly its packages" + ("" if same == len(runs) else
                                                 f", {len(runs) - same} with others"))
    missing = len(summary) - len(recorded)
    return "; ".join(parts) + (f"; {missing} runs recorded no lock" if missing else "")


def determinism_text(deterministic, device: str) -> str:
    """Whether runs trained with PyTorch's deterministic algorithms (``training.deterministic``),
    as their metrics.json recorded it, and what that means for a rerun on ``device``; read
    back from CSV the flag may be a string."""
    if deterministic is None or (isinstance(deterministic, float) and math.isnan(deterministic)):
        return "deterministic algorithms not recorded"
    if str(deterministic).lower() == "true":
        return "deterministic algorithms (training.deterministic)"
    if device == "cpu":
        return "PyTorch's default algorithms (bit-identical on the same CPU with the same threads)"
    return ("PyTorch's default algorithms (a rerun may differ in the last bits; "
            "training.deterministic makes it identical)")


def verification_rows(table: pd.DataFrame | None) -> list[dict]:
    if table is None:
        return []
    return [{"layer": r["layer"], "gradcheck": "passed" if r["gradcheck"] else "FAILED",
             "forward": f"{r['max_forward_diff']:.1e}",
             "backward": f"{r['max_backward_diff']:.1e}",
             "backward_rel": f"{r['max_backward_rel_diff']:.1e}",
             "ratio": f"{r['time_ratio']:.2f}x",
             "equal": "yes" if r["gradcheck"] and r["max_forward_diff"] < EQUAL_WITHIN
             and r["max_backward_rel_diff"] < EQUAL_WITHIN else "NO"}
            for _, r in table.iterrows()]


def build_context(summary: pd.DataFrame, studies: dict, figures: dict[str, dict],
                  scale: str, data: list[dict],
                  verification: pd.DataFrame | None = None,
                  per_class: pd.DataFrame | None = None,
                  varied_objects: dict[str, bool] | None = None) -> dict:
    """``studies``: config's studies (for titles); ``figures``: stable name -> description,
    as from ``plan.figures.figure_names``; ``data``: the prepared datasets' provenance records
    (``data.prepared.prepare``); ``verification``: the custom layers' check
    (``models.verification.verify_layers``); ``per_class``: the runs' per-class accuracies
    (``report.tables.read_per_class``); ``varied_objects``: the config's statement of each
    dataset (``datasets.<name>.varied_objects``)."""
    per_class = per_class if per_class is not None else read_per_class([])
    # Chance (the largest class's share of the test images) and balanced accuracy, from
    # the runs' per-class counts: every verdict against chance reads them from here.
    stats = with_chance(over_seeds(summary), per_class)
    titles = {k: v.get("title", k) for k, v in studies.items()}
    sections, key_findings = [], []
    for study, sdef in studies.items():
        datasets, answered = [], []
        for ds in sdef["datasets"]:
            table = stats[(stats["study"] == study) & (stats["dataset"] == ds)]
            runs = summary[(summary["study"] == study) & (summary["dataset"] == ds)]
            first = runs.iloc[0]
            answered += questions.answers(table, ds)
            classes, class_rows = per_class_rows(per_class, table)
            datasets.append({
                "name": ds, "anchor": f"{study}-{ds}",
                "rows": table_rows(table),
                "findings": findings.dataset_findings(table),
                "setup": (f"{int(first['epochs'])} epochs, batch size {int(first['batch_size'])}, "
                          f"peak learning rate {first['lr']:g}, "
                          f"{images_text(first, 'train')} training images"
                          f"{' (synthetic)' if first['synthetic'] else ''}; "
                          f"{images_text(first, 'validation')} validation images (held out "
                          f"of the training split, never trained on: the sweeps read them, "
                          f"the learning curves a fixed part of them); test accuracy on "
                          f"{test_images_text(first)}"
                          f"{chance_setup_text(table)}"),
                "recipe": recipe_text(json.loads(first["training"])),
                "architecture": architecture_rows(table),
                "classes": classes, "per_class": class_rows,
                "classes_total": per_class.loc[(per_class["study"] == study)
                                               & (per_class["dataset"] == ds), "class"].nunique(),
                # The dataset's figures, then each variant's (scope "variant").
                "figures": [
                    {"file": f"figures/{name}.png",
                     "caption": variant_caption(fig, table) + KINDS[fig["kind"]].caption}
                    for name, fig in figures.items()
                    if fig["study"] == study and fig.get("dataset") == ds
                    and KINDS[fig["kind"]].scope in ("dataset", "variant")],
                "receptive_fields": [
                    {"label": r["label"], "layers": r["receptive_fields"]}
                    for _, r in table.iterrows() if r["receptive_fields"]]
                if "receptive_field" in sdef.get("probes", []) else [],
            })
        answered += questions.study_answers(stats[stats["study"] == study], varied_objects)
        # The answers first: each question's headline, linked to where its evidence is.
        if answered:
            key_findings.append({"title": titles[study], "anchor": f"{study}-conclusions",
                                 "headlines": [a.headline for a in answered]})
        sections.append({
            "anchor": study, "title": sdef.get("title", study),
            "description": sdef.get("description", ""), "datasets": datasets,
            "conclusions": [{"question": a.question, "sentences": a.sentences}
                            for a in answered],
            "figures": [
                {"file": f"figures/{name}.png", "caption": KINDS[fig["kind"]].caption}
                for name, fig in figures.items()
                if fig["study"] == study and KINDS[fig["kind"]].scope == "study"
            ],
        })
    commit, dirty = git_commit()
    devices = summary.reindex(columns=["device", "device_name", "precision",
                                       "deterministic"]).drop_duplicates()
    verified = verification_rows(verification)
    return {
        "key_findings": key_findings,
        "contents": table_of_contents(sections, bool(verified)),
        "method": METHOD,
        "diagnostics_legend": DIAGNOSTICS_LEGEND,
        "verification_text": VERIFICATION_TEXT,
        "columns": COLUMNS,
        "sections": sections,
        "verification": verified,
        "provenance": {
            "scale": scale,
            "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "runs": len(summary),
            "data": [{"dataset": d["dataset"], "source": d["source"],
                      "train": d["train"], "test": d["test"],
                      "prepared_sha256": d["prepared_sha256"],
                      "files": sorted(d["source_sha256"].items())} for d in data],
            "libraries": sorted(library_versions().items()),
            "devices": "; ".join(f"{r.device} ({r.device_name}), {r.precision} training, "
                                 f"{determinism_text(r.deterministic, r.device)}"
                                 for r in devices.itertuples()),
            "git_commit": commit + (" (uncommitted changes)" if dirty else ""),
            "environment": environment_text(summary),
            # Runs trained by another study (shared_run) are that study's seconds.
            "study_time": [{"study": study, "runs": len(g),
                            "seconds": f"{g['train_seconds'].sum():.0f}"}
                           for study, g in trained_here(summary).groupby("study", sort=False)],
        },
    }


def chance_setup_text(table: pd.DataFrame) -> str:
    """Chance on the dataset's test images, from the runs' per-class counts ("" where none
    were read), and whether its classes are imbalanced."""
    if "chance" not in table or not table["chance"].notna().any():
        return ""
    text = f"; {chance_text(float(table['chance'].dropna().max()))}"
    if table["imbalanced"].any():
        text += " (imbalanced classes: balanced accuracy, the mean per-class recall, beside accuracy)"
    return text


def images_text(run, split: str) -> str:
    """How many images of ``split`` a run held (``train``: all but the validation ones
    where train_size is null), as its metrics.json counted them."""
    count = run.get(f"{split}_images")
    if count is not None and not pd.isna(count):
        return f"{int(count):,}"
    size = run.get(f"{split}_size")  # a build from before the counts were recorded
    return "all" if size is None or pd.isna(size) else f"{int(size):,}"


def test_images_text(run) -> str:
    """Which test images a run's accuracy is measured on: all of them, or a fixed subset
    (the same for every run and seed)."""
    size = run.get("test_size")
    if size is None or pd.isna(size):
        return "the whole test split"
    return f"a fixed subset of {int(size):,} test images, the same for every run"


def variant_caption(figure: dict, table: pd.DataFrame) -> str:
    """The label of the variant a per-variant figure shows, to open its caption ("" for
    other figures)."""
    if "variant" not in figure:
        return ""
    labels = table.loc[table["variant"] == figure["variant"], "label"]
    return f"{labels.iloc[0] if len(labels) else figure['variant']}: "


def trained_here(summary: pd.DataFrame) -> pd.DataFrame:
    """The runs each study trained itself (not copies of another study's run)."""
    if "trained_as" not in summary:
        return summary
    return summary[summary["trained_as"].fillna("") == ""]


def table_of_contents(sections: list[dict], verified: bool) -> list[dict]:
    """Each part of the report with its anchor (ids in the HTML, ``<a id>`` in the
    Markdown), each study with its datasets and conclusions below it."""
    def entry(title, anchor, children=()):
        return {"title": title, "anchor": anchor, "children": list(children)}

    studies = []
    for s in sections:
        children = [entry(d["name"], d["anchor"]) for d in s["datasets"]]
        if s["conclusions"]:
            children.append(entry("Conclusions", f"{s['anchor']}-conclusions"))
        studies.append(entry(s["title"], s["anchor"], children))
    return [entry("How to read the numbers", "method"), *studies,
            *([entry("Custom autograd layers, verified against torch", "verification")]
              if verified else []),
            entry("Provenance", "provenance")]


def _environment(template_dir: Path, html: bool, embed_from: Path | None = None):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir)),
                             undefined=jinja2.StrictUndefined, autoescape=html,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["md"] = md_escape
    # An image source: the figure's file beside the report, or (for the single file
    # that can be mailed) the figure itself as a data URI.
    env.filters["src"] = (lambda f: _data_uri(embed_from / f)) if embed_from else (lambda f: f)
    return env


def md_escape(text) -> str:
    """Text that Markdown shows literally inside a table cell (and that raw HTML cannot
    sneak through)."""
    text = str(text)
    for ch, rep in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|")):
        text = text.replace(ch, rep)
    return text


def _data_uri(path: Path) -> str:
    data = path.read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def render(context: dict, template_dir, md_path, html_path, figure_files: list,
           standalone_path=None) -> None:
    """Write report.md and report.html, with the figures copied beside them so that the
    report folder stands on its own, and optionally one self-contained HTML file with the
    figures embedded."""
    template_dir = Path(template_dir)
    md_path, html_path = Path(md_path), Path(html_path)
    figure_dir = html_path.parent / "figures"
    figure_dir.mkdir(parents=True, exist_ok=True)
    for f in figure_files:
        shutil.copyfile(f, figure_dir / Path(f).name)
    md_path.write_text(_environment(template_dir, False).get_template("report.md.j2")
                       .render(**context))
    html_path.write_text(_environment(template_dir, True).get_template("report.html.j2")
                         .render(**context))
    if standalone_path:
        env = _environment(template_dir, True, embed_from=html_path.parent)
        Path(standalone_path).write_text(env.get_template("report.html.j2").render(**context))

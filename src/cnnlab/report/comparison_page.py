"""A comparison of two builds (``analysis.comparison``) as the terminal, Markdown and HTML
show it. Python formats every cell once (``rows``); the three renderings only lay them out,
so the terminal and the files never disagree."""

from __future__ import annotations

import math
from pathlib import Path

import jinja2

from cnnlab.analysis.comparison import BuildComparison, VariantComparison
from cnnlab.analysis.statistics import ALPHA, LEVEL

TEMPLATES = Path(__file__).with_name("templates")
COLUMNS = {"variant": "variant", "label": "label", "baseline": "baseline %",
           "current": "current %", "difference": f"difference [{LEVEL:.0%} CI]",
           "p": "Welch p", "resolved": "resolved", "changes": "what changed"}
# Said once, under every rendering: where "resolved" comes from (not a rule of its own).
RULE = (f"Test accuracy in %, current minus baseline, over each build's seeds. Resolved: "
        f"the report's rule, Welch's t-test over the seeds at p < {ALPHA}.")


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.2f}"


def row(v: VariantComparison) -> dict:
    t = v.test
    return {
        "variant": v.variant, "label": v.label,
        "baseline": f"{_pct(v.baseline_mean)} (n={len(v.baseline)})",
        "current": f"{_pct(v.current_mean)} (n={len(v.current)})",
        "difference": "n/a" if math.isnan(t.diff) else (
            f"{100 * t.diff:+.2f}" + ("" if math.isnan(t.low)
                                      else f" [{100 * t.low:+.2f}, {100 * t.high:+.2f}]")),
        "p": "n/a" if math.isnan(t.p) else f"{t.p:.3g}",
        "resolved": "yes" if t.resolved else "no",
        "changes": "; ".join(v.changes) or "-",
    }


def sections(result: BuildComparison) -> list[dict]:
    """The variants grouped by study and dataset, each group with its formatted rows."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for v in result.variants:
        groups.setdefault((v.study, v.dataset), []).append(row(v))
    return [{"study": s, "dataset": d, "rows": rows} for (s, d), rows in groups.items()]


def context(result: BuildComparison, baseline: str, current: str,
            figure: str | None) -> dict:
    only = lambda runs: [f"{s} / {d} / {v} ({label})" for s, d, v, label in runs]
    return {"baseline": baseline, "current": current, "rule": RULE, "columns": COLUMNS,
            "sections": sections(result), "build_changes": result.build_changes,
            "only_baseline": only(result.only_baseline),
            "only_current": only(result.only_current), "figure": figure,
            "changed": len(result.changed), "resolved": sum(v.test.resolved
                                                            for v in result.variants)}


def aligned(rows: list[dict]) -> list[str]:
    """A table as left-aligned columns two spaces apart, with its header."""
    cells = [list(COLUMNS.values())] + [[r[k] for k in COLUMNS] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
            for line in cells]


def text(ctx: dict) -> str:
    """The terminal's rendering: one aligned table per study and dataset."""
    lines = [f"Baseline: {ctx['baseline']}", f"Current:  {ctx['current']}"]
    lines += [f"Whole build: {c}" for c in ctx["build_changes"]]
    lines += [ctx["rule"], ""]
    for section in ctx["sections"]:
        lines += [f"{section['study']} / {section['dataset']}",
                  *aligned(section["rows"]), ""]
    for title, names in (("Only in the baseline", ctx["only_baseline"]),
                         ("Only in the current build", ctx["only_current"])):
        if names:
            lines += [f"{title}:", *(f"  {n}" for n in names), ""]
    lines.append(f"{ctx['changed']} variant(s) with changed settings, "
                 f"{ctx['resolved']} resolved difference(s).")
    return "\n".join(lines) + "\n"


def render(ctx: dict, template: str) -> str:
    """``comparison.md.j2`` or ``comparison.html.j2`` (HTML escaped throughout)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             undefined=jinja2.StrictUndefined,
                             autoescape=template.endswith(".html.j2"),
                             keep_trailing_newline=True)
    return env.get_template(template).render(**ctx)

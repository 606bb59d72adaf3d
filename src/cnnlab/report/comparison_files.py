"""Compare two builds and write the result: comparison.md, comparison.html and the
learning-curve figure in one folder; returns the terminal's text of the same."""

from __future__ import annotations

from pathlib import Path

from cnnlab.analysis.build import read_build
from cnnlab.analysis.comparison import compare_builds
from cnnlab.files import atomic_path
from cnnlab.report import comparison_figure, comparison_page

FIGURE = "learning_curves.png"


def compare_and_write(baseline, current, out=None) -> tuple[str, Path]:
    """Returns the terminal's text and the folder written (default: CURRENT/comparison)."""
    old, new = read_build(baseline), read_build(current)
    result = compare_builds(old, new)
    out = Path(out) if out is not None else new.root / "comparison"
    # Drawn for every variant whose settings changed, and for any whose difference is
    # resolved without a changed setting (library code, data or PyTorch changed under it).
    drawn = [v for v in result.variants if v.changes or v.test.resolved]
    figure = comparison_figure.draw(old, new, drawn, out / FIGURE) if drawn else None
    if figure is None:
        (out / FIGURE).unlink(missing_ok=True)  # a stale figure of an earlier comparison
    ctx = comparison_page.context(result, str(baseline), str(current),
                                  FIGURE if figure else None)
    for name, template in (("comparison.md", "comparison.md.j2"),
                           ("comparison.html", "comparison.html.j2")):
        with atomic_path(out / name) as tmp:
            tmp.write_text(comparison_page.render(ctx, template))
    return comparison_page.text(ctx), out


def report_section(baseline, current) -> dict:
    """The comparison as the report's "Compared with the baseline" section takes it: the
    report's table macro (columns with header and key) and one table per study and
    dataset (no figure: the report folder holds only the workflow's own figures)."""
    ctx = comparison_page.context(compare_builds(read_build(baseline), read_build(current)),
                                  str(baseline), str(current), None)
    columns = [{"header": title, "key": key, "numeric": False}
               for key, title in comparison_page.COLUMNS.items()]
    return {**ctx, "columns": columns}

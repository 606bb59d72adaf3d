"""Compare a build with an earlier one, variant by variant, with the report's statistics.

Per variant in both builds: each build's mean test accuracy and n, the difference with its
95% interval and Welch's p, whether it is resolved (the report's rule), and which settings
changed; variants present in only one build are listed.

BASELINE is a snapshot (cnnlab snapshot), a results folder or a project folder holding
one. Also writes comparison.md, comparison.html and learning_curves.png to --out.
"""

from __future__ import annotations

from cnnlab.cli import CommandError


def add_arguments(parser) -> None:
    parser.add_argument("baseline", help="the earlier build: snapshots/NAME or a results folder")
    parser.add_argument("current", nargs="?", default="results",
                        help="the build to judge (default: results)")
    parser.add_argument("--out", help="where to write the Markdown, HTML and figure "
                                      "(default: CURRENT/comparison)")


def run(args) -> int:
    from cnnlab.analysis.build import BuildError
    from cnnlab.report.comparison_files import compare_and_write

    try:
        text, out = compare_and_write(args.baseline, args.current, args.out)
    except BuildError as e:
        raise CommandError(str(e)) from None
    print(text, end="")
    print(f"Written: {out / 'comparison.md'} and comparison.html")
    return 0

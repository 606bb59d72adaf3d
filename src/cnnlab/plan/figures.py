"""The figures a config asks for, and the runs each is drawn from. What each kind of figure
is lives in ``report.figure_kinds``; which runs feed it is decided here, without Snakemake,
so that it can be tested."""

from __future__ import annotations

from cnnlab.report.figure_kinds import KINDS


def figure_names(config: dict) -> dict[str, dict]:
    """Every figure the report shows, by stable file stem, with what it is drawn from:
    ``<study>_<kind>``, ``<study>_<dataset>_<kind>`` or ``<study>_<dataset>_<variant>_<kind>``
    by the kind's scope (``figure_kinds.KINDS``). Probes only where the study asks for them,
    sweeps only where a dataset has sweep points. Two figures of one stem would replace
    each other: ``plan.collisions.check_collisions`` refuses such a config."""
    return dict(figure_entries(config))


def figure_entries(config: dict):
    """``(stem, figure)`` for every figure of ``figure_names``, each one, in config order
    (a stem that comes twice comes twice here)."""
    for study, sdef in config["studies"].items():
        # The figure's title, in the study's and dataset's words (not its file name).
        title = sdef.get("title", study)
        for kind, how in KINDS.items():
            if how.scope == "study":
                yield f"{study}_{kind}", {"kind": kind, "study": study, "title": title}
        for ds, ddef in sdef["datasets"].items():
            has_sweep = any("sweep" in var for var in ddef["variants"])
            for kind, how in KINDS.items():
                if how.scope != "dataset" or (how.probe and kind not in sdef.get("probes", [])) \
                        or (how.sweeps_only and not has_sweep):
                    continue
                yield f"{study}_{ds}_{kind}", {"kind": kind, "study": study, "dataset": ds,
                                               "title": f"{title}: {ds}"}
            for var in ddef["variants"]:
                for kind, how in KINDS.items():
                    if how.scope == "variant":
                        yield f"{study}_{ds}_{var['name']}_{kind}", {
                            "kind": kind, "study": study, "dataset": ds,
                            "variant": var["name"],
                            "title": f"{title}: {ds}, {var.get('label', var['name'])}"}


def figure_run_dirs(figure: dict, runs: dict[str, dict], probe_seed: int) -> list[str]:
    """The run folders ``figure`` (a value of ``figure_names``) is drawn from, in config
    order: its study's runs, of its dataset and variant where it has one; for a kind that
    looks inside trained models (``probe``) only those of ``probe_seed``; for a sweep
    figure only the sweep points."""
    how = KINDS[figure["kind"]]
    return [run for run, spec in runs.items()
            if spec["study"] == figure["study"]
            and figure.get("dataset", spec["dataset"]) == spec["dataset"]
            and figure.get("variant", spec["variant"]) == spec["variant"]
            and (not how.probe or spec["seed"] == probe_seed)
            and (not how.sweeps_only or "sweep" in spec)]

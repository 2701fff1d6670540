"""The ``specinit`` command line: reproduce experiments, list methods, measure a spectrum."""

from __future__ import annotations

import os
from pathlib import Path

import click

from specinit import experiments
from specinit.initializers import methods as init_methods


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="specinit")
def main() -> None:
    """specinit — how a neural network starts: initializers and spectral measurements."""


def _setting(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise click.BadParameter(f"{text!r} is not FIELD=VALUE", param_hint="--set")
    return key.strip(), value.strip()


def _write_index(out: Path, reports: list[experiments.RunReport]) -> Path:
    lines = ["# specinit reproduction report", ""]
    lines += ["| experiment | findings that hold | seconds | folder |", "|---|---|---|---|"]
    for rep in reports:
        held = sum(f.holds for f in rep.findings)
        rel = os.path.relpath(rep.path, out)
        lines.append(f"| {rep.name} | {held}/{len(rep.findings)} | {rep.seconds:.0f} | [{rel}]({rel}/report.md) |")
    for rep in reports:
        lines += ["", f"## {rep.name}", ""]
        lines += [f.markdown() for f in rep.findings]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


@main.command()
@click.argument("experiment", required=False)
@click.option("--list", "list_", is_flag=True, help="List the experiments and exit.")
@click.option("--quick", is_flag=True, help="Small config that finishes in about a minute.")
@click.option("--seeds", type=click.IntRange(min=1), default=None, help="Run seeds 0..N-1.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default runs/<experiment>[-quick]).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding mnist/ and fashion-mnist/ (else $SPECINIT_DATA, else ../shared/data).")
@click.option("--set", "settings", multiple=True, metavar="FIELD=VALUE",
              help="Replace a config field (repeatable), e.g. --set designs=64x10,16/4x101.")
@click.option("--progress/--no-progress", default=True, help="Show progress bars.")
def reproduce(experiment: str | None, list_: bool, quick: bool, seeds: int | None,
              out: Path | None, data_dir: Path | None, settings: tuple[str, ...],
              progress: bool) -> None:
    """Run EXPERIMENT (or 'all') and write results.json, CSV tables, PNG figures and report.md.

    An interrupted run resumes: finished units in the output folder are kept and skipped.
    A run with different settings needs its own --out folder.
    """
    if list_:
        for name in experiments.names():
            exp = experiments.get(name)
            click.echo(f"{name:16s} {exp.title}  [{exp.source}]")
        return
    if experiment is None:
        raise click.UsageError("name an experiment (see --list) or 'all'")
    if data_dir is not None:  # the image loaders read it (specinit.data.data_dir)
        os.environ["SPECINIT_DATA"] = str(data_dir)
    overrides = dict(_setting(text) for text in settings)
    if overrides and experiment == "all":
        raise click.UsageError("--set applies to one experiment, not 'all'")
    names = experiments.names() if experiment == "all" else [experiment]
    if experiment != "all" and experiment not in experiments.names():
        raise click.BadParameter(
            f"unknown experiment {experiment!r}; known: {', '.join(experiments.names())}, all",
            param_hint="EXPERIMENT",
        )
    if overrides:
        try:
            experiments.get(experiment).config(quick=quick, seeds=seeds, overrides=overrides)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--set") from None
    suffix = "-quick" if quick else ""
    root = out if out is not None else Path("runs") / f"{experiment}{suffix}"
    reports = []
    for name in names:
        folder = root / name if experiment == "all" else root
        rep = experiments.run(name, quick=quick, seeds=seeds, out=folder, progress=progress,
                              overrides=overrides)
        reports.append(rep)
        held = sum(f.holds for f in rep.findings)
        click.echo(f"{name}: {held}/{len(rep.findings)} findings hold; "
                   f"{rep.skipped} unit(s) reused; report: {rep.path / 'report.md'}")
        for f in rep.findings:
            click.echo(f"  [{'ok' if f.holds else 'NO'}] {f.claim}: {f.evidence}")
    if experiment == "all":
        click.echo(f"index: {_write_index(root, reports)}")


@main.command("methods")
def list_methods() -> None:
    """List the initialization methods ``specinit.init_`` accepts."""
    for name, summary in init_methods().items():
        click.echo(f"{name:18s} {summary}")

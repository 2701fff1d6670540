"""``specinit reproduce``: run an experiment, or all of them in parallel, into run folders."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import click
from tqdm.auto import tqdm

from specinit import lab
from specinit.cli.options import DATA_DIR_HELP, DEVICE_HELP
from specinit.lab import report
from specinit.lab.config import ConfigError
from specinit.lab.results import Finding, count_findings

__all__ = ["reproduce"]


def _setting(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise click.BadParameter(
            f"{text!r} is not FIELD=VALUE (a nested field by its dotted name: task.step=0.05)",
            param_hint="--set",
        )
    return key.strip(), value.strip()


def _tally(findings: Sequence[Finding]) -> str:
    """``3/5 findings hold, 1 not decided``."""
    held, _, undecided = count_findings(findings)
    return f"{held}/{len(findings)} findings hold" + (f", {undecided} not decided" if undecided else "")


def _finding_lines(findings: Sequence[Finding]) -> list[str]:
    """``[ok]``, ``[NO]`` or ``[??]`` (not decided at this scale) and the claim with its evidence."""
    marks = {True: "ok", False: "NO", None: "??"}
    return [f"  [{marks[f.holds]}] {f.claim}: {f.evidence}" for f in findings]


def _unit_line(line: str) -> None:
    """One line per finished unit (``--no-progress``), on stderr beside the progress bars' place."""
    click.echo(line, err=True)


@click.command(short_help="Run EXPERIMENT (or 'all', in parallel) and write its results and report.")
@click.argument("experiment", required=False)
@click.option("--list", "list_", is_flag=True, help="List the experiments and exit.")
@click.option("--quick", is_flag=True, help="Small config that finishes in about a minute (--scale quick).")
@click.option(
    "--scale",
    type=click.Choice(["default", "quick", "paper"]),
    default=None,
    help="Named config: default (the documented full run), quick, or paper (the papers' own "
    "scale, a GPU run; random-label only).",
)
@click.option("--device", default=None, metavar="DEVICE", help=DEVICE_HELP)
@click.option("--seeds", type=click.IntRange(min=1), default=None, help="Run seeds 0..N-1.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default runs/<experiment>[-quick]).",
)
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=DATA_DIR_HELP
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Replace a config field (repeatable), e.g. --set designs=64x10,16/4x101; "
    "a nested field by its dotted name, e.g. --set task.step=0.05.",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    help="Show progress bars, or (--no-progress) print one line per finished unit to stderr.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="For 'all': experiments at once, in worker processes (default: the cores).",
)
def reproduce(
    experiment: str | None,
    list_: bool,
    quick: bool,
    scale: str | None,
    device: str | None,
    seeds: int | None,
    out: Path | None,
    data_dir: Path | None,
    settings: tuple[str, ...],
    workers: int | None,
    progress: bool,
) -> None:
    """Run EXPERIMENT (or 'all') and write results.json, CSV tables, PNG figures and a report
    (report.md and an offline report.html; for 'all' also an index report in --out).

    An interrupted run resumes: finished units in the output folder are kept and skipped.
    More seeds can be added to a run folder (--seeds 3 after --seeds 1 runs seeds 1 and 2);
    a run with other settings needs its own --out folder.
    """
    if list_:
        for name in lab.names():
            exp = lab.get(name)
            scales = " (has --scale paper)" if "paper" in exp.scales else ""
            click.echo(f"{name:16s} {exp.title}  [{exp.source}]{scales}")
        return
    if quick and scale not in (None, "quick"):
        raise click.UsageError(f"--quick and --scale {scale} disagree; give one of them")
    if quick:
        scale = "quick"
    quick = scale == "quick"
    if experiment is None:
        raise click.UsageError("name an experiment (see --list) or 'all'")
    overrides = dict(_setting(text) for text in settings)
    if overrides and experiment == "all":
        raise click.UsageError("--set applies to one experiment, not 'all'")
    if experiment == "all" and scale not in (None, "default", "quick"):
        raise click.UsageError(f"--scale {scale} applies to one experiment, not 'all'")
    if device is not None:
        if "device" in overrides:
            raise click.UsageError("give the device once: --device or --set device=..., not both")
        overrides["device"] = device
    names = lab.names() if experiment == "all" else [experiment]
    if experiment != "all" and experiment not in lab.names():
        raise click.BadParameter(
            f"unknown experiment {experiment!r}; known: {', '.join(lab.names())}, all",
            param_hint="EXPERIMENT",
        )
    from specinit._core.placement import resolve_device

    if experiment != "all":  # an impossible value or an absent device fails here, before any work
        try:
            cfg = lab.get(experiment).config(scale=scale, seeds=seeds, overrides=overrides)
        except ValueError as exc:
            if overrides.keys() - {"device"}:
                raise click.BadParameter(str(exc), param_hint="--set") from None
            raise click.ClickException(str(exc)) from None
        run_device = getattr(cfg, "device", "cpu")
    else:
        run_device = device or "cpu"
    try:
        torch_device = resolve_device(run_device)
    except ValueError as exc:  # a device this machine lacks: one line, nothing written
        raise click.ClickException(str(exc)) from None
    from specinit.data import DataFileError  # a corrupt or truncated data file

    root = out if out is not None else lab.default_out(experiment, scale, torch_device)
    if experiment == "all":
        _reproduce_all(
            names,
            root,
            quick=quick,
            seeds=seeds,
            data_dir=data_dir,
            workers=workers,
            progress=progress,
            device=device,
        )
        return
    if workers is not None:
        raise click.UsageError("--workers applies to 'all' (one experiment runs in this process)")
    for name in names:
        try:
            rep = lab.run(
                name,
                scale=scale,
                seeds=seeds,
                out=root,
                progress=progress,
                overrides=overrides,
                data_dir=data_dir,
                log=None if progress else _unit_line,
            )
        except (FileNotFoundError, FileExistsError, DataFileError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(
            f"{name}: {_tally(rep.findings)}; {rep.skipped} unit(s) reused; "
            f"report: {rep.path / 'report.html'}"
        )
        for line in _finding_lines(rep.findings):
            click.echo(line)


def _reproduce_all(
    names: list[str],
    root: Path,
    *,
    quick: bool,
    seeds: int | None,
    data_dir: Path | None,
    workers: int | None,
    progress: bool,
    device: str | None,
) -> None:
    """Every experiment, in parallel worker processes; the index is written whatever failed."""
    from specinit.lab import suite

    finished = 0

    def echo(outcome: suite.Outcome) -> None:
        nonlocal finished
        finished += 1
        head = f"[{finished}/{len(names)}] {outcome.name}"
        if outcome.status != "done":
            tqdm.write(
                f"{head}: FAILED after {outcome.seconds:.0f} s: {outcome.error} "
                f"(traceback: {outcome.folder / 'error.txt'})"
            )
            return
        tqdm.write(f"{head}: {_tally(outcome.findings)} ({outcome.seconds:.0f} s)")
        for line in _finding_lines(outcome.findings):
            tqdm.write(line)

    start = time.perf_counter()
    try:
        outcomes = suite.run_suite(
            names,
            root,
            quick=quick,
            seeds=seeds,
            data_dir=data_dir,
            workers=workers,
            progress=progress,
            on_outcome=echo,
            device=device,
        )
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    done = [o.folder for o in outcomes if o.status == "done"]
    failed = {o.name: o.error for o in outcomes if o.status != "done"}
    index = report.write_index_report(root, done, failed=failed)
    click.echo(
        f"{len(done)}/{len(names)} experiments ran in {time.perf_counter() - start:.0f} s; index: {index}"
    )
    if failed:
        raise click.ClickException(f"{len(failed)} experiment(s) failed: {', '.join(failed)}")

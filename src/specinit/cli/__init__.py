"""The ``specinit`` command line: reproduce experiments, run sweeps, write reports, inspect a
model's start, list methods.  The only place in specinit that imports click.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click
from tqdm.auto import tqdm

from specinit import lab
from specinit._core.extras import MissingExtraError
from specinit.cli.inspect import inspect_command
from specinit.initializers import methods as init_methods
from specinit.lab import report, sweep
from specinit.lab.config import ConfigError
from specinit.lab.store import STORE_NAME, RunRecord, RunStore

__all__ = ["main"]

DATA_DIR_HELP = (
    "Folder holding mnist/ and fashion-mnist/ with the official IDX files "
    "(else $SPECINIT_DATA, else the embedded subsets: 2000 train / 1000 test images "
    "per dataset, enough for --quick)."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="specinit")
def main() -> None:
    """Specinit — how a neural network starts: initializers and spectral measurements."""


def _setting(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise click.BadParameter(f"{text!r} is not FIELD=VALUE", param_hint="--set")
    return key.strip(), value.strip()


@main.command()
@click.argument("experiment", required=False)
@click.option("--list", "list_", is_flag=True, help="List the experiments and exit.")
@click.option("--quick", is_flag=True, help="Small config that finishes in about a minute.")
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
    help="Replace a config field (repeatable), e.g. --set designs=64x10,16/4x101.",
)
@click.option("--progress/--no-progress", default=True, help="Show progress bars.")
def reproduce(
    experiment: str | None,
    list_: bool,
    quick: bool,
    seeds: int | None,
    out: Path | None,
    data_dir: Path | None,
    settings: tuple[str, ...],
    progress: bool,
) -> None:
    """Run EXPERIMENT (or 'all') and write results.json, CSV tables, PNG figures and a report
    (report.md and an offline report.html; for 'all' also an index report in --out).

    An interrupted run resumes: finished units in the output folder are kept and skipped.
    A run with different settings needs its own --out folder.
    """
    if list_:
        for name in lab.names():
            exp = lab.get(name)
            click.echo(f"{name:16s} {exp.title}  [{exp.source}]")
        return
    if experiment is None:
        raise click.UsageError("name an experiment (see --list) or 'all'")
    overrides = dict(_setting(text) for text in settings)
    if overrides and experiment == "all":
        raise click.UsageError("--set applies to one experiment, not 'all'")
    names = lab.names() if experiment == "all" else [experiment]
    if experiment != "all" and experiment not in lab.names():
        raise click.BadParameter(
            f"unknown experiment {experiment!r}; known: {', '.join(lab.names())}, all",
            param_hint="EXPERIMENT",
        )
    if overrides:
        try:
            lab.get(experiment).config(quick=quick, seeds=seeds, overrides=overrides)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--set") from None
    suffix = "-quick" if quick else ""
    root = out if out is not None else Path("runs") / f"{experiment}{suffix}"
    reports = []
    for name in names:
        folder = root / name if experiment == "all" else root
        try:
            rep = lab.run(
                name,
                quick=quick,
                seeds=seeds,
                out=folder,
                progress=progress,
                overrides=overrides,
                data_dir=data_dir,
            )
        except (FileNotFoundError, FileExistsError) as exc:
            raise click.ClickException(str(exc)) from None
        reports.append(rep)
        held, undecided = (
            sum(f.holds is True for f in rep.findings),
            sum(f.holds is None for f in rep.findings),
        )
        click.echo(
            f"{name}: {held}/{len(rep.findings)} findings hold, {undecided} not decided; "
            f"{rep.skipped} unit(s) reused; report: {rep.path / 'report.html'}"
        )
        for f in rep.findings:
            click.echo(
                f"  [{'??' if f.holds is None else 'ok' if f.holds else 'NO'}] {f.claim}: {f.evidence}"
            )
    if experiment == "all":
        click.echo(f"index: {report.write_index_report(root, [rep.path for rep in reports])}")


@main.command("methods")
def list_methods() -> None:
    """List the initialization methods ``specinit.init_`` accepts."""
    table = init_methods()
    width = max(map(len, table))
    for name, summary in table.items():
        click.echo(f"{name:{width}s}  {summary}")


@main.command("sweep", short_help="Run a sweep CONFIG (grid/list of fields × seeds), resumable.")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Sweep folder: sweep.sqlite, runs/, report (default runs/sweeps/<name>).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Runs at once (default: min(cores, runs to do); on Ray: the cluster's CPUs).",
)
@click.option(
    "--backend",
    type=click.Choice(sweep.BACKENDS),
    default="local",
    show_default=True,
    help="local: worker processes on this machine; ray: Ray tasks (pip install 'specinit[ray]').",
)
@click.option(
    "--address",
    default=None,
    help="Ray cluster address for --backend ray, e.g. 'auto' or 'ray://head:10001' "
    "(default: start a local Ray instance).",
)
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=DATA_DIR_HELP
)
@click.option("--dry-run", is_flag=True, help="List the runs and whether each is done; run nothing.")
@click.option("--progress/--no-progress", default=True, help="Show progress bars.")
def sweep_command(
    config: Path,
    out: Path | None,
    workers: int | None,
    backend: str,
    address: str | None,
    data_dir: Path | None,
    dry_run: bool,
    progress: bool,
) -> None:
    """Run the sweep described by CONFIG (TOML or YAML): one experiment over a grid or a list
    of config fields and seeds, one run per point × seed.

    \b
    experiment = "inr-depth"   # see `specinit reproduce --list`
    quick = true               # start from the quick config (default: full)
    seeds = [0, 1, 2]          # or a count: seeds = 3
    [set]                      # fields replaced in every run
    steps = 500
    [grid]                     # every combination of these values
    width = [32, 64]
    activations = ["relu", "sine(omega0=5)"]
    [[runs]]                   # and/or explicit points (each x the grid)
    depths = [1, 2]

    Each finished run is recorded in OUT/sweep.sqlite (one row per experiment, config, seed
    and specinit version) with versions, host, timings, its rows and metrics, or the
    traceback of a failure; its files go to OUT/runs/. A killed sweep loses no finished run:
    run the same command again and it skips what is done and retries what failed.  A failing
    run does not stop the sweep, but the exit status is 1 if any run failed.  The report
    (OUT/report.html, report.md) is written at the end; see also `specinit report OUT`.
    """  # noqa: D301 -- "\b" (a backspace) is click's marker for a paragraph it must not rewrap
    try:
        spec = sweep.load_sweep(config)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="CONFIG") from None
    if address is not None and backend != "ray":
        raise click.UsageError("--address needs --backend ray")
    out = out if out is not None else Path("runs") / "sweeps" / spec.name
    runs = sweep.plan(spec, data_dir)
    if dry_run:
        statuses = _statuses(out)
        for run in runs:
            click.echo(f"{statuses.get(run.key, 'todo'):6s} {run.key}  {run.label}")
        click.echo(
            f"{len(runs)} run(s) of {spec.experiment} ({len(spec.points)} point(s) x "
            f"{len(spec.seeds)} seed(s)); {sum(statuses.get(r.key) == 'done' for r in runs)} done"
        )
        return

    def echo(record: RunRecord) -> None:
        if record.status == "done":
            tqdm.write(f"done    {record.label} ({record.seconds:.1f} s)")
        else:
            last = (record.traceback or "").strip().splitlines()[-1:] or ["?"]
            tqdm.write(f"FAILED  {record.label}: {last[0]}")

    command = shlex.join(
        [
            "specinit",
            "sweep",
            str(config),
            "--out",
            str(out),
            *(["--data-dir", str(data_dir)] if data_dir is not None else []),
        ]
    )
    try:
        summary = sweep.run_sweep(
            spec,
            out,
            workers=workers,
            backend=backend,
            address=address,
            progress=progress,
            on_record=echo,
            command=command,
            data_dir=data_dir,
        )
    except (ValueError, RuntimeError, MissingExtraError) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted: finished runs are kept in {out / STORE_NAME}; run the same command to resume",
            err=True,
        )
        raise SystemExit(130) from None
    html_report = report.write_sweep_report(out)
    click.echo(
        f"sweep {spec.name}: {len(runs)} run(s): {summary.done} done, {summary.skipped} skipped "
        f"(already done), {summary.failed} failed in {summary.seconds:.1f} s"
    )
    click.echo(f"store: {summary.store}\nreport: {html_report}")
    if summary.failed:
        raise SystemExit(1)


def _statuses(out: Path) -> dict[str, str]:
    if not (out / STORE_NAME).is_file():
        return {}
    with RunStore(out / STORE_NAME) as store:
        return store.statuses()


@main.command("report", short_help="Write an offline HTML + Markdown report for a run or sweep.")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report_command(folder: Path) -> None:
    """Write an offline report.html (and report.md) for FOLDER.

    FOLDER is a run folder (from `specinit reproduce`), a sweep folder (from `specinit
    sweep`) or a folder of run folders (`specinit reproduce all`).  The report has the
    findings, every metric as mean ± 95% confidence interval across seeds, the figures
    (embedded for a run, linked for a sweep), the environment (versions, host) and the exact
    commands that reproduce it.  It needs no network: no scripts, no CDN.
    """
    try:
        written = report.write_report(folder)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"report: {written[0]}")
    if len(written) > 1:
        click.echo(f"and {len(written) - 1} run report(s) beside it")


main.add_command(inspect_command)

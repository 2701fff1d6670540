"""``specinit sweep``: one experiment over a grid of configs and seeds, resumable."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
from tqdm.auto import tqdm

from specinit._core.extras import MissingExtraError
from specinit.cli.options import DATA_DIR_HELP, DEVICE_HELP
from specinit.lab import report, sweep
from specinit.lab.config import ConfigError
from specinit.lab.store import STORE_NAME, RunRecord, RunStore

__all__ = ["sweep_command"]


@click.command("sweep", short_help="Run a sweep CONFIG (grid/list of fields × seeds), resumable.")
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
@click.option("--device", default=None, metavar="DEVICE", help=DEVICE_HELP + " Replaces every run's.")
@click.option(
    "--gpus-per-run",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Ray: GPUs each run reserves (a fraction shares a GPU), so runs with --device cuda fan "
    "out over the cluster's GPUs.",
)
@click.option(
    "--cpus-per-run",
    type=click.IntRange(min=1),
    default=None,
    help="CPUs (torch threads) each run gets; on Ray, the CPUs each task reserves "
    "(default: 1 on Ray, cores // workers locally).",
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
    device: str | None,
    gpus_per_run: float,
    cpus_per_run: int | None,
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
    if gpus_per_run and backend != "ray":
        raise click.UsageError("--gpus-per-run needs --backend ray (local runs share this machine's GPUs)")
    if device is not None:
        try:
            spec = sweep.on_device(spec, device)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--device") from None
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
            *(["--device", device] if device is not None else []),
            *(["--backend", backend] if backend != "local" else []),
            *(["--gpus-per-run", f"{gpus_per_run:g}"] if gpus_per_run else []),
            *(["--cpus-per-run", str(cpus_per_run)] if cpus_per_run is not None else []),
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
            num_gpus=gpus_per_run,
            num_cpus=cpus_per_run,
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

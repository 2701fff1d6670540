"""``specinit report``: an offline report for a run, a sweep or a folder of runs."""

from __future__ import annotations

from pathlib import Path

import click

from specinit.lab import report

__all__ = ["report_command"]


@click.command("report", short_help="Write an offline HTML + Markdown report for a run or sweep.")
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

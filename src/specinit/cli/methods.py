"""``specinit methods``: the initialization methods ``specinit.init_`` accepts."""

from __future__ import annotations

import click

from specinit.initializers import methods as init_methods

__all__ = ["list_methods"]


@click.command("methods", short_help="List the initialization methods specinit.init_ accepts.")
def list_methods() -> None:
    """List the initialization methods ``specinit.init_`` accepts."""
    table = init_methods()
    width = max(map(len, table))
    for name, summary in table.items():
        click.echo(f"{name:{width}s}  {summary}")

"""The ``specinit`` command line: reproduce experiments, run sweeps, write reports, inspect a
model's start, list methods.  The only place in specinit that imports click.

Each command lives in its own module, imported when the command runs (or shows its own
``--help``): ``specinit --help`` and ``specinit --version`` import no torch and answer at once.
"""

from __future__ import annotations

import importlib

import click

__all__ = ["COMMANDS", "main"]

#: Command name → (module, command object, the one line ``specinit --help`` shows).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "inspect": (
        "specinit.cli.inspect",
        "inspect_command",
        "Diagnose a model's start per layer; flag problems; suggest initializers.",
    ),
    "methods": (
        "specinit.cli.methods",
        "list_methods",
        "List the initialization methods specinit.init_ accepts.",
    ),
    "report": (
        "specinit.cli.report",
        "report_command",
        "Write an offline HTML + Markdown report for a run or sweep.",
    ),
    "reproduce": (
        "specinit.cli.reproduce",
        "reproduce",
        "Run EXPERIMENT (or 'all', in parallel) and write its results and report.",
    ),
    "sweep": (
        "specinit.cli.sweep",
        "sweep_command",
        "Run a sweep CONFIG (grid/list of fields × seeds), resumable.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands (:data:`COMMANDS`) load on first use; its help lists them from
    :data:`COMMANDS` without importing any.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, attr, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx) if name in COMMANDS]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="specinit")
def main() -> None:
    """Specinit — how a neural network starts: initializers and spectral measurements."""

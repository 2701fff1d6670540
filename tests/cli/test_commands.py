"""The command group: commands load on first use, so `specinit --help` and `--version` import
no torch; the list `--help` shows is the commands' own one-line help."""

import subprocess
import sys

import click

from specinit import __version__
from specinit.cli import COMMANDS, main


def _run(args: list[str]) -> subprocess.CompletedProcess:
    code = (
        "import sys\n"
        "from specinit.cli import main\n"
        "try:\n"
        f"    main({args!r}, prog_name='specinit')\n"
        "except SystemExit as exit:\n"
        "    heavy = sorted({'torch', 'numpy', 'specinit.lab'} & set(sys.modules))\n"
        "    print('HEAVY', heavy, exit.code)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)


def test_help_imports_no_torch_and_lists_every_command():
    out = _run(["--help"]).stdout
    assert out.strip().endswith("HEAVY [] 0")
    for name, (_, _, text) in COMMANDS.items():
        assert name in out and text.split()[0] in out


def test_version_imports_no_torch():
    out = _run(["--version"]).stdout
    assert f"specinit, version {__version__}" in out and out.strip().endswith("HEAVY [] 0")


def test_listed_help_is_each_commands_own():
    ctx = click.Context(main, info_name="specinit")
    assert main.list_commands(ctx) == sorted(COMMANDS)
    for name, (_, _, text) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=300) == text


def test_an_unknown_command_is_one_error_line():
    out = subprocess.run([sys.executable, "-m", "specinit", "nosuch"], capture_output=True, text=True)
    assert out.returncode == 2 and "No such command 'nosuch'" in out.stderr

"""The ``specinit`` command (and ``python -m specinit``): the command line of :mod:`specinit.cli`.

The command line needs the ``lab`` extra (click, matplotlib, …); without it this prints one line
naming the extra instead of an import traceback.
"""

from __future__ import annotations

import sys

from specinit._core.extras import MissingExtraError, check_extra


def main() -> None:
    """Run the ``specinit`` command line."""
    try:
        check_extra("lab", "the specinit command")
    except MissingExtraError as err:
        sys.exit(f"specinit: {err}")
    from specinit.cli import main as command

    command(prog_name="specinit")


if __name__ == "__main__":
    main()

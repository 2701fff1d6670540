"""Optional dependencies: which extra installs a package, and one clear error when it is missing.

``pip install specinit`` gives the initializers and the measurements (torch, NumPy, SciPy,
tqdm).  Plots, the scikit-learn estimators, the lab (experiments, reports, the command line)
and Ray sweeps need extras; code that needs one imports it inside :func:`needs_extra`, or checks
up front with :func:`check_extra` before a long run, so a missing package is reported as
``pip install 'specinit[<extra>]'`` instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["EXTRAS", "MissingExtraError", "check_extra", "needs_extra"]

#: The top-level modules each extra provides (the names ``pyproject.toml`` installs for it).
EXTRAS: dict[str, tuple[str, ...]] = {
    "plot": ("matplotlib",),
    "sklearn": ("sklearn",),
    "lab": ("click", "markdown", "yaml", "matplotlib", "sklearn")
    + (("tomli",) if sys.version_info < (3, 11) else ()),
    "ray": ("ray",),
}
#: Distribution names that differ from the module name, for the message.
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "PyYAML"}


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def _error(extra: str, module: str, purpose: str) -> MissingExtraError:
    package = _DISTRIBUTIONS.get(module, module)
    return MissingExtraError(
        f"{purpose} needs {package}, which is not installed: pip install 'specinit[{extra}]'",
        name=module,
    )


@contextmanager
def needs_extra(extra: str, purpose: str) -> Iterator[None]:
    """Turn a missing module of ``extra`` imported in the block into a :class:`MissingExtraError`.

    Only the modules that ``extra`` installs are translated; any other import error propagates
    unchanged.
    """
    modules = EXTRAS[extra]
    try:
        yield
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".")[0]
        if top not in modules:
            raise
        raise _error(extra, top, purpose) from err


def check_extra(extra: str, purpose: str) -> None:
    """Raise :class:`MissingExtraError` unless every module of ``extra`` can be imported."""
    for module in EXTRAS[extra]:
        if importlib.util.find_spec(module) is None:
            raise _error(extra, module, purpose)

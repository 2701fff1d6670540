"""Old module paths of specinit 0.1 keep importing for one release, with a DeprecationWarning.

``import specinit.curvature`` (or ``from specinit.curvature import hessian_trace``, or the
attribute ``specinit.curvature``) gives the module at its new place in the layered package,
``specinit.measure.curvature``, and says so.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from specinit._core.deprecation import warn_deprecated

__all__ = ["MOVED", "install", "moved_module"]

#: Old dotted module path → new one.
MOVED: dict[str, str] = {
    "specinit.activations": "specinit.nn.activations",
    "specinit.models": "specinit.nn.models",
    "specinit.spectrum": "specinit.measure.spectrum",
    "specinit.layer_spectra": "specinit.measure.layer_spectra",
    "specinit.propagation": "specinit.measure.propagation",
    "specinit.bandwidth": "specinit.measure.bandwidth",
    "specinit.curvature": "specinit.measure.curvature",
    "specinit.kernels": "specinit.measure.kernels",
    "specinit.shallow": "specinit.measure.hyperplanes",
    "specinit.readout": "specinit.initializers.readout",
    "specinit.initializers.bandwidth": "specinit.initializers.pretrain",
    "specinit.pinn": "specinit.training.pinn",
    "specinit.results": "specinit.lab.results",
    "specinit.store": "specinit.lab.store",
    "specinit.sweep": "specinit.lab.sweep",
    "specinit.report": "specinit.lab.report",
    "specinit.experiments": "specinit.lab",
    "specinit.experiments.base": "specinit.lab.experiment",
    "specinit.experiments.common": "specinit.lab.tasks",
    **{
        f"specinit.experiments.{name}": f"specinit.lab.experiments.{name}"
        for name in (
            "bandwidth_1d",
            "flat_minima",
            "hyperplanes",
            "inr_depth",
            "kernel_bias",
            "oddsig_data",
            "oddsig_depth",
            "oddsig_pinn",
            "oddsig_sensitivity",
            "random_label",
            "spectral_bias",
            "swim_1d",
            "swim_mnist",
        )
    },
}


def moved_module(old: str) -> ModuleType:
    """The module ``old`` now lives at, imported, with a DeprecationWarning naming the new path."""
    new = MOVED[old]
    warn_deprecated(
        f"{old} moved to {new} (specinit 0.2); the old path will be removed in the next release", stacklevel=4
    )
    return importlib.import_module(new)


class _Loader(importlib.abc.Loader):
    def __init__(self, old: str) -> None:
        self.old = old

    def create_module(self, spec: Any) -> ModuleType:
        return moved_module(self.old)

    def exec_module(self, module: ModuleType) -> None:
        sys.modules[self.old] = module  # the new module itself answers to the old name


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _Loader(fullname))


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())

"""Small helpers shared by the package's modules (no dependencies inside specinit)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn


@contextmanager
def module_mode(model: nn.Module, training: bool) -> Iterator[nn.Module]:
    """Put ``model`` (all submodules) in train or eval mode; restore every submodule's own mode after."""
    saved = [(module, module.training) for module in model.modules()]
    model.train(training)
    try:
        yield model
    finally:
        for module, flag in saved:
            module.training = flag

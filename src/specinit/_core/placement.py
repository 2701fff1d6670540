"""The one rule for where a model lives and how it is measured without being changed.

:func:`placement` gives a module's device and floating dtype (its first floating parameter,
else buffer); :func:`module_mode` sets train/eval mode and restores every submodule's own mode;
:func:`untouched` also restores every buffer (BatchNorm running statistics).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["placement", "has_floating_state", "module_mode", "untouched"]


def placement(
    module: nn.Module, default_dtype: torch.dtype | None = None
) -> tuple[torch.device, torch.dtype]:
    """``(device, dtype)`` of ``module``'s first floating parameter, else its first floating
    buffer; a module with neither gives the CPU and ``default_dtype`` (default: torch's default
    dtype).
    """
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        if tensor.is_floating_point():
            return tensor.device, tensor.dtype
    return torch.device("cpu"), default_dtype or torch.get_default_dtype()


def has_floating_state(module: nn.Module) -> bool:
    """Whether ``module`` owns a floating parameter or buffer (so :func:`placement` is its own)."""
    return any(t.is_floating_point() for t in itertools.chain(module.parameters(), module.buffers()))


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


@contextmanager
def untouched(model: nn.Module, training: bool) -> Iterator[None]:
    """Set the mode for a measurement; restore every submodule's mode and every buffer after."""
    saved = [(buffer, buffer.detach().clone()) for buffer in model.buffers()]
    with module_mode(model, training=training):
        try:
            yield
        finally:
            with torch.no_grad():
                for buffer, value in saved:
                    buffer.copy_(value)

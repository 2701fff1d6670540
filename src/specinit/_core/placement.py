"""The one rule for where a model lives and how it is measured without being changed.

:func:`placement` gives a module's device and floating dtype (its first floating parameter,
else buffer); :func:`module_mode` sets train/eval mode and restores every submodule's own mode;
:func:`untouched` also restores every buffer (BatchNorm running statistics).

Devices: :func:`device_name` checks that a text names a device (``cpu``, ``cuda``, ``cuda:1``,
``mps``) without asking whether this machine has it; :func:`resolve_device` also refuses, in one
line, a device this machine lacks; :func:`to_device` moves a module, a tensor or a record of
tensors there.  :func:`full_precision` runs a measurement outside any autocast region.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, ParamSpec, TypeVar

import torch
from torch import nn

__all__ = [
    "placement",
    "has_floating_state",
    "module_mode",
    "untouched",
    "DeviceUnavailableError",
    "device_name",
    "resolve_device",
    "to_device",
    "full_precision",
    "autocast_off",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

#: Device types the lab accepts (a GPU of another kind works in Python through ``to_device``).
DEVICE_TYPES = ("cpu", "cuda", "mps")


class DeviceUnavailableError(ValueError):
    """A device this machine does not have (``--device cuda`` without a CUDA GPU); one line."""


def device_name(device: str | torch.device) -> str:
    """``device`` as a canonical name (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``), or a
    ``ValueError`` for text that names no device; whether this machine has it is not asked.

    >>> device_name(" CUDA:1 ")
    'cuda:1'
    """
    text = str(device).strip().lower()
    try:
        parsed = torch.device(text)
    except RuntimeError:
        parsed = None
    if parsed is None or parsed.type not in DEVICE_TYPES or (parsed.type == "cpu" and parsed.index):
        raise ValueError(f"device {str(device)!r} is not a device name; use cpu, cuda, cuda:N or mps")
    return str(parsed)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The ``torch.device`` named by ``device`` (``None``: the CPU), refused with a one-line
    :class:`DeviceUnavailableError` when this machine does not have it.
    """
    if device is None:
        return torch.device("cpu")
    parsed = torch.device(device_name(device))
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            build = (
                "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            )
            raise DeviceUnavailableError(
                f"device {str(device)!r} is not available: torch.cuda.is_available() is False "
                f"(torch {torch.__version__}, {build}, sees no CUDA GPU); use --device cpu"
            )
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            raise DeviceUnavailableError(
                f"device {str(device)!r} is not available: torch.cuda.device_count() is {count} "
                f"(GPUs cuda:0..cuda:{count - 1})"
            )
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailableError(
            f"device {str(device)!r} is not available: torch.backends.mps.is_available() is False "
            "(MPS needs Apple silicon and macOS 12.3+); use --device cpu"
        )
    return parsed


def to_device(obj: T, device: str | torch.device) -> T:
    """``obj`` with its tensors on ``device``: a module is moved in place and returned, a tensor
    copied there (itself when it is there already), a dataclass record rebuilt with its fields
    moved, tuples, lists and dicts item by item; anything else is returned as it is.

    The dtype never changes: this is the lab's one way to put models and data on its device.
    """
    target = torch.device(device)
    return _moved(obj, target)


def _moved(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, nn.Module):
        return obj.to(device)
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: _moved(getattr(obj, f.name), device) for f in dataclasses.fields(obj) if f.init}
        return dataclasses.replace(obj, **changes)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
        return type(obj)(*(_moved(v, device) for v in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_moved(v, device) for v in obj)
    if isinstance(obj, dict):
        return {k: _moved(v, device) for k, v in obj.items()}
    return obj


def _autocast_types() -> list[str]:
    """The device types autocast may be on in this process (CUDA and MPS only where present)."""
    types = ["cpu"]
    if torch.cuda.is_available():
        types.append("cuda")
    if torch.backends.mps.is_available():
        types.append("mps")
    return types


@contextmanager
def autocast_off() -> Iterator[None]:
    """A region where no autocast is on (CPU, CUDA or MPS), whatever the caller turned on:
    curvature and kernel measurements run here in the model's own dtype.
    """
    with ExitStack() as stack:
        for kind in _autocast_types():
            stack.enter_context(torch.autocast(device_type=kind, enabled=False))
        yield


def full_precision(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a measurement so it runs in :func:`autocast_off` even when called inside
    ``torch.autocast`` (mixed precision is for training; a Hessian or NTK in bfloat16 is noise).
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with autocast_off():
            return fn(*args, **kwargs)

    return wrapper


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

"""Compact reprs for result records: no array is dumped, long collections are counted.

A record class sets ``__repr__ = compact_repr`` in its body (a frozen dataclass keeps a
``__repr__`` defined there): arrays and tensors print as their shape and dtype, long sequences
and mappings as their length, nested records in the same compact form.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

__all__ = ["compact_repr", "short"]

_MAX_ITEMS = 6  # a tuple, list or dict with more items is shown by its length


def short(value: Any, depth: int = 0) -> str:
    """One value in a record's repr."""
    if isinstance(value, torch.Tensor):
        if value.ndim == 0:
            return f"tensor({value.item():.6g})" if value.is_floating_point() else f"tensor({value.item()})"
        dtype = str(value.dtype).removeprefix("torch.")
        where = "" if value.device.type == "cpu" else f", {value.device}"
        return f"<tensor {tuple(value.shape)} {dtype}{where}>"
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return repr(value.item())
        return f"<array {value.shape} {value.dtype}>"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, torch.nn.Module):
        return f"<{type(value).__name__}>"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return repr(value) if depth == 0 else f"<{type(value).__name__}>"
    if isinstance(value, (list, tuple)):
        if len(value) > _MAX_ITEMS or any(_bulky(v) for v in value):
            kinds = {type(v).__name__ for v in value}
            kind = kinds.pop() if len(kinds) == 1 else "item"
            plural = "" if len(value) == 1 else ("es" if kind.endswith("s") else "s")
            return f"<{len(value)} {kind}{plural}>"
        inner = ", ".join(short(v, depth + 1) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, dict):
        if len(value) > _MAX_ITEMS or any(_bulky(v) for v in value.values()):
            return f"<dict of {len(value)}>"
        return "{" + ", ".join(f"{k!r}: {short(v, depth + 1)}" for k, v in value.items()) + "}"
    return repr(value)


def _bulky(value: Any) -> bool:
    return (dataclasses.is_dataclass(value) and not isinstance(value, type)) or isinstance(
        value, (list, tuple, dict)
    )


def compact_repr(self: Any) -> str:
    """``Name(field=value, ...)`` over the dataclass fields shown in repr, each :func:`short`."""
    shown = [f for f in dataclasses.fields(self) if f.repr]
    body = ", ".join(f"{f.name}={short(getattr(self, f.name), 1)}" for f in shown)
    return f"{type(self).__name__}({body})"

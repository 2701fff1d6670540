"""The one rule for randomness: ``generator=`` is an int seed, a ``torch.Generator`` or ``None``.

``None`` means PyTorch's global RNG, as in ``torch.nn.init``; an int ``s`` means
``torch.Generator().manual_seed(s)``.  Code that must seed something other than a torch
generator (NumPy, ARPACK's start vector, the global RNG inside :func:`fork_rng`) draws one int
from the generator with :func:`derive_seed`; an int seed is used as it is.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

GeneratorLike = int | torch.Generator | None

__all__ = ["GeneratorLike", "as_generator", "derive_seed", "fork_rng", "independent_generators"]


def as_generator(generator: GeneratorLike, name: str = "generator") -> torch.Generator | None:
    """A ``torch.Generator`` from an int seed, the generator itself, or ``None`` (global RNG).

    >>> g = as_generator(3)
    >>> bool(torch.equal(torch.rand(2, generator=g), torch.rand(2, generator=as_generator(3))))
    True
    """
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, (numbers.Integral, np.integer)) and not isinstance(generator, (bool, np.bool_)):
        if int(generator) < 0:
            raise ValueError(f"{name} must be a non-negative int seed, got {generator}")
        return torch.Generator().manual_seed(int(generator))
    raise TypeError(f"{name} must be a torch.Generator, an int seed or None, got {generator!r}")


def derive_seed(generator: GeneratorLike, name: str = "generator") -> int:
    """An int seed: an int is returned as it is; a generator (or the global RNG for ``None``)
    gives one draw in ``[0, 2^31 − 1)``.
    """
    if isinstance(generator, (numbers.Integral, np.integer)) and not isinstance(generator, (bool, np.bool_)):
        if int(generator) < 0:
            raise ValueError(f"{name} must be a non-negative int seed, got {generator}")
        return int(generator)
    gen = as_generator(generator, name)
    return int(torch.randint(0, 2**31 - 1, (), generator=gen).item())


@contextmanager
def fork_rng(seed: int, device: torch.device | str | None = None) -> Iterator[None]:
    """Seed PyTorch's global RNGs (the CPU's, and ``device``'s when it is CUDA) with ``seed``
    inside a fork: the caller's RNG state is restored on exit (dropout masks and other layers
    that draw from the global RNG become reproducible without touching the caller's state).
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    cuda = []
    if device.type == "cuda":
        cuda = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        for index in cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


def independent_generators(generator: GeneratorLike, n: int) -> list[torch.Generator]:
    """``n`` independent CPU generators derived deterministically from ``generator``.

    One base seed is drawn from ``generator`` (the global RNG for ``None``); generator ``i`` is
    seeded with ``SeedSequence([base, i])``, so no two share a stream.
    """
    gen = as_generator(generator)
    base = int(torch.randint(2**62, (), generator=gen))
    states = (np.random.SeedSequence([base, i]).generate_state(1, np.uint64)[0] for i in range(n))
    return [torch.Generator().manual_seed(int(state) >> 1) for state in states]

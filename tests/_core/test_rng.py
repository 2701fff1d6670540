"""The one seed → generator rule (specinit._core.rng)."""

import numpy as np
import pytest
import torch

from specinit._core.rng import as_generator, derive_seed, fork_rng, independent_generators


def test_int_seed_generator_and_none():
    a, b = as_generator(5), as_generator(np.int64(5))
    assert torch.equal(torch.rand(4, generator=a), torch.rand(4, generator=b))
    g = torch.Generator().manual_seed(1)
    assert as_generator(g) is g
    assert as_generator(None) is None


@pytest.mark.parametrize(
    "bad, error", [(1.5, TypeError), ("3", TypeError), (True, TypeError), (-1, ValueError)]
)
def test_bad_generators_are_refused(bad, error):
    with pytest.raises(error, match="generator"):
        as_generator(bad)


def test_derive_seed_keeps_ints_and_draws_from_generators():
    assert derive_seed(7) == 7
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    s1, s2 = derive_seed(g1), derive_seed(g2)
    assert s1 == s2 and 0 <= s1 < 2**31 - 1
    assert derive_seed(g1) != s1  # the generator advanced


def test_fork_rng_seeds_inside_and_restores_the_callers_state():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    with fork_rng(9):
        inside = torch.rand(3)
    assert torch.equal(torch.get_rng_state(), before)
    with fork_rng(9):
        assert torch.equal(torch.rand(3), inside)


def test_independent_generators_are_deterministic_and_distinct():
    a = [torch.rand(3, generator=g) for g in independent_generators(4, 3)]
    b = [torch.rand(3, generator=g) for g in independent_generators(4, 3)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], a[1]) and not torch.equal(a[1], a[2])

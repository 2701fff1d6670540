"""Compact reprs of result records (specinit._core.records)."""

from dataclasses import dataclass

import numpy as np
import torch

from specinit._core.records import compact_repr, short


@dataclass(frozen=True)
class Record:
    estimate: float
    samples: np.ndarray
    vectors: torch.Tensor
    rows: tuple
    name: str = "x"

    __repr__ = compact_repr


def test_arrays_and_long_sequences_are_not_dumped():
    record = Record(
        1.0 / 3.0, np.arange(10_000.0), torch.zeros(500, 3, dtype=torch.float64), tuple(range(100))
    )
    text = repr(record)
    assert text == (
        "Record(estimate=0.333333, samples=<array (10000,) float64>, "
        "vectors=<tensor (500, 3) float64>, rows=<100 ints>, name='x')"
    )


def test_short_values_stay_readable():
    assert short((1, 2)) == "(1, 2)" and short([0.5]) == "[0.5]"
    assert short({"a": 1}) == "{'a': 1}" and short(torch.tensor(2.5)) == "tensor(2.5)"
    assert short(np.float64(3.0)) == "3" and short(np.array(2)) == "2"

"""The shared validators: numbers are type-checked before their value is."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from specinit._core.checks import check_float, check_int, check_positive


@pytest.mark.parametrize("value", [True, False, np.bool_(True), torch.tensor(True)])
def test_bools_are_not_numbers(value):
    with pytest.raises(TypeError, match="lr must be a real number"):
        check_positive(value, "lr")
    with pytest.raises(TypeError, match="cutoff must be a real number"):
        check_float(value, "cutoff")
    with pytest.raises(TypeError, match="steps must be an integer"):
        check_int(value, "steps")


@pytest.mark.parametrize("value", ["1.0", None, [1.0], np.ones(2), torch.ones(2), 1 + 2j])
def test_non_numbers_name_the_parameter(value):
    with pytest.raises(TypeError, match=r"gain must be a real number, got .*\(\w+\)"):
        check_positive(value, "gain")
    with pytest.raises(TypeError, match="lo must be a real number"):
        check_float(value, "lo")


@pytest.mark.parametrize("value", [2, 2.5, np.float32(2.5), np.int64(3), np.array(2.5), torch.tensor(2.5)])
def test_real_scalars_are_accepted(value):
    check_positive(value, "x")
    assert check_float(value, "x") == float(value)
    assert isinstance(check_float(value, "x"), float)


@pytest.mark.parametrize(
    "value, allow_zero", [(0.0, False), (-1.0, True), (math.inf, True), (math.nan, False)]
)
def test_check_positive_values(value, allow_zero):
    kind = "non-negative" if allow_zero else "positive"
    with pytest.raises(ValueError, match=f"x must be a finite {kind} number"):
        check_positive(value, "x", allow_zero=allow_zero)
    check_positive(0.0, "x", allow_zero=True)


def test_check_float_rejects_non_finite():
    for value in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError, match="hi must be finite"):
            check_float(value, "hi")


def test_check_int():
    assert check_int(np.int32(4), "n") == 4 and type(check_int(np.int32(4), "n")) is int
    assert check_int(0, "n", minimum=0) == 0
    with pytest.raises(ValueError, match="n must be an integer >= 2, got 1"):
        check_int(1, "n", minimum=2)
    for bad in (2.0, "2", None, torch.tensor(2)):
        with pytest.raises(TypeError, match=r"n must be an integer, got .* \(\w+\)"):
            check_int(bad, "n")

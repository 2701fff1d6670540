"""Grids, windows and the one one-sided transform (specinit._core.fourier)."""

import math

import numpy as np
import pytest

from specinit._core.fourier import (
    bin_index,
    check_interval,
    fold_factors,
    grid,
    nyquist,
    one_sided,
    power_fractions,
    window_weights,
)


@pytest.mark.parametrize("window", ["none", "hann", "tukey"])
def test_on_bin_sinusoid_reads_its_amplitude(window):
    x = grid(0.0, 1.0, 64)
    values = 3.0 * np.sin(2 * math.pi * 5 * x) + 0.5
    amplitude = np.abs(one_sided(values, window_weights(window, 64), 64))
    tolerance = 1e-5 if window == "tukey" else 1e-12  # Tukey's flat top leaks a little of the mean
    assert amplitude[5] == pytest.approx(3.0, rel=tolerance)
    assert amplitude[0] == pytest.approx(0.5, rel=tolerance)


def test_power_fractions_obey_parseval_and_find_the_frequency():
    x = grid(0.0, 1.0, 32)
    v = np.stack([np.cos(2 * math.pi * 5 * x), np.sin(2 * math.pi * 3 * x) + 1.0], axis=1)
    fractions = power_fractions(v)
    assert fractions.shape == (2, 17)
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0, rtol=1e-12)
    assert fractions[0, 5] == pytest.approx(1.0)
    assert fractions[1, 0] == pytest.approx(1 / 1.5) and fractions[1, 3] == pytest.approx(0.5 / 1.5)


def test_fold_factors_and_nyquist():
    assert fold_factors(8).tolist() == [1, 2, 2, 2, 1]
    assert fold_factors(7).tolist() == [1, 2, 2, 2]
    assert nyquist(-1.0, 1.0, 10) == 2.5


def test_bad_intervals_windows_and_frequencies():
    with pytest.raises(ValueError, match="lo < hi"):
        check_interval(1.0, 0.0, 8)
    with pytest.raises(ValueError, match="at least 4"):
        check_interval(0.0, 1.0, 3)
    with pytest.raises(ValueError, match="unknown window"):
        window_weights("kaiser", 8)
    with pytest.raises(ValueError, match="taper"):
        window_weights("tukey", 8, taper=0.0)
    with pytest.raises(ValueError, match="Nyquist"):
        bin_index(9.0, 1.0, 9, 8.0, "freqs")

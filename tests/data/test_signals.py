"""1D signals (specinit.data.signals): the between-samples test points."""

import pytest
import torch

from specinit.data import between_samples, sample_1d, sinusoids


def test_test_points_lie_strictly_between_the_training_samples():
    x, _ = sample_1d(sinusoids(1.0), -1.0, 1.0, step=0.1, endpoint=True)
    xt = between_samples(x, 3)
    assert xt.shape == (3 * (len(x) - 1), 1)
    gaps = (xt - x.T).abs().min(dim=1).values
    assert float(gaps.min()) == pytest.approx(0.1 / 4, rel=1e-5)
    expected = torch.tensor([[0.25], [0.5], [0.75], [1.25], [1.5], [1.75]])
    assert torch.allclose(between_samples(torch.tensor([[0.0], [1.0], [2.0]]), 3), expected)


@pytest.mark.parametrize(
    "x, per_gap, message",
    [
        (torch.zeros(3), 1, "shape"),
        (torch.tensor([[0.0], [2.0], [1.0]]), 1, "strictly increasing"),
        (torch.tensor([[0.0], [1.0]]), 0, "per_gap"),
        (torch.tensor([[0.0], [float("nan")]]), 1, "NaN"),
    ],
)
def test_between_samples_rejects_bad_input(x, per_gap, message):
    with pytest.raises(ValueError, match=message):
        between_samples(x, per_gap)

"""Transforms fitted on a training part (specinit.data.transforms)."""

import numpy as np
import pytest
import torch

from specinit.data import Split, pca_project, standardize


def test_pca_projection_is_centred_and_ordered_by_variance():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 6, generator=g) * torch.tensor([5.0, 1.0, 3.0, 0.1, 2.0, 0.5])
    xt = torch.randn(20, 6, generator=g)
    p, pt = pca_project(x, xt, 3)
    assert p.shape == (200, 3) and pt.shape == (20, 3)
    assert torch.allclose(p.mean(0), torch.zeros(3), atol=1e-4)
    var = p.var(0)
    reference = np.sort(np.linalg.eigvalsh(np.cov(x.numpy().T)))[::-1][:3]
    assert np.allclose(var.numpy(), reference, rtol=1e-4)
    with pytest.raises(ValueError, match="pca_dim 7 exceeds"):
        pca_project(x, xt, 7)


def test_standardize_uses_training_statistics_only():
    x = torch.tensor([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    split = Split(x, torch.tensor([0, 1, 0]), torch.tensor([[2.0, 6.0]]), torch.tensor([1]))
    glob = standardize(split)
    assert glob.x_train.mean().item() == pytest.approx(0.0, abs=1e-7)
    assert glob.x_train.std().item() == pytest.approx(1.0)
    per = standardize(split, per_feature=True)
    # column 0: mean 2, std 2; column 1 is constant: centred, std kept at 1
    assert per.x_train[:, 0].tolist() == pytest.approx([-1.0, 0.0, 1.0])
    assert per.x_train[:, 1].tolist() == [0.0, 0.0, 0.0]
    assert per.x_test[0].tolist() == pytest.approx([0.0, 1.0])

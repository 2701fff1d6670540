"""Transforms fitted on the training part of a split and applied to both parts."""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

from specinit._core.checks import check_int
from specinit.data.splits import Split

__all__ = ["standardize", "pca_project"]


def standardize(split: Split, *, per_feature: bool = False) -> Split:
    """``x ← (x − μ) / σ`` on both parts with ``μ, σ`` of the training part.

    ``per_feature=False``: one global mean and (unbiased) std over all training values; ``True``:
    one per feature (column), a constant feature keeping ``σ = 1``.

    >>> t = torch.tensor
    >>> s = Split(t([[0.0], [2.0]]), t([0, 1]), t([[4.0]]), t([1]))
    >>> round(standardize(s).x_test.item(), 4)  # (4 − 1) / std(0, 2) = 3/√2
    2.1213
    """
    if per_feature:
        mean, std = split.x_train.mean(dim=0), split.x_train.std(dim=0)
        std = torch.where(std > 0, std, torch.ones_like(std))
    else:
        mean, std = split.x_train.mean(), split.x_train.std()
    return dataclasses.replace(
        split, x_train=(split.x_train - mean) / std, x_test=(split.x_test - mean) / std
    )


def pca_project(x_train: Tensor, x_test: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """Both sets centred on the training mean and projected on the training set's top ``dim``
    right singular vectors (deterministic SVD in float64; signs fixed so each vector's largest
    entry is positive); returned in float32.

    >>> a, b = pca_project(torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.1]]), torch.zeros(1, 2), 1)
    >>> a.shape, b.shape
    (torch.Size([3, 1]), torch.Size([1, 1]))
    """
    dim = check_int(dim, "dim")
    if dim > min(x_train.shape):
        raise ValueError(f"pca_dim {dim} exceeds min(n_train, features) = {min(x_train.shape)}")
    mean = x_train.mean(0)
    _, _, vh = torch.linalg.svd((x_train - mean).double(), full_matrices=False)
    basis = vh[:dim]
    basis = basis * torch.sign(basis.gather(1, basis.abs().argmax(1, keepdim=True)))
    return (((x_train - mean).double() @ basis.T).float(), ((x_test - mean).double() @ basis.T).float())

"""Labelled data: train/test splits, class-balanced subsets, shuffled labels, digits.

Every random choice takes ``generator=`` (an int seed, a ``torch.Generator`` or ``None`` for
PyTorch's global RNG); the same seed gives the same split, subset and shuffled labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from specinit._core.checks import as_tensor, check_int, check_same_length
from specinit._core.deprecation import renamed_kwargs
from specinit._core.extras import needs_extra
from specinit._core.rng import GeneratorLike, as_generator

__all__ = [
    "Split",
    "digits",
    "random_labels",
    "balanced_subset",
    "balanced_indices",
    "train_val_split",
]


def _labels(y: Tensor | np.ndarray, name: str = "y") -> Tensor:
    """Integer class labels as a 1D int64 tensor (floating labels must hold whole numbers)."""
    t = as_tensor(y, name)
    if t.dim() != 1:
        raise ValueError(f"{name} must be a 1D tensor of class labels, got shape {tuple(t.shape)}")
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels, got dtype {t.dtype}")
    return t.long()


@renamed_kwargs(seed="generator")
def random_labels(y: Tensor | np.ndarray, *, generator: GeneratorLike) -> Tensor:
    """Labels shuffled across samples: ``y[π]`` for a random permutation ``π`` drawn from ``generator``.

    Class counts are kept exactly, but each label becomes independent of its input, so a
    network trained on them must memorize: the high-bandwidth ("pre-train on randomly shuffled
    labels") initialization of arXiv 2206.08558. With ``C`` balanced classes about
    ``1 - 1/C`` of the labels change.
    """
    labels = as_tensor(y, "y")
    if labels.dim() != 1:
        raise ValueError(f"y must be a 1D tensor of labels, got shape {tuple(labels.shape)}")
    order = torch.randperm(labels.shape[0], generator=as_generator(generator))
    return labels[order.to(labels.device)].clone()


def _classes(labels: Tensor) -> tuple[Tensor, Tensor]:
    """The distinct classes and the number of samples of each."""
    return torch.unique(labels, sorted=True, return_counts=True)


def _balanced_counts(counts: Tensor, n: int, g: torch.Generator | None) -> Tensor:
    """Samples per class summing to ``n``, as equal as the class sizes allow (water-filling).

    Each class gets ``min(count_c, L)`` for the largest level ``L`` that does not exceed
    ``n``; the remaining ``r`` samples go one each to ``r`` of the classes still above ``L``,
    chosen at random from ``g``.
    """
    level = 0
    for candidate in sorted(set(counts.tolist())):
        if int(torch.clamp(counts, max=candidate).sum()) > n:
            break
        level = candidate
    take = torch.clamp(counts, max=level)
    open_classes = (counts > level).nonzero().flatten()
    if open_classes.numel():
        # spare < len(open_classes) * (next distinct count - level), so no class overflows
        spare = n - int(take.sum())
        step = spare // open_classes.numel()
        take[open_classes] += step
        spare -= step * open_classes.numel()
        if spare:  # fewer than len(open_classes): one extra each for a random few
            chosen = open_classes[torch.randperm(open_classes.numel(), generator=g)[:spare]]
            take[chosen] += 1
    return take


def balanced_indices(labels: Tensor, n: int, g: torch.Generator | None) -> Tensor:
    """Sorted indices of a class-balanced random subset of ``n`` samples of the class ``labels``
    (see :func:`balanced_subset`), drawn from ``g``.
    """
    n = check_int(n, "n")
    classes, counts = _classes(labels)
    if n < classes.numel():
        raise ValueError(
            f"n={n} is smaller than the number of classes ({classes.numel()}); "
            "a balanced subset needs at least one sample per class"
        )
    if n > labels.shape[0]:
        raise ValueError(f"n={n} is larger than the {labels.shape[0]} samples available")
    take = _balanced_counts(counts, n, g)
    picked = []
    for cls, k in zip(classes.tolist(), take.tolist(), strict=True):
        members = (labels == cls).nonzero().flatten()
        picked.append(members[torch.randperm(members.numel(), generator=g)[:k]])
    return torch.cat(picked).sort().values


@renamed_kwargs(seed="generator")
def balanced_subset(
    x: Tensor | np.ndarray, y: Tensor | np.ndarray, n: int, *, generator: GeneratorLike
) -> tuple[Tensor, Tensor]:
    """``n`` samples drawn at random with class counts as equal as possible.

    With ``C`` classes each gets ``n // C`` and ``n % C`` random classes one more (100 of 10
    classes: 10 each); a class with too few samples gives all it has and the others share the
    rest. The subset keeps the original order. Errors when ``n`` exceeds the samples available
    or is smaller than the number of classes.
    """
    xt, yt = as_tensor(x, "x"), as_tensor(y, "y")
    check_same_length(xt, yt, "x", "y")
    index = balanced_indices(_labels(yt), n, as_generator(generator))
    return xt[index.to(xt.device)], yt[index.to(yt.device)]


def _split_counts(counts: Tensor, fraction: float) -> Tensor:
    """Per-class held-out counts: ``round(fraction · N)`` in all, by largest-remainder rounding.

    A class never gives away all its samples (at most ``count − 1`` are held out); a rounding
    unit that would empty a class goes to the next class by remainder instead, so the total
    falls short of ``round(fraction · N)`` only when every class is down to one kept sample.
    """
    quota = counts.double() * fraction
    held = quota.floor().long()  # <= count - 1 already, since fraction < 1
    missing = round(float(counts.sum()) * fraction) - int(held.sum())
    if missing > 0:
        order = torch.argsort(quota - held, descending=True, stable=True)
        order = order[held[order] < counts[order] - 1]
        held[order[:missing]] += 1
    return held


@renamed_kwargs(seed="generator")
def train_val_split(
    x: Tensor | np.ndarray,
    y: Tensor | np.ndarray,
    val_fraction: float,
    *,
    generator: GeneratorLike,
    stratify: bool = True,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Random split into ``(x_train, y_train, x_val, y_val)`` (the field order of :class:`Split`).

    ``round(val_fraction · N)`` samples go to validation. With ``stratify`` (``y`` must be
    integer class labels) every class is split in the same proportion, up to rounding, and
    keeps at least one sample in the training part: a class is never moved whole into
    validation (10 samples of class 0 and 1 of class 1 at 0.5 hold out 6 of class 0 and none of
    class 1), so with many tiny classes validation can be smaller than ``round(val_fraction · N)``
    (an error if it would be empty). Both parts keep the original order; the same seed gives
    the same split.
    """
    xt, yt = as_tensor(x, "x"), as_tensor(y, "y")
    check_same_length(xt, yt, "x", "y")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    n_total = xt.shape[0]
    n_val = round(n_total * val_fraction)
    if not 0 < n_val < n_total:
        raise ValueError(
            f"val_fraction={val_fraction} of {n_total} samples leaves an empty train or validation part"
        )
    g = as_generator(generator)
    if stratify:
        labels = _labels(yt)
        classes, counts = _classes(labels)
        held = _split_counts(counts, val_fraction)
        if int(held.sum()) == 0:
            raise ValueError(
                f"a stratified split of {n_total} samples in {classes.numel()} classes keeps one "
                "sample of each class for training and leaves no validation samples; use "
                "stratify=False or more data"
            )
        val_parts = []
        for cls, k in zip(classes.tolist(), held.tolist(), strict=True):
            members = (labels == cls).nonzero().flatten()
            val_parts.append(members[torch.randperm(members.numel(), generator=g)[:k]])
        val_index = torch.cat(val_parts)
    else:
        val_index = torch.randperm(n_total, generator=g)[:n_val]
    is_val = torch.zeros(n_total, dtype=torch.bool)
    is_val[val_index] = True
    train_index, val_index = (~is_val).nonzero().flatten(), is_val.nonzero().flatten()
    return (
        xt[train_index.to(xt.device)],
        yt[train_index.to(yt.device)],
        xt[val_index.to(xt.device)],
        yt[val_index.to(yt.device)],
    )


@dataclass(frozen=True, eq=False)
class Split:
    """A train/test split: inputs ``x_*`` (first axis = samples) and targets ``y_*``.

    ``source`` says where the data came from when that matters, e.g. ``"embedded subset,
    2000 train / 1000 test"`` or ``"official files in /data/mnist"`` for the image loaders.
    """

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    num_classes: int | None = None
    name: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        check_same_length(self.x_train, self.y_train, "x_train", "y_train")
        check_same_length(self.x_test, self.y_test, "x_test", "y_test")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"x_train and x_test have different sample shapes: "
                f"{tuple(self.x_train.shape[1:])} vs {tuple(self.x_test.shape[1:])}"
            )

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample, e.g. ``(1, 28, 28)`` or ``(784,)``."""
        return tuple(self.x_train.shape[1:])

    def __repr__(self) -> str:
        return (
            f"Split(name={self.name!r}, train={tuple(self.x_train.shape)}, "
            f"test={tuple(self.x_test.shape)}, num_classes={self.num_classes}"
            + (f", source={self.source!r})" if self.source else ")")
        )


@renamed_kwargs(seed="generator")
def digits(*, test_fraction: float = 0.25, generator: GeneratorLike = 0, flatten: bool = True) -> Split:
    """scikit-learn's 8x8 digits (1797 images, 10 classes), pixels scaled from 0..16 to [0, 1].

    A stratified split (:func:`train_val_split`) holds out ``test_fraction`` for testing.
    Inputs are ``(N, 64)`` float32, or ``(N, 1, 8, 8)`` with ``flatten=False``; labels int64.
    The data ships with scikit-learn, so nothing is downloaded.
    """
    with needs_extra("sklearn", "digits()"):
        from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32) / 16.0
    x = images.reshape(len(images), -1) if flatten else images.unsqueeze(1)
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    x_train, y_train, x_test, y_test = train_val_split(x, y, test_fraction, generator=generator)
    return Split(x_train, y_train, x_test, y_test, num_classes=10, name="digits")

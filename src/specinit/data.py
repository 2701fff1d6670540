"""Data: 1D signals for spectral-bias experiments and the digit / MNIST / Fashion-MNIST splits.

Two families live here:

* **1D signals** – sums of sinusoids ``f(x) = Σ_k A_k sin(2π f_k x + φ_k)`` (``f_k`` in cycles
  per unit length) sampled on uniform grids, either *sparse* (large ``step``) or *dense*
  (large ``n``), as in the regression experiments of arXiv 2206.08558.
* **image classification** – scikit-learn's 8x8 digits (bundled with scikit-learn) and MNIST /
  Fashion-MNIST read from their original gzip IDX files. Nothing here touches the network: the
  files must already be on disk, and every file is checked against its published SHA-256 once
  per process.

Where the image data is found (first match wins):

1. the ``explicit`` argument (``data_dir=`` of the loaders, the CLI's ``--data-dir``);
2. the environment variable ``SPECINIT_DATA`` (ignored when empty);
3. a search upward from the current working directory, then upward from this file: in each
   folder ``d`` (nearest first), ``d/shared/data`` and then ``d/data`` are taken if they hold a
   ``mnist/`` or ``fashion-mnist/`` subfolder. This finds ``<root>/shared/data`` when the
   repository is checked out at ``<root>/main`` (or any other folder beside ``shared``).

The root folder holds one subfolder per dataset with the four official file names::

    <root>/mnist/train-images-idx3-ubyte.gz  ...  <root>/fashion-mnist/t10k-labels-idx1-ubyte.gz

Every random choice takes ``seed=`` (an ``int`` or a ``torch.Generator``); the global RNG is
never used, so the same seed gives the same grid noise, split, subset and shuffled labels.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from specinit._checks import as_tensor, check_float, check_int, check_positive, check_same_length

__all__ = [
    # 1D signals
    "Sinusoids",
    "sinusoids",
    "random_sinusoids",
    "grid_1d",
    "sample_1d",
    # classification data
    "Split",
    "digits",
    "mnist",
    "fashion_mnist",
    "data_dir",
    "read_idx",
    # label and subset tools
    "random_labels",
    "balanced_subset",
    "train_val_split",
    # file tables
    "IDX_FILES",
    "SHA256",
    "ENV_VAR",
]

Seed = int | torch.Generator


def _generator(seed: Seed) -> torch.Generator:
    """A CPU ``torch.Generator`` from an int seed, or ``seed`` itself when it is one."""
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return torch.Generator().manual_seed(int(seed))
    raise TypeError(f"seed must be an int or a torch.Generator, got {seed!r}")


# --------------------------------------------------------------------------------------------
# 1D signals
# --------------------------------------------------------------------------------------------


def _float_tuple(
    values: Sequence[float] | float | np.ndarray | Tensor, name: str
) -> tuple[float, ...]:
    """``values`` (a scalar or 1D sequence) as a tuple of finite floats."""
    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    array = np.atleast_1d(np.asarray(values, dtype=float))
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1D sequence of numbers, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN/inf: {array.tolist()}")
    return tuple(float(v) for v in array)


@dataclass(frozen=True)
class Sinusoids:
    """The signal ``f(x) = Σ_k A_k sin(2π f_k x + φ_k)``, with ``f_k`` in cycles per unit length.

    A component of frequency ``f_k`` is resolved by samples with step ``s`` only when
    ``f_k < 1/(2s)`` (Nyquist); the lowest-frequency interpolant of sparse samples is what a
    low-bandwidth network converges to (arXiv 2206.08558, Exp. 3).

    >>> Sinusoids(freqs=(1.0,), amplitudes=(2.0,), phases=(0.0,))(torch.tensor([0.25]))
    tensor([2.])
    """

    freqs: tuple[float, ...]
    amplitudes: tuple[float, ...]
    phases: tuple[float, ...]

    def __post_init__(self) -> None:
        freqs = _float_tuple(self.freqs, "freqs")
        amplitudes = _float_tuple(self.amplitudes, "amplitudes")
        phases = _float_tuple(self.phases, "phases")
        if not freqs:
            raise ValueError("a sum of sinusoids needs at least one component, got no freqs")
        if not len(freqs) == len(amplitudes) == len(phases):
            raise ValueError(
                "freqs, amplitudes and phases must have the same length, got "
                f"{len(freqs)}, {len(amplitudes)} and {len(phases)}"
            )
        if min(freqs) < 0:
            raise ValueError(f"freqs must be >= 0 (cycles per unit length), got {list(freqs)}")
        object.__setattr__(self, "freqs", freqs)
        object.__setattr__(self, "amplitudes", amplitudes)
        object.__setattr__(self, "phases", phases)

    @property
    def max_freq(self) -> float:
        """The highest frequency ``max_k f_k`` present (components with ``A_k = 0`` included)."""
        return max(self.freqs)

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        """Evaluate at ``x`` of shape ``(N,)`` or ``(N, 1)``; the result has the shape of ``x``.

        Floating inputs keep their dtype and device; other inputs become float32.
        """
        t = as_tensor(x, "x")
        if not t.is_floating_point():
            t = t.to(torch.float32)
        if t.dim() not in (1, 2) or (t.dim() == 2 and t.shape[1] != 1):
            raise ValueError(f"x must have shape (N,) or (N, 1), got {tuple(t.shape)}")
        options = {"dtype": t.dtype, "device": t.device}
        freqs = torch.tensor(self.freqs, **options)
        amplitudes = torch.tensor(self.amplitudes, **options)
        phases = torch.tensor(self.phases, **options)
        angles = 2 * math.pi * t.unsqueeze(-1) * freqs + phases
        return (amplitudes * torch.sin(angles)).sum(dim=-1)


def sinusoids(
    freqs: Sequence[float] | float,
    amplitudes: Sequence[float] | float | None = None,
    phases: Sequence[float] | float | None = None,
) -> Sinusoids:
    """``Σ_k A_k sin(2π f_k x + φ_k)``; amplitudes default to 1 and phases to 0.

    A scalar for any argument means a single component (``sinusoids(3.0)`` is ``sin(6πx)``).

    >>> sinusoids([1.0, 4.0], [1.0, 0.5]).freqs
    (1.0, 4.0)
    """
    freqs_t = _float_tuple(freqs, "freqs")
    n = len(freqs_t)
    amplitudes_t = (1.0,) * n if amplitudes is None else _float_tuple(amplitudes, "amplitudes")
    phases_t = (0.0,) * n if phases is None else _float_tuple(phases, "phases")
    return Sinusoids(freqs=freqs_t, amplitudes=amplitudes_t, phases=phases_t)


def random_sinusoids(n_components: int, max_freq: float, *, seed: Seed) -> Sinusoids:
    """A random member of a family of sums of sinusoids (arXiv 2206.08558, Exp. 5 style).

    ``f_k ~ U(0, max_freq)``, ``A_k ~ U(0, 1)``, ``φ_k ~ U(0, 2π)``, independently, drawn in
    that order from ``seed``. The paper draws "four random variables" to define each signal;
    its exact formula is not published, so this family is our choice (two components give
    four random frequencies and amplitudes, plus phases).
    """
    n_components = check_int(n_components, "n_components")
    check_positive(max_freq, "max_freq")
    g = _generator(seed)
    draw = functools.partial(torch.rand, n_components, generator=g, dtype=torch.float64)
    freqs = draw() * max_freq
    amplitudes = draw()
    phases = draw() * 2 * math.pi
    return Sinusoids(
        freqs=tuple(freqs.tolist()),
        amplitudes=tuple(amplitudes.tolist()),
        phases=tuple(phases.tolist()),
    )


def grid_1d(
    lo: float,
    hi: float,
    *,
    n: int | None = None,
    step: float | None = None,
    endpoint: bool = False,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Uniform points on ``[lo, hi)`` (``[lo, hi]`` with ``endpoint=True``) as an ``(N, 1)`` tensor.

    Give exactly one of ``n`` (number of points: ``x_i = lo + i (hi - lo)/n``, or ``/(n - 1)``
    with ``endpoint``) or ``step`` (``x_i = lo + i·step`` for every ``x_i < hi``, or ``<= hi``
    with ``endpoint``; a point within 1e-9 steps of ``hi`` counts as ``hi``). Computed in
    float64, then cast to ``dtype``.

    >>> grid_1d(0.0, 1.0, step=0.25).flatten().tolist()
    [0.0, 0.25, 0.5, 0.75]
    """
    lo, hi = check_float(lo, "lo"), check_float(hi, "hi")
    if not hi > lo:
        raise ValueError(f"need lo < hi, got lo={lo} and hi={hi}")
    if (n is None) == (step is None):
        raise ValueError("give exactly one of n (number of points) and step (spacing)")
    if n is not None:
        n = check_int(n, "n", minimum=2 if endpoint else 1)
        denominator = n - 1 if endpoint else n
        index = torch.arange(n, dtype=torch.float64)
        points = lo + (hi - lo) * index / denominator
    else:
        check_positive(step, "step")
        spacing = float(step)  # type: ignore[arg-type]
        ratio = (hi - lo) / spacing
        whole = round(ratio)
        on_grid = abs(ratio - whole) <= 1e-9 * max(1.0, ratio)
        count = (whole + 1 if endpoint else whole) if on_grid else math.floor(ratio) + 1
        points = lo + spacing * torch.arange(max(count, 1), dtype=torch.float64)
    return points.to(dtype).unsqueeze(1)


def sample_1d(
    fn: Callable[[Tensor], Tensor | np.ndarray],
    lo: float,
    hi: float,
    *,
    n: int | None = None,
    step: float | None = None,
    endpoint: bool = False,
    noise: float = 0.0,
    seed: Seed = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Samples ``(x, y)`` of ``fn`` on :func:`grid_1d`, with ``y = fn(x) + noise·ε``, ``ε ~ N(0, 1)``.

    ``x`` has shape ``(N, 1)``; ``y`` has shape ``(N, 1)`` (or ``(N, d)`` when ``fn`` returns
    ``d`` outputs per point). "Sparse" samples use a large ``step``, "dense" ones a large ``n``.
    The noise is drawn from ``seed`` only, so the same seed gives identical samples.

    >>> x, y = sample_1d(sinusoids(1.0), 0.0, 1.0, step=0.25)
    >>> y.flatten().round(decimals=4).tolist()
    [0.0, 1.0, -0.0, -1.0]
    """
    check_positive(noise, "noise", allow_zero=True)
    x = grid_1d(lo, hi, n=n, step=step, endpoint=endpoint, dtype=dtype)
    y = as_tensor(fn(x), "fn(x)", dtype=dtype)
    if y.dim() == 1:
        y = y.unsqueeze(1)
    if y.dim() != 2:
        raise ValueError(f"fn(x) must return shape (N,) or (N, d), got {tuple(y.shape)}")
    check_same_length(x, y, "x", "fn(x)")
    if noise > 0:
        eps = torch.randn(y.shape, generator=_generator(seed), dtype=torch.float64)
        y = y + (noise * eps).to(dtype=dtype, device=y.device)
    return x, y


# --------------------------------------------------------------------------------------------
# Labels, subsets, splits
# --------------------------------------------------------------------------------------------


def _labels(y: Tensor | np.ndarray, name: str = "y") -> Tensor:
    """Integer class labels as a 1D int64 tensor (floating labels must hold whole numbers)."""
    t = as_tensor(y, name)
    if t.dim() != 1:
        raise ValueError(f"{name} must be a 1D tensor of class labels, got shape {tuple(t.shape)}")
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels, got dtype {t.dtype}")
    return t.long()


def random_labels(y: Tensor | np.ndarray, *, seed: Seed) -> Tensor:
    """Labels shuffled across samples: ``y[π]`` for a random permutation ``π`` drawn from ``seed``.

    Class counts are kept exactly, but each label becomes independent of its input, so a
    network trained on them must memorize: the high-bandwidth ("pre-train on randomly shuffled
    labels") initialization of arXiv 2206.08558. With ``C`` balanced classes about
    ``1 - 1/C`` of the labels change.
    """
    labels = as_tensor(y, "y")
    if labels.dim() != 1:
        raise ValueError(f"y must be a 1D tensor of labels, got shape {tuple(labels.shape)}")
    order = torch.randperm(labels.shape[0], generator=_generator(seed))
    return labels[order.to(labels.device)].clone()


def _classes(labels: Tensor) -> tuple[Tensor, Tensor]:
    """The distinct classes and the number of samples of each."""
    return torch.unique(labels, sorted=True, return_counts=True)


def _balanced_counts(counts: Tensor, n: int, g: torch.Generator) -> Tensor:
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


def _balanced_indices(labels: Tensor, n: int, g: torch.Generator) -> Tensor:
    """Sorted indices of a class-balanced random subset of ``n`` samples (see balanced_subset)."""
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
    for cls, k in zip(classes.tolist(), take.tolist()):
        members = (labels == cls).nonzero().flatten()
        picked.append(members[torch.randperm(members.numel(), generator=g)[:k]])
    return torch.cat(picked).sort().values


def balanced_subset(
    x: Tensor | np.ndarray, y: Tensor | np.ndarray, n: int, *, seed: Seed
) -> tuple[Tensor, Tensor]:
    """``n`` samples drawn at random with class counts as equal as possible.

    With ``C`` classes each gets ``n // C`` and ``n % C`` random classes one more (100 of 10
    classes: 10 each); a class with too few samples gives all it has and the others share the
    rest. The subset keeps the original order. Errors when ``n`` exceeds the samples available
    or is smaller than the number of classes.
    """
    xt, yt = as_tensor(x, "x"), as_tensor(y, "y")
    check_same_length(xt, yt, "x", "y")
    index = _balanced_indices(_labels(yt), n, _generator(seed))
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


def train_val_split(
    x: Tensor | np.ndarray,
    y: Tensor | np.ndarray,
    val_fraction: float,
    *,
    seed: Seed,
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
            f"val_fraction={val_fraction} of {n_total} samples leaves an empty train or "
            "validation part"
        )
    g = _generator(seed)
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
        for cls, k in zip(classes.tolist(), held.tolist()):
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
    """A train/test split: inputs ``x_*`` (first axis = samples) and targets ``y_*``."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    num_classes: int | None = None
    name: str = ""

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
            f"test={tuple(self.x_test.shape)}, num_classes={self.num_classes})"
        )


def digits(*, test_fraction: float = 0.25, seed: Seed = 0, flatten: bool = True) -> Split:
    """scikit-learn's 8x8 digits (1797 images, 10 classes), pixels scaled from 0..16 to [0, 1].

    A stratified split (:func:`train_val_split`) holds out ``test_fraction`` for testing.
    Inputs are ``(N, 64)`` float32, or ``(N, 1, 8, 8)`` with ``flatten=False``; labels int64.
    The data ships with scikit-learn, so nothing is downloaded.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32) / 16.0
    x = images.reshape(len(images), -1) if flatten else images.unsqueeze(1)
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    x_train, y_train, x_test, y_test = train_val_split(x, y, test_fraction, seed=seed)
    return Split(x_train, y_train, x_test, y_test, num_classes=10, name="digits")


# --------------------------------------------------------------------------------------------
# MNIST / Fashion-MNIST: finding, verifying and reading the IDX files
# --------------------------------------------------------------------------------------------

#: The four official file names of each dataset, in (train images, train labels, test images,
#: test labels) order.
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

#: Published SHA-256 of every official file, by dataset subfolder and file name.
SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

ENV_VAR = "SPECINIT_DATA"

# IDX element type codes (third byte of the magic number) and their big-endian dtypes.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _default_candidates() -> list[Path]:
    """Folders the default search looks at, in order (see the module docstring)."""
    candidates: list[Path] = []
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            for candidate in (folder / "shared" / "data", folder / "data"):
                if candidate not in candidates:
                    candidates.append(candidate)
    return candidates


def _holds_datasets(folder: Path) -> bool:
    return any((folder / name).is_dir() for name in SHA256)


def _resolve_root(explicit: str | Path | None) -> tuple[Path | None, str]:
    """The data root and a description of where it came from (or of what was searched)."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser().resolve(), "given explicitly"
    env = os.environ.get(ENV_VAR, "")
    if env:
        return Path(env).expanduser().resolve(), f"from ${ENV_VAR}"
    candidates = _default_candidates()
    for candidate in candidates:
        if _holds_datasets(candidate):
            return candidate.resolve(), "found by searching upward for shared/data or data"
    searched = ", ".join(str(c) for c in candidates)
    return None, f"no data folder found; searched upward for shared/data or data: {searched}"


def _where_to_put(*datasets: str) -> str:
    """The expected files with their SHA-256, and the ways to point specinit at them."""
    tables = "".join(
        f"Expected these files in <data root>/{dataset}/:\n"
        + "".join(f"  {name}  sha256 {digest}\n" for name, digest in SHA256[dataset].items())
        for dataset in datasets
    )
    return (
        f"{tables}"
        "Point specinit at the data root (the folder holding mnist/ and fashion-mnist/) with "
        f"--data-dir (data_dir= in Python), or the environment variable {ENV_VAR}, or put it at "
        "../shared/data beside the repository checkout. Nothing is downloaded."
    )


def data_dir(explicit: str | Path | None = None) -> Path:
    """The data root folder: ``explicit``, else ``$SPECINIT_DATA``, else a search upward.

    The search (see the module docstring) checks ``shared/data`` and then ``data`` in the
    current working directory and each parent, then the same from this package's folder, and
    takes the first that holds ``mnist/`` or ``fashion-mnist/``. An explicit or environment
    path is returned as given (resolved), even if it does not exist yet; the loaders name any
    missing file. Raises ``FileNotFoundError`` when the search finds nothing.
    """
    root, origin = _resolve_root(explicit)
    if root is None:
        raise FileNotFoundError(
            f"MNIST/Fashion-MNIST data: {origin}.\n{_where_to_put(*SHA256)}"
        )
    return root


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed when the name ends in ``.gz``).

    Format: bytes 0-1 are zero, byte 2 the element type (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), byte 3 the number of dimensions ``d``, then ``d``
    big-endian uint32 sizes and the data. Raises ``ValueError`` naming the file on a bad magic
    number, unknown type, a truncated or corrupt gzip stream, or a size that does not match.
    Multi-byte types are returned in native byte order.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot decompress ({exc}); the file is corrupt or truncated") from exc
    if len(raw) < 4:
        raise ValueError(f"{path}: only {len(raw)} bytes, too short for an IDX header")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(f"{path}: bad IDX magic number 0x{raw[:4].hex()} (not an IDX file)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header})")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX header says shape {shape} of {dtype.name} ({expected} bytes) but the "
            f"file holds {len(raw) - header} data bytes"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=16)
def _verified_idx(path: Path, expected_sha256: str, _size: int, _mtime_ns: int) -> np.ndarray:
    """Checksum-verified contents of one file; cached per (resolved path, size, mtime)."""
    actual = _sha256(path)
    if actual != expected_sha256:
        raise ValueError(
            f"{path}: checksum mismatch, SHA-256 is {actual} but the official file has "
            f"{expected_sha256}; the file is corrupt or not the official one, replace it"
        )
    try:
        array = read_idx(path)
    except ValueError as exc:
        raise ValueError(f"{exc} (expected SHA-256 {expected_sha256})") from exc
    array.setflags(write=False)
    return array


def _load_file(dataset: str, folder: Path, name: str) -> np.ndarray:
    path = (folder / name).resolve()
    stat = path.stat()
    return _verified_idx(path, SHA256[dataset][name], stat.st_size, stat.st_mtime_ns)


def _check_pair(images: np.ndarray, labels: np.ndarray, where: Path) -> None:
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"{where}: expected uint8 images of shape (N, 28, 28), got {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0] or labels.max() > 9:
        raise ValueError(f"{where}: expected {images.shape[0]} labels in 0..9, got {labels.shape}")


def _part(
    images: np.ndarray, labels: np.ndarray, limit: int | None, flatten: bool, g: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Images as float32 in [0, 1] (optionally a balanced subset of ``limit``), labels int64."""
    y = torch.from_numpy(labels.astype(np.int64))
    if limit is not None:
        index = _balanced_indices(y, limit, g)
        y = y[index]
        pixels = torch.from_numpy(images[index.numpy()])
    else:
        pixels = torch.from_numpy(images.copy())
    x = pixels.to(torch.float32).div_(255.0).unsqueeze(1)
    return (x.reshape(len(x), -1) if flatten else x), y


def _load_dataset(
    dataset: str,
    explicit_dir: str | Path | None,
    flatten: bool,
    limit_train: int | None,
    limit_test: int | None,
    seed: Seed,
) -> Split:
    root, origin = _resolve_root(explicit_dir)
    if root is None:
        raise FileNotFoundError(f"{dataset} data: {origin}.\n{_where_to_put(dataset)}")
    folder = root / dataset
    missing = [name for name in IDX_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{dataset} data: searched {folder} (data root {origin}); missing "
            f"{', '.join(missing)}.\n{_where_to_put(dataset)}"
        )
    arrays = [_load_file(dataset, folder, name) for name in IDX_FILES]
    _check_pair(arrays[0], arrays[1], folder)
    _check_pair(arrays[2], arrays[3], folder)
    # Two sub-seeds drawn up front: the test subset depends on (seed, limit_test) only.
    train_seed, test_seed = torch.randint(2**62, (2,), generator=_generator(seed)).tolist()
    x_train, y_train = _part(arrays[0], arrays[1], limit_train, flatten, _generator(train_seed))
    x_test, y_test = _part(arrays[2], arrays[3], limit_test, flatten, _generator(test_seed))
    return Split(x_train, y_train, x_test, y_test, num_classes=10, name=dataset)


def mnist(
    *,
    data_dir: str | Path | None = None,
    flatten: bool = False,
    limit_train: int | None = None,
    limit_test: int | None = None,
    seed: Seed = 0,
) -> Split:
    """MNIST handwritten digits (LeCun et al. 1998): 60,000 train and 10,000 test images.

    Images are float32 in [0, 1] with shape ``(N, 1, 28, 28)``, or ``(N, 784)`` with
    ``flatten=True``; labels are int64 in 0..9. ``limit_train`` / ``limit_test`` keep a
    class-balanced random subset of that size (:func:`balanced_subset`); each part draws from
    its own sub-seed of ``seed``, so the test subset depends on ``(seed, limit_test)`` only.
    The files are found as described in :func:`data_dir` and checked against their SHA-256
    (once per process); nothing is downloaded.
    """
    return _load_dataset("mnist", data_dir, flatten, limit_train, limit_test, seed)


def fashion_mnist(
    *,
    data_dir: str | Path | None = None,
    flatten: bool = False,
    limit_train: int | None = None,
    limit_test: int | None = None,
    seed: Seed = 0,
) -> Split:
    """Fashion-MNIST (Xiao et al., arXiv 1708.07747): 10 clothing classes, same format as MNIST.

    Classes 0..9: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag,
    Ankle boot. Arguments and outputs as in :func:`mnist`.
    """
    return _load_dataset("fashion-mnist", data_dir, flatten, limit_train, limit_test, seed)

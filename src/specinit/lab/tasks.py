"""Plumbing shared by several experiments: the sparse 1D regression task of arXiv 2206.08558
(Exp 1, 3 and 5), its four bandwidth starts, and the image datasets' names.

The task: a sum of sinusoids on ``[lo, hi)``, sampled sparsely at step ``s``, so the lowest
frequency that fits the samples is ``f_c = 1/(2s)`` (Nyquist).  A network that generalizes
interpolates with little energy above ``f_c``; the measurements here are the library's
spectrum and training functions composed, nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from specinit._core.placement import to_device
from specinit._core.plotting import figure
from specinit.data import Sinusoids, grid_1d, sample_1d, sinusoids
from specinit.initializers import init_
from specinit.lab.runner import IMAGE_DATASETS
from specinit.measure.spectrum import Spectrum, lowest_fitting_frequency, spectrum_1d
from specinit.nn.models import coordinate_mlp
from specinit.training import tune_lr


@dataclass(frozen=True)
class SparseTask:
    """A sparse 1D regression problem: target, interval and sample step."""

    freqs: tuple[float, ...] = (1.0, 2.0)
    amplitudes: tuple[float, ...] = (1.0, 0.5)
    phases: tuple[float, ...] = (0.0, 1.0)
    lo: float = -1.0
    hi: float = 1.0
    step: float = 0.1
    grid: int = 1024

    @property
    def target(self) -> Sinusoids:
        """The sum of sinusoids ``f`` the samples come from."""
        return sinusoids(self.freqs, self.amplitudes, self.phases)

    @property
    def cutoff(self) -> float:
        """The lowest frequency that fits the samples, 1/(2·step)."""
        return lowest_fitting_frequency(self.step)

    def samples(self) -> tuple[Tensor, Tensor]:
        """Training points on ``[lo, hi]`` at spacing ``step`` (both ends included)."""
        return sample_1d(self.target, self.lo, self.hi, step=self.step, endpoint=True)

    def dense(self) -> Tensor:
        """``grid`` evenly spaced points on ``[lo, hi)`` where fits and spectra are evaluated."""
        return grid_1d(self.lo, self.hi, n=self.grid)

    def spectrum(self, model: Callable[[Tensor], Tensor]) -> Spectrum:
        """The mollified spectrum on the data interval (the function is tapered to zero
        outside it, eq. 1 of arXiv 2206.08558), so the jump between the interval's ends
        does not leak into high frequencies.
        """
        return spectrum_1d(model, self.lo, self.hi, self.grid, mollify=True)


def check_task(task: SparseTask, name: str = "task") -> None:
    """Raise ``ValueError`` naming the field (``task.step``) of a sparse task that cannot run."""
    if not task.freqs or not len(task.freqs) == len(task.amplitudes) == len(task.phases):
        raise ValueError(
            f"{name}.freqs, {name}.amplitudes and {name}.phases must be non-empty and equally long, "
            f"got {len(task.freqs)}, {len(task.amplitudes)} and {len(task.phases)} values"
        )
    if not task.step > 0:
        raise ValueError(f"{name}.step must be positive, got {task.step!r}")
    if not task.hi > task.lo:
        raise ValueError(f"{name}.hi must exceed {name}.lo, got lo={task.lo!r}, hi={task.hi!r}")
    if task.step > task.hi - task.lo:
        raise ValueError(f"{name}.step {task.step!r} is wider than the interval [{task.lo}, {task.hi}]")
    if task.grid < 2:
        raise ValueError(f"{name}.grid must be at least 2, got {task.grid!r}")


def build_net(
    activation: str,
    depth: int,
    width: int,
    init: str,
    seed: int,
    *,
    device: str | torch.device = "cpu",
    **init_options: Any,
) -> nn.Module:
    """A coordinate MLP with ``depth`` hidden layers initialized by ``specinit.init_``, on ``device``.

    ``init_`` overwrites every weight and bias, so PyTorch's default (global-RNG) draw in the
    constructor leaves no trace: the result depends on ``seed`` only.  The weights are drawn on
    the CPU and then moved, so a seed gives the same net on every device.
    """
    net = coordinate_mlp(1, width, depth, 1, activation)
    return to_device(init_(net, init, generator=seed, **init_options), device)


def fit_and_measure(
    task: SparseTask,
    make_model: Callable[[], nn.Module],
    *,
    lrs: Sequence[float],
    steps: int,
    momentum: float,
    seed: int,
    device: str | torch.device = "cpu",
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Fit the sparse samples with SGD (lr chosen by final training loss) and measure, on
    ``device`` (the models ``make_model`` builds are moved there).

    Row: chosen lr, train MSE, MSE against the true signal on the dense grid ("test"), and the
    fraction of spectral energy above ``f_c`` before and after fitting.
    """

    def placed() -> nn.Module:
        return to_device(make_model(), device)

    x, y = to_device(task.samples(), device)
    start = placed()
    spec0 = task.spectrum(start)
    search = tune_lr(
        placed,
        x,
        y,
        lrs,
        optimizer="sgd",
        momentum=momentum,
        steps=steps,
        generator=seed,
        progress=False,
    )
    model = search.model
    spec1 = task.spectrum(model)
    grid = to_device(task.dense(), device)
    with torch.no_grad():
        fitted = model(grid).reshape(-1)
        truth = task.target(grid).reshape(-1)
        test_mse = float(((fitted - truth) ** 2).mean())
    row = {
        "lr": search.lr,
        "train_mse": search.result.final_loss,
        "test_mse": test_mse,
        "energy_above_init": spec0.energy_above(task.cutoff),
        "energy_above_final": spec1.energy_above(task.cutoff),
        "centroid_init": spec0.centroid(),
        "centroid_final": spec1.centroid(),
    }
    arrays = {
        "freqs": spec0.freqs,
        "amplitude_init": spec0.amplitude,
        "amplitude_final": spec1.amplitude,
        "grid": grid.reshape(-1).cpu().numpy(),
        "fitted": fitted.cpu().numpy(),
    }
    return row, arrays


def mean_by(rows: Sequence[Mapping[str, Any]], metric: str, **where: Any) -> float:
    """Mean of ``metric`` over the rows matching ``where``; NaN when none match."""
    values = [float(r[metric]) for r in rows if all(r.get(k) == v for k, v in where.items())]
    return float(np.mean(values)) if values else float("nan")


def plot_fits(
    task: SparseTask,
    panels: Sequence[tuple[str, np.ndarray, np.ndarray]],
    path: Any,
    *,
    columns: int,
) -> None:
    """A grid of fitted curves with the true signal and the training samples."""
    rows = -(-len(panels) // columns)
    fig, axes = figure(rows, columns, width=3.2 * columns, height=2.4 * rows)
    x, y = task.samples()
    grid = task.dense().reshape(-1)
    truth = task.target(grid).cpu().numpy()
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, (title, xs, fitted) in zip(axes.flat, panels, strict=False):
        ax.plot(grid.cpu().numpy(), truth, color="0.6", lw=1, label="signal")
        ax.plot(xs, fitted, color="C0", lw=1.2, label="network")
        ax.plot(x.reshape(-1).cpu().numpy(), y.reshape(-1).cpu().numpy(), "k.", ms=4, label="samples")
        ax.set_title(title, fontsize=9)
        ax.set_ylim(-3, 3)
    axes.flat[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def check_image_datasets(names: Sequence[str]) -> None:
    """Raise ``ValueError`` naming every dataset not in the runner's ``IMAGE_DATASETS``."""
    unknown = [d for d in names if d not in IMAGE_DATASETS]
    if unknown:
        raise ValueError(f"unknown dataset(s) {unknown}; known: {', '.join(IMAGE_DATASETS)}")


#: The four starts of arXiv 2206.08558's Exp 3 and 5: (activation, bandwidth) pairs.
BANDWIDTH_STARTS = ("relu-xavier", "relu-high-frequency", "gaussian-xavier", "gaussian-small")


@dataclass(frozen=True)
class Starts:
    """Settings of the four bandwidth starts (:func:`make_start`)."""

    width: int = 128
    relu_depth: int = 4
    gaussian_depth: int = 6
    gaussian_sigma: float = 0.1
    small_alpha: float = 2.0  # gaussian_small: W ~ N(0, (alpha·sigma)²/fan_in)
    high_freq: float = 8.0  # f_hi, cycles per unit; must exceed f_c
    pretrain_steps: int = 3000
    pretrain_lr: float = 3e-3

    @classmethod
    def of(cls, cfg: Any) -> Starts:
        """The settings an experiment config holds under the same field names."""
        return cls(**{f.name: getattr(cfg, f.name) for f in fields(cls)})


def make_start(
    start: str, seed: int, settings: Starts, lo: float, hi: float, device: str | torch.device = "cpu"
) -> nn.Module:
    """The coordinate MLP of one of :data:`BANDWIDTH_STARTS` on ``device`` (pre-training on
    ``sin(2π f_hi x)`` over ``[lo, hi)`` included, run there), every weight drawn from ``seed``:
    ReLU + Xavier (low), ReLU pre-trained on a high frequency (high), Gaussian + Xavier (high),
    Gaussian + small variance (low).
    """
    gaussian = f"gaussian(sigma={settings.gaussian_sigma})"
    if start == "relu-xavier":
        return build_net("relu", settings.relu_depth, settings.width, "xavier_normal", seed, device=device)
    if start == "relu-high-frequency":
        net = build_net("relu", settings.relu_depth, settings.width, "xavier_normal", seed, device=device)
        return init_(
            net,
            "high_frequency",
            freq=settings.high_freq,
            lo=lo,
            hi=hi,
            steps=settings.pretrain_steps,
            lr=settings.pretrain_lr,
            generator=seed,
        )
    if start == "gaussian-xavier":
        return build_net(
            gaussian, settings.gaussian_depth, settings.width, "xavier_normal", seed, device=device
        )
    if start == "gaussian-small":
        return build_net(
            gaussian,
            settings.gaussian_depth,
            settings.width,
            "gaussian_small",
            seed,
            device=device,
            sigma=settings.gaussian_sigma,
            alpha=settings.small_alpha,
        )
    raise ValueError(f"unknown start {start!r}; known: {', '.join(BANDWIDTH_STARTS)}")


def pixel_nyquist(size: int) -> float:
    """The Nyquist frequency (cycles per unit) of every second pixel of ``size`` pixels spread
    over ``[-1, 1]``: ``1/(2·2h)`` with ``h = 2/(size − 1)``.
    """
    return (size - 1) / 8.0


def sinusoid_image(size: int, components: Sequence[tuple[float, float, float, float]]) -> Tensor:
    """A ``size × size`` image ``Σ a sin(2π (u x + v y) + φ)`` over ``[-1, 1]²`` (x down the
    rows), one ``(u, v, a, φ)`` per component, frequencies in cycles per unit.
    """
    axis = torch.linspace(-1.0, 1.0, size)
    gx, gy = torch.meshgrid(axis, axis, indexing="ij")
    image = torch.zeros_like(gx)
    for u, v, a, phase in components:
        image += a * torch.sin(2 * np.pi * (u * gx + v * gy) + phase)
    return image


@dataclass(frozen=True)
class PixelTask:
    """A coordinate MLP's image-fitting problem: a square ``image`` on ``[-1, 1]²`` whose every
    second pixel in each axis (a quarter) is the training set and the other pixels the test set;
    the training grid's Nyquist frequency is :attr:`cutoff`.
    """

    image: Tensor

    @property
    def cutoff(self) -> float:
        """The training grid's Nyquist frequency in cycles per unit (:func:`pixel_nyquist`)."""
        return pixel_nyquist(self.image.shape[0])

    def coords(self) -> Tensor:
        """Every pixel's ``(x, y)`` in ``[-1, 1]²``, row-major, shape ``(n², 2)``."""
        axis = torch.linspace(-1.0, 1.0, self.image.shape[0])
        return torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1).reshape(-1, 2)

    def split(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(x, y, x_test, y_test)``: training pixels (every second row and column) and the rest."""
        n = self.image.shape[0]
        train = torch.zeros(n, n, dtype=torch.bool)
        train[::2, ::2] = True
        train = train.reshape(-1)
        x, y = self.coords(), self.image.reshape(-1, 1)
        return x[train], y[train], x[~train], y[~train]


def plot_images(grid: Sequence[Sequence[tuple[str, np.ndarray | None]]], path: Any) -> None:
    """A grid of square grayscale images, one row per list of ``(title, flat image or None)``;
    each row shares the value range of its first image (the truth), ``None`` leaves a titled gap.
    """
    columns = max(len(row) for row in grid)
    fig, axes = figure(len(grid), columns, width=2.0 * columns, height=2.1 * len(grid))
    for ax in axes.flat:
        ax.axis("off")
    for i, row in enumerate(grid):
        known = [img for _, img in row if img is not None]
        if not known:
            continue
        lo, hi = float(known[0].min()), float(known[0].max())
        n = int(round(np.sqrt(known[0].size)))
        for j, (title, img) in enumerate(row):
            axes[i, j].set_title(title, fontsize=7)
            if img is not None:
                axes[i, j].imshow(img.reshape(n, n), vmin=lo, vmax=hi, cmap="gray")
    fig.tight_layout()
    fig.savefig(path, dpi=110)

"""Per-layer spectra of a 1D-input network: is each hidden layer low- or high-frequency?

The diagnostic behind the per-layer scale schedules of arXiv 2511.02244 (spectral SWIM): small
scales in early layers should give smooth, low-frequency features and large scales in late
layers step-like, high-frequency ones.  :func:`layer_spectra` evaluates a network ``R → R^k``
on the uniform grid of :func:`specinit.spectrum_1d`, records every hidden layer's output
``H_l ∈ R^{n × W_l}`` and reports, per layer,

* the **feature spectrum**: the mean power over the layer's ``W_l`` units,
  ``P_l(f) = (1/W_l) Σ_u A_u(f)²``, normalized so that its non-DC bins sum to 1, as a
  :class:`~specinit.measure.spectrum.Spectrum` with amplitude ``√P_l`` (so ``Spectrum.energy`` is
  ``P_l``);
* given a target, the **readout spectrum**: the spectrum, on the grid, of the least-squares
  readout ``[H_l, 1] w`` fitted on that layer alone (ridge, float64) — the function the layer
  can represent when it is the last hidden layer;
* summaries: spectral centroid ``Σ f P(f) / Σ P(f)`` and the fraction of energy above a cutoff,
  for both spectra.

Both spectra are of mean-removed signals (the DC bin is 0): under a window a mean leaks into
the lowest bins and says nothing about where the frequency content lies.

>>> import math, torch, specinit
>>> net = specinit.models.mlp(1, [64, 64], 1, "tanh")
>>> _ = specinit.init_(net, "xavier_normal", gain=10.0, generator=0)
>>> result = layer_spectra(net, 0.0, 1.0, 256, target=lambda x: torch.sin(2 * math.pi * 3 * x))
>>> [(layer.name, layer.width) for layer in result.layers]
[('1', 64), ('3', 64)]
>>> result.column("readout_error").round(2)  # the second layer fits sin(2π·3x) far better
array([0.23, 0.03])
>>> float(result.layers[1].readout.peaks(1)[0])
3.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_float, check_positive, check_same_length
from specinit._core.deprecation import warn_deprecated
from specinit._core.fourier import DEFAULT_TAPER, check_interval, grid, nyquist, one_sided, window_weights
from specinit._core.placement import module_mode, placement
from specinit._core.plotting import new_axes
from specinit._core.records import compact_repr
from specinit.initializers.readout import fit_readout
from specinit.measure.spectrum import Spectrum
from specinit.nn.layers import chosen_layers, weight_layers

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = [
    "LayerSpectrum",
    "LayerSpectra",
    "layer_spectra",
    "plot_layer_spectra",
    "ridge_readout",
    "DEFAULT_CUTOFF_FRACTION",
    "READOUT_L2",
]

#: Default cutoff for :attr:`LayerSpectrum.energy_above`, as a fraction of the grid's Nyquist
#: frequency ``n / (2 (hi − lo))``: the energy in the upper three quarters of the resolved band.
DEFAULT_CUTOFF_FRACTION = 0.25

#: Default relative ridge of the per-layer readouts (``l2`` of
#: :func:`specinit.initializers.readout.fit_readout`, relative to the mean eigenvalue of the
#: centred feature Gram matrix): a safeguard against rank-deficient features, far below the noise
#: level of float32 features (~1e-7 relative).
READOUT_L2 = 1e-10

Target = Callable[[Tensor], Any] | tuple[Any, Any]


@dataclass(frozen=True, eq=False)
class LayerSpectrum:
    """Spectra of one hidden layer; see :func:`layer_spectra`.

    ``features`` is the normalized mean power spectrum of the layer's units (``features.energy``
    sums to 1 over the non-DC bins, unless the layer is constant on the grid).  ``readout`` is
    the spectrum of the ridge readout fitted on this layer's features (``None`` without a
    target), with ``readout_error = ‖[H, 1] w − y‖ / ‖y‖`` at the fit points.  ``centroid`` and
    ``energy_above`` summarise ``features`` (:meth:`Spectrum.centroid`, and
    :meth:`Spectrum.energy_above` at the cutoff of the :class:`LayerSpectra`); the ``readout_*``
    summaries do the same for ``readout`` (``None`` without a target).
    """

    name: str
    index: int
    width: int
    features: Spectrum
    centroid: float
    energy_above: float
    readout: Spectrum | None = None
    readout_centroid: float | None = None
    readout_energy_above: float | None = None
    readout_error: float | None = None

    __repr__ = compact_repr

    def summary(self) -> dict[str, Any]:
        """The scalar fields (name, index, width and the summaries) as a dict, e.g. for a table."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("features", "readout")}


@dataclass(frozen=True, eq=False)
class LayerSpectra:
    """Per-layer spectra from :func:`layer_spectra`, in forward order, and the grid they used."""

    layers: tuple[LayerSpectrum, ...]
    lo: float
    hi: float
    n: int
    cutoff: float
    window: str
    l2: float

    __repr__ = compact_repr

    def table(self) -> list[dict[str, Any]]:
        """One dict of scalar summaries per layer (:meth:`LayerSpectrum.summary`)."""
        return [layer.summary() for layer in self.layers]

    def column(self, key: str) -> np.ndarray:
        """One numeric summary for every layer as a float array (``None`` becomes NaN)."""
        numeric = [k for k, v in self.layers[0].summary().items() if k != "name"]
        if key not in numeric:
            raise ValueError(f"unknown column {key!r}; choose one of {', '.join(numeric)}")
        values = [getattr(layer, key) for layer in self.layers]
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    def plot(self, ax: Axes | None = None, *, which: str = "features") -> Axes:
        """Log power against frequency, one curve per layer; see :func:`plot_layer_spectra`."""
        return plot_layer_spectra(self, ax, which=which)


def layer_spectra(
    model: nn.Module,
    lo: float,
    hi: float,
    n: int = 1024,
    *,
    target: Target | None = None,
    layers: Sequence[nn.Module] | None = None,
    cutoff: float | None = None,
    l2: float = READOUT_L2,
    window: str = "hann",
    taper: float = DEFAULT_TAPER,
) -> LayerSpectra:
    """Feature and readout spectra of every hidden layer of a 1D-input ``model`` on ``[lo, hi)``.

    The model runs once (eval mode, no grad, its modes restored) on the ``n``-point grid
    ``x_j = lo + j (hi − lo)/n`` of :func:`specinit.spectrum_1d`, as an ``(n, 1)`` tensor in the
    model's dtype.  For layer ``l`` with output ``H_l`` (flattened to ``(n, W_l)``) and unit
    amplitudes ``A_u(f)`` (the windowed one-sided transform of ``spectrum_1d``), the feature
    spectrum is ``P_l(f) = Σ_u A_u(f)² / Σ_u Σ_{f'>0} A_u(f')²`` (the mean power, normalized).
    Given ``target``, the ridge readout ``(w, b) = argmin ‖H_l w + b − y‖² + λ‖w‖²`` (the one
    readout of :func:`specinit.initializers.readout.fit_readout`, in float64, bias unpenalized)
    is fitted at the fit points and its values ``H_l w + b`` on the grid are transformed the same
    way (actual amplitudes, not normalized).

    Args:
        model: a module with 1D input, e.g. :func:`specinit.models.mlp` with ``in_features=1``
            or :func:`specinit.models.coordinate_mlp`.
        lo: the grid's start.
        hi: the grid's end (``lo < hi``; excluded).
        n: the number of grid points (``≥ 4``); the Nyquist frequency is ``n / (2 (hi − lo))``.
        target: a callable ``x (m, 1) ↦ y (m,) | (m, k)``, fitted at the grid points, or a pair
            ``(x, y)`` of training points ``x`` (``(m,)`` or ``(m, 1)``) and targets ``y`` (``(m,)``
            or ``(m, k)``), fitted there — e.g. sparse samples, to see how each layer
            interpolates between them.  ``None``: feature spectra only.
        layers: the modules whose outputs are the layers (default: every activation module,
            :func:`specinit.nn.layers.chosen_layers`), each run exactly once per forward pass.
        cutoff: frequency for the ``energy_above`` summaries (default
            ``DEFAULT_CUTOFF_FRACTION`` × Nyquist).
        l2: relative ridge ≥ 0 of the readout (``λ = l2 · tr(H_cᵀH_c)/W`` with ``H_c`` the
            centred features; never below float64 rounding, see ``fit_readout``).
        window: sample weighting, as in :func:`specinit.spectrum_1d`.  The default ``"hann"``
            (unlike ``spectrum_1d``'s ``"none"``) because hidden features are not periodic on
            ``[lo, hi)``: with no window the jump from ``h(hi)`` back to ``h(lo)`` leaks power
            ``∝ 1/f²`` into every bin and swamps the centroid.
        taper: the Tukey window's tapered fraction, as in :func:`specinit.spectrum_1d`.

    Raises:
        ValueError: a model whose first ``Linear`` layer does not take one input feature (or that
            starts with a convolution); no layer to record; a layer output with NaN/inf values;
            a bad grid, cutoff, ``l2`` or target (NaN/inf, mismatched lengths, all zero).
        TypeError: a non-module ``model`` or ``layers`` entry; a target of the wrong kind.

    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    lo, hi, n = check_interval(lo, hi, n)
    _check_1d_input(model)
    check_positive(l2, "l2", allow_zero=True)
    limit = nyquist(lo, hi, n)
    cutoff = DEFAULT_CUTOFF_FRACTION * limit if cutoff is None else check_float(cutoff, "cutoff")
    if not 0.0 <= cutoff <= limit:
        raise ValueError(f"cutoff must lie in [0, {limit:g}] (Nyquist), got {cutoff!r}")
    weights = window_weights(window, n, taper)
    modules = chosen_layers(model, layers)
    points = grid(lo, hi, n)
    fit = _fit_points(target, points)
    names = {id(m): name for name, m in model.named_modules()}
    inputs = [points] if fit is None or fit[0] is points else [points, fit[0]]
    outputs = [_record(model, modules, x, names) for x in inputs]
    freqs = np.fft.rfftfreq(n, d=(hi - lo) / n)

    def spectrum(values: np.ndarray) -> Spectrum:
        """Spectrum of grid values ``(n, k)`` (``k = 1``: a scalar spectrum)."""
        amplitude = np.abs(one_sided(_centered(values, weights).T, weights, n))
        return Spectrum(
            freqs=freqs,
            amplitude=amplitude[0] if len(amplitude) == 1 else amplitude,
            lo=lo,
            hi=hi,
            n=n,
            window=window,
        )

    results = []
    for index, module in enumerate(modules):
        on_grid = outputs[0][index]
        features = Spectrum(
            freqs=freqs, amplitude=_mean_power_amplitude(on_grid, weights), lo=lo, hi=hi, n=n, window=window
        )
        readout_fields: dict[str, Any] = {}
        if fit is not None:
            on_fit = outputs[-1][index]
            weight, bias = _readout(on_fit, fit[1], l2)
            pred = on_grid @ weight.T + bias
            readout = spectrum(pred)
            fit_pred = pred if on_fit is on_grid else on_fit @ weight.T + bias
            residual = np.linalg.norm(fit_pred - fit[1])
            readout_fields = {
                "readout": readout,
                "readout_centroid": readout.centroid(),
                "readout_energy_above": readout.energy_above(cutoff),
                "readout_error": float(residual / np.linalg.norm(fit[1])),
            }
        results.append(
            LayerSpectrum(
                name=names[id(module)],
                index=index,
                width=on_grid.shape[1],
                features=features,
                centroid=features.centroid(),
                energy_above=features.energy_above(cutoff),
                **readout_fields,
            )
        )
    return LayerSpectra(tuple(results), lo=lo, hi=hi, n=n, cutoff=cutoff, window=window, l2=float(l2))


def _readout(features: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """``(weight (k, W), bias (k,))`` of :func:`~specinit.initializers.readout.fit_readout` in float64."""
    weight, bias = fit_readout(torch.from_numpy(features), torch.from_numpy(y), l2=l2, dtype=torch.float64)
    return weight.cpu().numpy(), bias.cpu().numpy()


def ridge_readout(
    features: np.ndarray | Tensor, y: np.ndarray | Tensor, *, l2: float = READOUT_L2
) -> np.ndarray:
    """Deprecated: the readout of :func:`layer_spectra` as one ``(W + 1, k)`` array (weights, then
    the bias as the last row); use :func:`specinit.initializers.readout.fit_readout`, the one
    ridge readout (relative ridge, bias unpenalized), which this calls.
    """
    warn_deprecated("ridge_readout is deprecated; use specinit.fit_readout (the one ridge readout)")
    h = as_tensor(features, "features", dtype=torch.float64).cpu().numpy()
    if h.ndim != 2:
        raise ValueError(f"features must have shape (m, W), got {h.shape}")
    target = as_tensor(y, "y", dtype=torch.float64).cpu().numpy()
    if target.ndim not in (1, 2) or target.shape[0] != h.shape[0]:
        raise ValueError(
            f"y must have shape ({h.shape[0]},) or ({h.shape[0]}, k) to match features, got {target.shape}"
        )
    weight, bias = _readout(h, target.reshape(len(target), -1), l2)
    return np.vstack([weight.T, bias[None, :]])


def plot_layer_spectra(
    result: LayerSpectra,
    ax: Axes | None = None,
    *,
    which: str = "features",
    show_cutoff: bool = True,
) -> Axes:
    """Power ``A(f)²`` on a log axis against frequency, one curve per layer (DC bin omitted).

    ``which="features"`` plots the normalized mean power of each layer's units,
    ``"readout"`` the power of each layer's fitted readout (summed over outputs).  A new axes
    comes from a ``matplotlib.figure.Figure`` (no pyplot state); ``show_cutoff`` adds the
    cutoff as a dashed line.
    """
    if not isinstance(result, LayerSpectra):
        raise TypeError(f"result must be a LayerSpectra, got {type(result).__name__}")
    if which not in ("features", "readout"):
        raise ValueError(f"which must be 'features' or 'readout', got {which!r}")
    if which == "readout" and result.layers[0].readout is None:
        raise ValueError("no readout spectra: call layer_spectra with target=")
    ax = new_axes() if ax is None else ax
    for layer in result.layers:
        spec = layer.features if which == "features" else layer.readout
        assert spec is not None, "every layer has a readout spectrum or none does"
        power = spec.energy[1:]
        floor = np.finfo(np.float64).tiny  # log axis: an exactly empty bin is drawn at the floor
        ax.plot(
            spec.freqs[1:],
            np.maximum(power, floor),
            label=f"layer {layer.index + 1} ({layer.name}), centroid {layer.centroid:.3g}"
            if which == "features"
            else f"layer {layer.index + 1} ({layer.name}), error {layer.readout_error:.2g}",
        )
    if show_cutoff:
        ax.axvline(result.cutoff, color="k", linestyle="--", linewidth=0.8, label="cutoff")
    ax.set_yscale("log")
    ax.set_xlabel("frequency (cycles per unit)")
    ax.set_ylabel("normalized mean power" if which == "features" else "readout power")
    ax.legend(fontsize="small")
    return ax


# --------------------------------------------------------------------------- helpers


def _check_1d_input(model: nn.Module) -> None:
    """Raise unless the model's first weight layer is an ``nn.Linear`` taking one feature."""
    layers = weight_layers(model)
    first = layers[0][1] if layers else None
    if first is not None and not isinstance(first, nn.Linear):
        raise ValueError(
            f"layer_spectra needs a model with 1D input; this one starts with {type(first).__name__}"
        )
    if isinstance(first, nn.Linear) and first.in_features != 1:
        raise ValueError(
            "layer_spectra needs a model with 1D input (in_features=1); its first Linear layer "
            f"takes {first.in_features} features"
        )


def _fit_points(target: Target | None, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(x, y)`` in float64, ``x`` ``(m,)`` and ``y`` ``(m, k)``, from a callable or a pair."""
    if target is None:
        return None
    if isinstance(target, tuple):
        if len(target) != 2:
            raise TypeError(f"target must be a callable or an (x, y) pair, got a tuple of {len(target)}")
        x = as_tensor(target[0], "target x", dtype=torch.float64)
        y = as_tensor(target[1], "target y", dtype=torch.float64)
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise ValueError(f"target x must have shape (m,) or (m, 1), got {tuple(x.shape)}")
        check_same_length(x, y, "target x", "target y")
        x_fit = x.cpu().numpy()
    elif callable(target):
        x_fit = grid
        with torch.no_grad():
            y = as_tensor(
                _as_array(target(torch.as_tensor(grid).unsqueeze(1))), "target values", dtype=torch.float64
            )
    else:
        raise TypeError(f"target must be a callable or an (x, y) pair, got {type(target).__name__}")
    if y.ndim not in (1, 2) or y.shape[0] != x_fit.shape[0]:
        m = x_fit.shape[0]
        raise ValueError(f"target values must have shape ({m},) or ({m}, k), got {tuple(y.shape)}")
    y_fit = y.cpu().numpy().reshape(x_fit.shape[0], -1)
    if not np.any(y_fit):
        raise ValueError("target is zero at every fit point; the readout error is undefined")
    return x_fit, y_fit


def _as_array(values: Any) -> Any:
    return values.detach().cpu() if isinstance(values, Tensor) else values


def _record(
    model: nn.Module, modules: list[nn.Module], x: np.ndarray, names: dict[int, str]
) -> list[np.ndarray]:
    """Each module's output on inputs ``x`` (a 1-D float64 array) as float64 ``(len(x), W)``."""
    device, dtype = placement(model, default_dtype=torch.float32)
    inputs = torch.as_tensor(x, dtype=dtype, device=device).unsqueeze(1)
    seen: dict[int, list[Tensor]] = {id(m): [] for m in modules}

    def hook(module: nn.Module, _args: Any, output: Any) -> None:
        if not isinstance(output, Tensor):
            kind = type(output).__name__
            raise TypeError(f"layer {names[id(module)]!r} returned {kind}, not a tensor")
        seen[id(module)].append(output.detach())

    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        with module_mode(model, training=False), torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    result = []
    for m in modules:
        calls = seen[id(m)]
        if len(calls) != 1:
            raise ValueError(
                f"layer {names[id(m)]!r} ran {len(calls)} times in one forward pass; "
                "layer_spectra needs each recorded layer to run exactly once"
            )
        out = calls[0].to("cpu", torch.float64).reshape(len(x), -1)
        if not torch.isfinite(out).all():
            raise ValueError(f"layer {names[id(m)]!r} output contains NaN/inf values")
        result.append(out.cpu().numpy())
    return result


def _mean_power_amplitude(features: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``√P(f)`` with ``P(f) = Σ_u A_u(f)² / Σ_u Σ_{f>0} A_u(f)²`` for ``features`` ``(n, W)``."""
    centered = _centered(features, weights)
    power = (np.abs(one_sided(centered.T, weights, features.shape[0])) ** 2).mean(axis=0)
    total = power[1:].sum()
    return np.sqrt(power / total if total > 0 else power)


def _centered(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``values`` ``(n, k)`` minus their window-weighted means ``Σ_j w_j v_j / Σ_j w_j``."""
    return values - (weights @ values / weights.sum())[None, :]

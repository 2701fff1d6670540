"""The doctor's problems: when a measured number is a problem, in plain words.

:class:`Thresholds` holds the limits (docs/howto/doctor.md explains each choice);
:func:`find_problems` turns a diagnosis's rows into :class:`Problem` s.  A NaN ratio (no
reference scale) is never a problem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from specinit._core.checks import check_positive

if TYPE_CHECKING:  # pragma: no cover - typing only
    from specinit.doctor.diagnose import DataBandwidth, LayerDiagnosis

__all__ = ["Thresholds", "Problem", "find_problems", "ratio"]


@dataclass(frozen=True)
class Thresholds:
    """When :func:`diagnose` calls something a problem (docs/howto/doctor.md explains each choice).

    ``signal_low`` / ``signal_high``: the last activation's std over the input's std outside
    ``[0.1, 10]`` — a signal that shrank or grew tenfold through the network.
    ``saturated``: more than 20 % of a layer's entries within 1 % of ``sup |f|``.
    ``dead``: more than 25 % of a layer's features constant over the batch.
    ``gradient_ratio``: ``‖∂L/∂h‖`` of the first over the last activation (and ``‖∂L/∂W‖`` of the
    first over the last hidden weight) outside ``[1/100, 100]``.
    ``rank_drop``: the last activation's effective rank below 25 % of the first's.
    ``sharpness``: top Hessian eigenvalue above 2000, where gradient descent needs a step
    below ``2/λ = 1e-3`` to be stable.
    ``bandwidth_excess``: on 1D samples, more than 10 % of the start's spectral energy above the
    samples' Nyquist frequency ``1/(2·step)`` (arXiv 2206.08558, Exp 3: such a start interpolates
    between the samples with frequencies they cannot pin down; Xavier ReLU nets have < 0.1 %).
    """

    signal_low: float = 0.1
    signal_high: float = 10.0
    saturated: float = 0.2
    dead: float = 0.25
    gradient_ratio: float = 100.0
    rank_drop: float = 0.25
    sharpness: float = 2000.0
    bandwidth_excess: float = 0.1

    def __post_init__(self) -> None:
        for f in fields(self):
            check_positive(getattr(self, f.name), f.name)
        if self.signal_low >= 1 or self.signal_high <= 1:
            raise ValueError("need signal_low < 1 < signal_high")
        for name in ("saturated", "dead", "rank_drop", "bandwidth_excess"):
            if getattr(self, name) >= 1:
                raise ValueError(f"{name} is a fraction and must lie in (0, 1)")
        if self.gradient_ratio <= 1:
            raise ValueError("gradient_ratio must exceed 1")


@dataclass(frozen=True)
class Problem:
    """A problem :func:`diagnose` found: a stable ``code``, the ``layer`` (or ``None`` for the
    whole model) and a plain-words ``message`` with the measured numbers.
    """

    code: str
    layer: str | None
    message: str


def ratio(a: float, b: float) -> float:
    """``a / b``; ``inf`` for ``a > 0 = b``; NaN when either is NaN or both are 0 (never inf from NaN)."""
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return a / b if b > 0 else (math.inf if a > 0 else math.nan)


def _signal_problem(
    layers: Sequence[LayerDiagnosis], input_std: float, t: Thresholds, source: str
) -> Problem | None:
    """``vanishing_signal`` / ``exploding_signal`` when the last layer's std ratio leaves
    ``[signal_low, signal_high]`` (a NaN or infinite ratio — no reference scale — is no problem).
    Recurrent gates are multiplicative masks, not signal: only the other rows count.
    """
    layers = [layer for layer in layers if not (layer.kind == "gate" and layer.name.endswith("_gate"))]
    if not layers:
        return None
    last = layers[-1]
    if not math.isfinite(last.std_ratio):  # no reference scale: nothing to compare with
        return None
    vanishing = last.std_ratio < t.signal_low
    if not (vanishing or last.std_ratio > t.signal_high):
        return None
    bound = t.signal_low if vanishing else t.signal_high
    at = next(
        layer for layer in layers if (layer.std_ratio < bound if vanishing else layer.std_ratio > bound)
    )
    kind, verb, side = ("vanishing", "falls", "below") if vanishing else ("exploding", "grows", "above")
    return Problem(
        f"{kind}_signal",
        last.name,
        (
            f"{kind} signal: the activations' std {verb} from {input_std:.3g} ({source}) to "
            f"{last.std:.3g} at the last layer {last.name} ({last.std_ratio:.2g}× the {source}; "
            f"{side} {bound:g}× from layer {at.name} on)"
            + ("; deep layers see almost no signal" if vanishing else "")
        ),
    )


def _fraction_problem(
    layers: Sequence[LayerDiagnosis], code: str, attr: str, limit: float, what: str, consequence: str
) -> Problem | None:
    """``code`` when some layer's ``attr`` fraction exceeds ``limit``, naming the worst layer."""
    over = [layer for layer in layers if getattr(layer, attr) > limit]
    if not over:
        return None
    worst = max(over, key=lambda layer: getattr(layer, attr))
    return Problem(
        code,
        worst.name,
        (
            f"{code.replace('_', ' ')}: {len(over)} layer(s) have more than {limit:.0%} of their "
            f"{what} (worst {worst.name}: {getattr(worst, attr):.0%}); {consequence}"
        ),
    )


def find_problems(
    layers: tuple[LayerDiagnosis, ...],
    input_std: float,
    hessian_top: float | None,
    t: Thresholds,
    source: str = "input",
    data_bandwidth: DataBandwidth | None = None,
) -> tuple[Problem, ...]:
    """The plain-words problems of a diagnosis (thresholds: :class:`Thresholds`)."""
    first, last = layers[0], layers[-1]
    found = [
        p
        for p in (
            _signal_problem(layers, input_std, t, source),
            _fraction_problem(
                layers,
                "saturation",
                "frac_saturated",
                t.saturated,
                "outputs within 1% of the activation's bound",
                "saturated units pass almost no gradient",
            ),
            _fraction_problem(
                layers,
                "dead_units",
                "frac_dead",
                t.dead,
                "units constant over the whole batch",
                "they carry no information and get no gradient",
            ),
        )
        if p is not None
    ]
    if first.effective_rank > 0 and last.effective_rank < t.rank_drop * first.effective_rank:
        found.append(
            Problem(
                "rank_collapse",
                last.name,
                (
                    f"rank collapse: the batch spans {first.effective_rank:.1f} effective directions "
                    f"after {first.name} but only {last.effective_rank:.1f} after {last.name}; "
                    "different inputs become indistinguishable with depth"
                ),
            )
        )
    grad = ratio(first.grad_norm, last.grad_norm)
    if len(layers) > 1 and (grad < 1 / t.gradient_ratio or grad > t.gradient_ratio):
        kind = "vanishing" if grad < 1 else "exploding"
        found.append(
            Problem(
                f"{kind}_gradients",
                first.name,
                (
                    f"{kind} gradients: the loss gradient at the first layer {first.name} is {grad:.2g}× "
                    f"the one at the last layer {last.name} ({first.grad_norm:.3g} vs "
                    f"{last.grad_norm:.3g}); early layers "
                    + ("barely learn" if kind == "vanishing" else "get huge updates")
                ),
            )
        )
    weights = [layer for layer in layers if layer.weight_grad_norm is not None]
    if len(weights) > 1:
        w_first, w_last = weights[0].weight_grad_norm or 0.0, weights[-1].weight_grad_norm or 0.0
        w_ratio = ratio(w_first, w_last)
        if w_ratio < 1 / t.gradient_ratio or w_ratio > t.gradient_ratio:
            found.append(
                Problem(
                    "unbalanced_updates",
                    weights[0].name,
                    (
                        f"unbalanced updates: the weight gradient before {weights[0].name} is {w_ratio:.2g}× "
                        f"the one before {weights[-1].name} ({w_first:.3g} vs {w_last:.3g}); one learning "
                        "rate cannot suit both"
                    ),
                )
            )
    if hessian_top is not None and hessian_top > t.sharpness:
        found.append(
            Problem(
                "sharp_start",
                None,
                (
                    f"sharp start: the loss's top Hessian eigenvalue is {hessian_top:.3g}, so gradient "
                    f"descent diverges for learning rates above 2/λ = {2 / hessian_top:.2g}"
                ),
            )
        )
    if data_bandwidth is not None and data_bandwidth.energy_above > t.bandwidth_excess:
        b = data_bandwidth
        found.append(
            Problem(
                "bandwidth_above_data",
                None,
                (
                    f"bandwidth above the data: {b.energy_above:.0%} of the start's spectral energy lies "
                    f"above {b.cutoff:.3g}, the Nyquist frequency of samples {b.step:.3g} apart; between "
                    "the samples it will interpolate with frequencies the data cannot pin down "
                    "(arXiv 2206.08558)"
                ),
            )
        )
    return tuple(found)

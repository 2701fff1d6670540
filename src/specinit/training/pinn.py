"""Physics-informed neural network (PINN) for the viscous Burgers equation.

The benchmark of Raissi, Perdikaris & Karniadakis (2019) used by Tanh-Init (arXiv 2410.02242)
and the odd-sigmoid initialization (arXiv 2509.23085):

    u_t + u u_x − ν u_xx = 0,   x ∈ [−1, 1], t ∈ [0, 1],   ν = 0.01/π,
    u(x, 0) = −sin(π x),        u(±1, t) = 0.

A network ``u(x, t)`` (input columns ``(x, t)``, one output) is trained on

    L = MSE(r at N_c collocation points) + MSE(u − u_target at N_t initial + 2 N_b boundary points)

with ``r = u_t + u u_x − ν u_xx`` obtained by automatic differentiation (``create_graph=True``
so the loss itself can be differentiated).  :func:`reference_solution` evaluates the exact
solution (Cole–Hopf) by quadrature, so a trained network's error can be measured.

>>> import torch, specinit
>>> pts = sample_points(64, 16, 8, generator=0)
>>> net = specinit.init_(specinit.models.mlp(2, [16] * 3, 1, "tanh"), "xavier_normal", generator=0)
>>> parts = burgers_loss(net, pts)
>>> bool(parts.total > 0)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_int, check_positive
from specinit._core.deprecation import renamed_kwargs
from specinit._core.records import compact_repr
from specinit._core.rng import GeneratorLike, as_generator

__all__ = [
    "NU",
    "BurgersPoints",
    "BurgersLoss",
    "PinnResult",
    "initial_condition",
    "sample_points",
    "burgers_residual",
    "burgers_loss",
    "train_pinn",
    "reference_solution",
]

#: Viscosity of the benchmark, ν = 0.01/π (Raissi et al. 2019).
NU = 0.01 / math.pi
X_RANGE = (-1.0, 1.0)
T_RANGE = (0.0, 1.0)


def initial_condition(x: Tensor) -> Tensor:
    """``u(x, 0) = −sin(π x)``."""
    return -torch.sin(math.pi * x)


@dataclass(frozen=True)
class BurgersPoints:
    """Training points, each an ``(N, 2)`` tensor of ``(x, t)`` rows, and the data targets.

    ``initial``: ``t = 0``, target ``−sin(π x)``; ``boundary``: ``x = ±1`` (``N_b`` each),
    target 0.  ``data`` / ``targets`` stack the two, in that order.
    """

    collocation: Tensor
    initial: Tensor
    boundary: Tensor

    __repr__ = compact_repr

    @property
    def data(self) -> Tensor:
        """The initial and boundary points, stacked in that order, ``(N_i + 2 N_b, 2)``."""
        return torch.cat([self.initial, self.boundary])

    @property
    def targets(self) -> Tensor:
        """The targets of :attr:`data`: ``−sin(π x)`` at ``t = 0``, 0 on the boundary."""
        return torch.cat(
            [
                initial_condition(self.initial[:, :1]),
                torch.zeros(len(self.boundary), 1, dtype=self.boundary.dtype, device=self.boundary.device),
            ]
        )


@renamed_kwargs(seed="generator")
def sample_points(
    n_collocation: int,
    n_initial: int,
    n_boundary: int,
    *,
    generator: GeneratorLike,
    dtype: torch.dtype = torch.float32,
) -> BurgersPoints:
    """Uniform random points: ``n_collocation`` in ``[−1, 1] × [0, 1]``, ``n_initial`` on ``t = 0``
    and ``n_boundary`` on each of ``x = −1`` and ``x = 1`` (times uniform in ``[0, 1]``).

    Deterministic given ``generator`` (an int seed or a ``torch.Generator``; ``None`` draws from
    PyTorch's global RNG).
    """
    n_collocation = check_int(n_collocation, "n_collocation")
    n_initial = check_int(n_initial, "n_initial")
    n_boundary = check_int(n_boundary, "n_boundary")
    gen = as_generator(generator)
    (x0, x1), (t0, t1) = X_RANGE, T_RANGE

    def uniform(n: int, lo: float, hi: float) -> Tensor:
        return lo + (hi - lo) * torch.rand(n, 1, generator=gen, dtype=dtype)

    collocation = torch.cat([uniform(n_collocation, x0, x1), uniform(n_collocation, t0, t1)], 1)
    initial = torch.cat([uniform(n_initial, x0, x1), torch.full((n_initial, 1), t0, dtype=dtype)], 1)
    times = uniform(2 * n_boundary, t0, t1)
    sides = torch.cat(
        [torch.full((n_boundary, 1), x0, dtype=dtype), torch.full((n_boundary, 1), x1, dtype=dtype)]
    )
    return BurgersPoints(collocation, initial, torch.cat([sides, times], 1))


def _check_xt(xt: Tensor, name: str = "xt") -> Tensor:
    xt = as_tensor(xt, name)
    if xt.ndim != 2 or xt.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2) with columns (x, t), got {tuple(xt.shape)}")
    if not xt.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {xt.dtype}")
    return xt


def _evaluate(model: nn.Module, xt: Tensor) -> Tensor:
    u = model(xt)
    if u.shape != (xt.shape[0], 1):
        raise ValueError(
            f"the model must map (N, 2) inputs to (N, 1) outputs u(x, t); got {tuple(u.shape)} "
            f"for {xt.shape[0]} points"
        )
    return u


def burgers_residual(model: nn.Module, xt: Tensor, nu: float = NU) -> Tensor:
    """The PDE residual ``r = u_t + u u_x − ν u_xx`` of ``u = model(xt)`` at each row of ``xt``.

    ``xt`` is ``(N, 2)`` with columns ``(x, t)``; returns ``(N, 1)``.  Derivatives come from
    ``torch.autograd.grad`` with ``create_graph=True``, so the result can be backpropagated
    to the model's parameters.  Exact for any differentiable model (no finite differences).
    """
    check_positive(nu, "nu", allow_zero=True)
    xt = _check_xt(xt).detach().requires_grad_(True)
    u = _evaluate(model, xt)
    du = _gradient(u, xt)
    u_x, u_t = du[:, :1], du[:, 1:]
    u_xx = _gradient(u_x, xt)[:, :1]
    return u_t + u * u_x - nu * u_xx


def _gradient(y: Tensor, xt: Tensor) -> Tensor:
    """``∂(Σ y)/∂xt`` with the graph kept; zeros where ``y`` does not depend on ``xt`` (e.g. the
    second derivative of a linear function, which autograd leaves without a graph).
    """
    if not y.requires_grad:
        return torch.zeros_like(xt)
    (g,) = torch.autograd.grad(y.sum(), xt, create_graph=True, allow_unused=True)
    return torch.zeros_like(xt) if g is None else g


@dataclass(frozen=True)
class BurgersLoss:
    """The loss and its parts (scalar tensors): ``total = residual + data``, where ``data`` is
    the MSE over the initial and boundary points together; ``initial`` and ``boundary`` are
    that MSE restricted to each set (for reporting).
    """

    total: Tensor
    residual: Tensor
    data: Tensor
    initial: Tensor
    boundary: Tensor

    __repr__ = compact_repr

    def floats(self) -> dict[str, float]:
        """The loss and its parts as Python floats."""
        return {
            name: getattr(self, name).item() for name in ("total", "residual", "data", "initial", "boundary")
        }


def burgers_loss(model: nn.Module, points: BurgersPoints, nu: float = NU) -> BurgersLoss:
    """``MSE(r(collocation)) + MSE(u(data) − targets)``; see :class:`BurgersLoss`."""
    residual = burgers_residual(model, points.collocation, nu).pow(2).mean()
    data = _check_xt(points.data, "initial/boundary points")
    err = (_evaluate(model, data) - points.targets.to(data.dtype)).pow(2)
    n0 = len(points.initial)
    return BurgersLoss(residual + err.mean(), residual, err.mean(), err[:n0].mean(), err[n0:].mean())


@dataclass(frozen=True)
class PinnResult:
    """Loss curve (one total loss per Adam step, then per L-BFGS loss evaluation — line searches
    evaluate several times per iteration) and the final loss parts.
    """

    losses: np.ndarray
    final: dict[str, float]
    adam_steps: int
    lbfgs_evaluations: int

    __repr__ = compact_repr


def train_pinn(
    model: nn.Module,
    points: BurgersPoints,
    *,
    adam_steps: int,
    lr: float = 1e-3,
    lbfgs_iterations: int = 0,
    nu: float = NU,
) -> PinnResult:
    """Full-batch training: ``adam_steps`` Adam steps at ``lr``, then ``lbfgs_iterations`` of
    L-BFGS (strong Wolfe line search), as in Raissi et al. (2019).  Deterministic (no sampling).

    Stops early only if the loss turns NaN/inf (``final`` then holds NaN; the curve ends there).
    """
    check_int(adam_steps, "adam_steps", minimum=0)
    check_int(lbfgs_iterations, "lbfgs_iterations", minimum=0)
    check_positive(lr, "lr")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    losses: list[float] = []
    adam = torch.optim.Adam(params, lr=lr)
    for _ in range(adam_steps):
        adam.zero_grad(set_to_none=True)
        loss = burgers_loss(model, points, nu).total
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            break
        loss.backward()
        adam.step()
    if lbfgs_iterations and math.isfinite(losses[-1] if losses else 0.0):
        lbfgs = torch.optim.LBFGS(
            params,
            lr=1.0,
            max_iter=lbfgs_iterations,
            history_size=50,
            tolerance_grad=1e-9,
            tolerance_change=1e-12,
            line_search_fn="strong_wolfe",
        )

        def closure() -> Tensor:
            lbfgs.zero_grad(set_to_none=True)
            loss = burgers_loss(model, points, nu).total
            losses.append(loss.item())
            loss.backward()
            return loss

        lbfgs.step(closure)
    final = burgers_loss(model, points, nu).floats()
    adam_done = min(adam_steps, len(losses))
    return PinnResult(np.asarray(losses), final, adam_done, len(losses) - adam_done)


def reference_solution(x: np.ndarray, t: np.ndarray, nu: float = NU, *, nodes: int = 8001) -> np.ndarray:
    """Exact ``u(x, t)`` of the benchmark by the Cole–Hopf transform, on the grid ``x × t``.

    ``u(x,t) = −∫ sin(π(x−η)) φ₀(x−η) e^{−η²/4νt} dη / ∫ φ₀(x−η) e^{−η²/4νt} dη`` with
    ``φ₀(y) = exp(−cos(πy)/(2πν))`` (Basdevant et al. 1986).  Both integrals use the trapezoid
    rule on ``nodes`` points over ``η²/(4νt) ≤ 1/(πν) + 40``: ``φ₀`` spans a factor
    ``e^{1/(πν)}`` (``e^{100}`` here), so beyond that range the Gaussian leaves less than
    ``e^{−40}``.  Sums run in log space (softmax weights), so nothing overflows.  ``t = 0``
    returns ``−sin(πx)``.
    Returns an array of shape ``(len(x), len(t))``.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    if not (np.isfinite(x).all() and np.isfinite(t).all()) or (t < 0).any():
        raise ValueError("x and t must be finite and t ≥ 0")
    check_positive(nu, "nu")
    nodes = check_int(nodes, "nodes", minimum=3)
    out = np.empty((len(x), len(t)))
    unit = np.linspace(-1.0, 1.0, nodes)
    for j, tj in enumerate(t):
        if tj == 0:
            out[:, j] = -np.sin(np.pi * x)
            continue
        eta = math.sqrt(4 * nu * tj * (1 / (math.pi * nu) + 40)) * unit
        y = x[:, None] - eta[None, :]
        logw = -np.cos(np.pi * y) / (2 * np.pi * nu) - eta**2 / (4 * nu * tj)
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        w[:, [0, -1]] *= 0.5  # trapezoid end weights
        out[:, j] = -(w * np.sin(np.pi * y)).sum(axis=1) / w.sum(axis=1)
    return out

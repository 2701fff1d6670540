"""specinit.measure.curvature against PyHessian 0.1 (arXiv 1912.07145): HVP time, top eigenvalue, trace.

Both sides get the same model and the same batch, in one process: an MLP 64-256-256-10 (ReLU,
``specinit.nn.models.mlp``, 85,002 parameters, float32) with a mean cross-entropy loss on a batch
of 1,000 seeded points, in two variants:

* ``random`` — PyTorch's default init (seeded) on Gaussian inputs with uniformly random labels;
* ``trained`` — the same architecture trained with Adam (lr 1e-3, mini-batches of 100,
  ``--train-steps`` steps) on a seeded synthetic task: 4,000 Gaussian inputs labelled by the
  argmax of a random teacher MLP 64-64-10, 10% of the labels replaced by random ones.  The
  Hessian batch is the first 1,000 training points, so its spectrum has the few large outliers
  and the long decaying tail of a trained classifier.

What it measures:

* per-HVP time — a single batch: PyHessian's cached-graph product
  (``pyhessian.utils.hessian_vector_product`` on ``hessian(...).gradsH``, as its estimators call
  it) against ``HessianOperator(model, "cross_entropy", (x, y)).matvec``; a data loader (a list
  holding the one batch): ``hessian(..., dataloader=...).dataloader_hv_product`` against
  ``HessianOperator(model, "cross_entropy", [(x, y)]).matvec``.  Each side gets the same random
  direction in its own format (a list of tensors / a flat vector); products are timed one by
  one (``time.perf_counter`` and ``time.process_time``), interleaved in rounds of
  ``PRODUCTS_PER_ROUND`` per side whose order alternates, after warm-up; the median over
  ``--repeats`` rounds.  CPU time is less disturbed than wall time by other jobs on a shared
  machine.  Target: ours / theirs ≤ 1.1.
* top eigenvalue — PyHessian's ``eigenvalues(top_n=1)`` (power iteration, its defaults
  ``maxIter=100, tol=1e-3``) against ``hessian_eigs(op, k=1, method="lanczos")`` (its default
  tolerance, √eps of float32), each with its products counted, against a reference from
  Lanczos on a float64 copy of the model at ``tol=1e-10``.
* trace error at equal budgets of ``m`` products (``--budgets``) — Hutchinson and Hutch++
  (ours, ``hessian_trace``), and PyHessian's ``trace`` loop run for exactly ``m`` samples
  (see below), over ``--seeds`` seeds: mean absolute error against the exact trace.  Target:
  Hutch++'s error at most half of Hutchinson's on the trained model.  Also PyHessian's
  ``trace`` at its default tolerance (``maxIter=m, tol=1e-3``): its error and how many samples
  it actually took before stopping.
* SLQ density — PyHessian's ``density(iter=90, n_v=1)`` (needs the ``torch.eig`` shim) against
  ``hessian_density(op, n_probes=1, n_steps=90)``: the largest Ritz value against the reference
  top eigenvalue, the SLQ trace estimate ``size · Σ wᵢ θᵢ`` against the exact trace, time.

The exact trace.  A dense Hessian of 85,002² entries (29 GB in float32) cannot be formed, and
``Σ_p e_pᵀ H e_p`` would cost 85,002 products.  For a ReLU network the trace is exact and cheap
anyway: ``H = G + Σ_nk (∂ℓ_n/∂f_nk) ∇²_θ f_nk`` with the Gauss–Newton matrix
``G = (1/N) Σ_n J_nᵀ (diag p_n − p_n p_nᵀ) J_n`` (``J_n`` the Jacobian of the logits of point
``n`` w.r.t. the parameters, ``p_n`` its softmax).  The network is linear in each layer's
``(W, b)`` for a fixed activation pattern (ReLU's second derivative is zero, also in autograd's
double backward), so every diagonal block of ``∇²_θ f`` vanishes, the diagonals of ``H`` and
``G`` coincide, and ``tr H = Σ_p G_pp``.  ``G_pp = (1/N) Σ_n (Σ_k p_nk J_nkp² − (Σ_k p_nk
J_nkp)²)`` is computed in float64 from per-point Jacobians (``torch.func.vmap(jacrev)``, in
chunks of ``JACOBIAN_CHUNK`` points).  The script checks this on ``CHECKS_PER_TENSOR``
seeded coordinates of every parameter tensor: ``e_pᵀ H e_p`` by a float64 HVP against
``G_pp``, and prints the largest difference.  The estimators run in float32; its round-off
(~1e-6 relative) is far below the errors measured.

PyHessian 0.1 on current PyTorch (read from its source, not copied):

* ``density`` calls ``torch.eig(T, eigenvectors=True)``, removed in PyTorch 1.9+ (it now
  raises).  :func:`legacy_torch_eig` patches ``torch.eig`` for the duration of that call only
  (and only when the installed one is missing or raises): eigenvalues as an ``(n, 2)`` real
  tensor of (real, imaginary) parts and real eigenvectors as columns, the old layout, built on
  ``torch.linalg.eig``.  PyHessian's matrix is the symmetric Lanczos tridiagonal, so the spectrum
  is real; the shim refuses a complex spectrum rather than guess the old packed layout.
* ``trace`` stops when ``|mean_i − mean_{i−1}| / (mean_{i−1} + 1e-6) < tol``.  When the running
  mean is negative the left side is negative, below any positive ``tol``, so the loop stops at
  the next sample — a negative early estimate ends the run; otherwise it also stops as soon as
  two running means agree to ``tol`` by chance.  ``tol = -inf`` makes the test never true, so
  ``trace(maxIter=m, tol=-inf)`` draws exactly ``m`` samples: that is the equal-budget column.
  Its probes (``torch.randint_like`` per parameter tensor, from the global generator seeded with
  ``s``) are the same ±1 vectors as ours (``torch.randint`` from a generator seeded with ``s``,
  one probe after the other, parameters in the same order): the column "max |PyH − Hutchinson|"
  shows the two estimates coincide to round-off, so PyHessian's trace *is* our Hutchinson at
  equal budget, and the comparison that matters is Hutch++ against it.
* ``hessian(...)`` puts the model in eval mode and leaves ``.grad`` (with its graph) on every
  parameter; :func:`pyhessian_on` restores each submodule's mode and clears the gradients after.
  Its random probes come from the global RNG, so each call runs inside
  ``torch.random.fork_rng`` with ``torch.manual_seed(seed)``.
* Its products are counted by wrapping the ``hessian_vector_product`` that its module calls,
  for the duration of a call (:func:`counting_pyhessian_products`).

Run (PyHessian lives in the bench venv, next to specinit installed editable)::

    /tmp/benchvenv/bin/pip install -c constraints.txt -e ".[bench]"
    OMP_NUM_THREADS=1 /tmp/benchvenv/bin/python bench/curvature_vs_pyhessian.py --markdown

Measured with that command (2-core shared CPU, load average 3-4, one thread, 5.5 min):
per-HVP ratio ours / PyHessian 1.00-1.02 by CPU time on both paths (one batch ≈ 7 ms, data
loader ≈ 12 ms), target met; top eigenvalue: Lanczos within 1e-7 of the float64 reference in
21-31 products, PyHessian's power iteration off by 1.1e-2 (random) and 6.3e-4 (trained) after
11-16; trained-model trace, mean absolute error over 10 seeds, Hutch++ / Hutchinson = 1.12 at
30 products, 0.68 at 99, 0.28 at 300 (target ≤ 0.5 met at 300 only: the trace, 209, is spread
over a long tail — the Hutch++ sketch holds 13% / 22% / 37% of it — and Rademacher Hutchinson
is already at 1.6% / 1.3% / 0.8%).  ``hessian_density`` on the trained float32 model stopped
after 6 of 90 Lanczos steps (its breakdown test ``β ≤ 10·n·eps·scale`` is 10% of the scale at
n = 85,002 in float32), which the "nodes" column shows.
"""

from __future__ import annotations

import argparse
import copy
import functools
import importlib
import math
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
import torch
import torch.nn.functional as F
from pyhessian import utils as pyhessian_utils
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap

import specinit
from specinit._core.tables import text_table
from specinit.measure.curvature import HessianOperator, hessian_density, hessian_eigs, hessian_trace

ARCH = (64, [256, 256], 10)  # in_features, hidden widths, classes
N_HESSIAN = 1000  # the Hessian batch
N_TRAIN = 4000  # training set of the "trained" variant (the Hessian batch is its first N_HESSIAN)
TEACHER_WIDTH = 64  # the random teacher MLP 64-64-10 that labels the synthetic task
LABEL_NOISE = 0.1  # fraction of training labels replaced by random ones
TRAIN_LR = 1e-3  # Adam
TRAIN_BATCH = 100
HVP_TARGET = 1.1  # ours / PyHessian per-HVP time
TRACE_TARGET = 0.5  # Hutch++ / Hutchinson mean absolute error, trained model
PRODUCTS_PER_ROUND = 5  # timed products per side per round
WARMUP = 3  # untimed products per side first
REFERENCE_TOL = 1e-10  # float64 Lanczos reference for the top eigenvalue
SLQ_STEPS = 90  # Lanczos steps of both density estimates
JACOBIAN_CHUNK = 25  # points per vmap(jacrev) call for the exact trace (25·10·85k float64 ≈ 170 MB)
CHECKS_PER_TENSOR = 8  # coordinates per parameter tensor where e_pᵀHe_p is checked against G_pp
VARIANTS = ("random", "trained")

# the module, not the class of the same name that ``pyhessian/__init__.py`` re-exports over it
pyhessian_hessian = importlib.import_module("pyhessian.hessian")


@dataclass(frozen=True)
class Problem:
    """A model and its Hessian batch, with a one-line description."""

    variant: str
    model: nn.Module
    x: Tensor
    y: Tensor
    note: str


# --------------------------------------------------------------------------- the problems


def _seeded_mlp(seed: int, widths: Sequence[int] = ARCH[1]) -> nn.Sequential:
    with _seeded(seed):
        return specinit.nn.models.mlp(ARCH[0], list(widths), ARCH[2], "relu")


def make_problem(variant: str, seed: int, train_steps: int) -> Problem:
    """The ``random`` or ``trained`` model and its Hessian batch (see the module docstring)."""
    g = torch.Generator().manual_seed(seed)
    if variant == "random":
        x = torch.randn(N_HESSIAN, ARCH[0], generator=g)
        y = torch.randint(0, ARCH[2], (N_HESSIAN,), generator=g)
        return Problem(variant, _seeded_mlp(seed), x, y, "default init, Gaussian x, random labels")
    x = torch.randn(N_TRAIN, ARCH[0], generator=g)
    with torch.no_grad():
        y = _seeded_mlp(seed + 1, [TEACHER_WIDTH])(x).argmax(dim=1)
    noisy = torch.rand(N_TRAIN, generator=g) < LABEL_NOISE
    y[noisy] = torch.randint(0, ARCH[2], (int(noisy.sum()),), generator=g)
    model = _seeded_mlp(seed)
    specinit.train(
        model,
        x,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=TRAIN_LR,
        steps=train_steps,
        batch_size=TRAIN_BATCH,
        generator=seed,
        progress=False,
    )
    xb, yb = x[:N_HESSIAN], y[:N_HESSIAN]
    with torch.no_grad():
        logits = model(xb)
    note = (
        f"Adam {train_steps} steps on teacher labels ({LABEL_NOISE:.0%} noise): batch loss "
        f"{float(F.cross_entropy(logits, yb)):.3f}, "
        f"accuracy {float((logits.argmax(1) == yb).float().mean()):.3f}"
    )
    return Problem(variant, model, xb, yb, note)


# --------------------------------------------------------------------------- exact trace


def gauss_newton_diagonal(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """``G_pp = (1/N) Σ_n (Σ_k p_nk J_nkp² − (Σ_k p_nk J_nkp)²)`` in float64, flattened in
    ``named_parameters`` order (the diagonal of the cross-entropy Gauss–Newton matrix; equal to
    the Hessian's diagonal for a ReLU MLP, see the module docstring).  ``y`` is unused by ``G``
    but checked for the batch size.
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
    model64 = copy.deepcopy(model).double().eval()
    params = {n: p.detach() for n, p in model64.named_parameters()}

    def logits(p: dict[str, Tensor], xi: Tensor) -> Tensor:
        return functional_call(model64, p, (xi.unsqueeze(0),)).squeeze(0)

    per_point = vmap(jacrev(logits), in_dims=(None, 0))
    diagonal = torch.zeros(sum(p.numel() for p in params.values()), dtype=torch.float64)
    for start in range(0, x.shape[0], JACOBIAN_CHUNK):
        xc = x[start : start + JACOBIAN_CHUNK].double()
        jac = per_point(params, xc)  # name -> (c, classes, *shape)
        J = torch.cat([jac[n].reshape(xc.shape[0], ARCH[2], -1) for n in params], dim=2)
        with torch.no_grad():
            p = torch.softmax(functional_call(model64, params, (xc,)), dim=1).unsqueeze(2)
        diagonal += ((p * J**2).sum(1) - (p * J).sum(1) ** 2).sum(0)
    return diagonal / x.shape[0]


def float64_operator(problem: Problem) -> HessianOperator:
    """The problem's Hessian in float64 (on a float64 copy of the model)."""
    model64 = copy.deepcopy(problem.model).double()
    return HessianOperator(model64, "cross_entropy", (problem.x.double(), problem.y))


def check_diagonal(op: HessianOperator, diagonal: Tensor, seed: int) -> float:
    """Largest ``|e_pᵀ H e_p − G_pp| / max_p |G_pp|`` over ``CHECKS_PER_TENSOR`` seeded
    coordinates of each parameter tensor (float64 HVPs).
    """
    g = torch.Generator().manual_seed(seed)
    coords, offset = [], 0
    for p in op.model.parameters():
        coords += (offset + torch.randint(0, p.numel(), (CHECKS_PER_TENSOR,), generator=g)).tolist()
        offset += p.numel()
    worst = 0.0
    for c in coords:
        e = torch.zeros(op.size, dtype=torch.float64)
        e[c] = 1.0
        worst = max(worst, abs(float(op.matvec(e)[c]) - float(diagonal[c])))
    return worst / float(diagonal[coords].abs().max())


# --------------------------------------------------------------------------- PyHessian plumbing


def _removed(fn: Callable[..., object] | None) -> bool:
    if fn is None:
        return True
    try:
        fn(torch.ones(1, 1))
    except RuntimeError:
        return True
    return False


def _legacy_eig(input: Tensor, eigenvectors: bool = False) -> tuple[Tensor, Tensor]:
    """``torch.eig`` as before its removal, for a real spectrum: ``(n, 2)`` (real, imaginary)
    eigenvalues and real unit eigenvectors as columns (an empty tensor without ``eigenvectors``).
    """
    values, vectors = torch.linalg.eig(input)
    if bool((values.imag != 0).any()):
        raise ValueError("the torch.eig shim covers real spectra only (PyHessian's symmetric tridiagonal)")
    pairs = torch.stack([values.real, values.imag], dim=1)
    return pairs, (vectors.real if eigenvectors else input.new_empty(0))


@contextmanager
def legacy_torch_eig() -> Iterator[None]:
    """``torch.eig`` patched with :func:`_legacy_eig` inside the block, if the installed one is
    missing or raises (restored on exit).
    """
    original = getattr(torch, "eig", None)
    if not _removed(original):
        yield
        return
    # torch.eig is gone from current PyTorch (PyHessian still calls it): patched in for the block.
    torch.eig = _legacy_eig  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if original is None:
            del torch.eig
        else:
            torch.eig = original  # type: ignore[attr-defined]


@contextmanager
def counting_pyhessian_products() -> Iterator[list[int]]:
    """Count the calls PyHessian's estimators make to its single-batch HVP (``[count]``)."""
    original = pyhessian_hessian.hessian_vector_product
    count = [0]

    def counted(*args: object, **kwargs: object) -> object:
        count[0] += 1
        return original(*args, **kwargs)

    pyhessian_hessian.hessian_vector_product = counted
    try:
        yield count
    finally:
        pyhessian_hessian.hessian_vector_product = original


@contextmanager
def pyhessian_on(model: nn.Module, x: Tensor, y: Tensor, *, loader: bool = False) -> Iterator[object]:
    """PyHessian's ``hessian`` object on one batch (or a one-batch "data loader"); every
    submodule's mode is restored and the parameters' ``.grad`` cleared afterwards.
    """
    modes = [m.training for m in model.modules()]
    kwargs = {"dataloader": [(x, y)]} if loader else {"data": (x, y)}
    try:
        with warnings.catch_warnings():  # its backward(create_graph=True): the cycle is broken below
            warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
            h = pyhessian_hessian.hessian(model, nn.CrossEntropyLoss(), cuda=False, **kwargs)
        yield h
    finally:
        for module, mode in zip(model.modules(), modes, strict=True):
            module.training = mode
        for p in model.parameters():
            p.grad = None


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        yield


# --------------------------------------------------------------------------- measurements


def _relative(value: float, reference: float) -> float:
    return abs(value - reference) / abs(reference)


def time_products(
    ours: Callable[[], object], theirs: Callable[[], object], repeats: int
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds per product of each side, timed one product at a time in
    interleaved rounds whose order alternates.
    """
    sides = {"ours": ours, "theirs": theirs}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for fn in sides.values():
        for _ in range(WARMUP):
            fn()
    for r in range(repeats):
        for name in ("ours", "theirs") if r % 2 == 0 else ("theirs", "ours"):
            for _ in range(PRODUCTS_PER_ROUND):
                wall, cpu = time.perf_counter(), time.process_time()
                sides[name]()
                times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {
        name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
        for name, ts in times.items()
    }


def hvp_rows(problem: Problem, repeats: int, seed: int) -> list[dict[str, str]]:
    """Per-HVP time, one batch and a one-batch loader, ours against PyHessian's."""
    model, x, y = problem.model, problem.x, problem.y
    rows = []
    for path, loader in (("one batch", False), ("data loader", True)):
        op = HessianOperator(model, "cross_entropy", [(x, y)] if loader else (x, y))
        v = torch.randn(op.size, generator=torch.Generator().manual_seed(seed))
        v_list = list(op.unflatten(v).values())
        with pyhessian_on(model, x, y, loader=loader) as h:
            theirs = (
                (lambda h=h, v_list=v_list: h.dataloader_hv_product(v_list)[1])
                if loader
                else functools.partial(pyhessian_utils.hessian_vector_product, h.gradsH, h.params, v_list)
            )
            ours_hv, theirs_hv = op.matvec(v), torch.cat([t.reshape(-1) for t in theirs()])
            agree = float((ours_hv - theirs_hv).norm() / theirs_hv.norm())  # the same product?
            t = time_products(functools.partial(op.matvec, v), theirs, repeats)
        wall, cpu = t["ours"][0] / t["theirs"][0], t["ours"][1] / t["theirs"][1]
        rows.append(
            {
                "variant": problem.variant,
                "path": path,
                "PyHessian ms": f"{1e3 * t['theirs'][0]:.1f}",
                "ours ms": f"{1e3 * t['ours'][0]:.1f}",
                "ratio (wall)": f"{wall:.2f}",
                "CPU ms (PyH / ours)": f"{1e3 * t['theirs'][1]:.1f} / {1e3 * t['ours'][1]:.1f}",
                "ratio (CPU)": f"{cpu:.2f}",
                "‖Δ Hv‖/‖Hv‖": f"{agree:.1e}",
                "target ≤ 1.1": _verdict(wall <= HVP_TARGET, f"wall {wall:.2f}, CPU {cpu:.2f}"),
            }
        )
    return rows


def reference_top_eigenvalue(op: HessianOperator, seed: int) -> float:
    return float(hessian_eigs(op, k=1, method="lanczos", tol=REFERENCE_TOL, generator=seed).eigenvalues[0])


def eigen_row(problem: Problem, reference: float, seed: int) -> dict[str, str]:
    """Top eigenvalue: PyHessian's power iteration against our Lanczos."""
    model, x, y = problem.model, problem.x, problem.y
    with pyhessian_on(model, x, y) as h, counting_pyhessian_products() as count, _seeded(seed):
        start = time.perf_counter()
        theirs = float(h.eigenvalues(top_n=1)[0][0])
        their_time = time.perf_counter() - start
    op = HessianOperator(model, "cross_entropy", (x, y))
    start = time.perf_counter()
    ours = hessian_eigs(op, k=1, method="lanczos", generator=seed)
    our_time = time.perf_counter() - start
    value = float(ours.eigenvalues[0])
    return {
        "variant": problem.variant,
        "λ_max (float64 ref)": f"{reference:.6g}",
        "PyHessian": f"{theirs:.6g}",
        "PyH rel. err": f"{_relative(theirs, reference):.1e}",
        "PyH matvecs": str(count[0]),
        "PyH s": f"{their_time:.2f}",
        "ours (Lanczos)": f"{value:.6g}",
        "ours rel. err": f"{_relative(value, reference):.1e}",
        "ours matvecs": str(ours.num_matvecs),
        "ours s": f"{our_time:.2f}",
        "ours vs PyHessian": f"{_relative(value, theirs):.1e}",
    }


@dataclass(frozen=True)
class TraceErrors:
    """Mean absolute errors over seeds at one budget (and PyHessian-at-default-tol's samples)."""

    budget: int
    hutchinson: float
    hutchpp: float
    pyhessian: float
    pyhessian_default: float
    default_samples: float
    negative_stops: int
    pyhessian_vs_hutchinson: float  # largest |PyHessian − our Hutchinson| over the seeds
    sketch_share: float  # mean tr(QᵀHQ) / tr H: the part of the trace Hutch++'s sketch gets exactly


def trace_errors(problem: Problem, exact: float, budgets: Sequence[int], seeds: int) -> list[TraceErrors]:
    """Mean |estimate − exact| over ``seeds`` seeds for each budget and estimator."""
    model, x, y = problem.model, problem.x, problem.y
    op = HessianOperator(model, "cross_entropy", (x, y))
    out = []
    with pyhessian_on(model, x, y) as h:
        for m in budgets:
            errors: dict[str, list[float]] = {k: [] for k in ("hutchinson", "hutch++", "pyh", "pyh_default")}
            used, negative, same, share = [], 0, 0.0, []
            for s in range(seeds):
                ests = {
                    method: hessian_trace(op, method=method, num_matvecs=m, generator=s)
                    for method in ("hutchinson", "hutch++")
                }
                for method, est in ests.items():
                    assert est.num_matvecs == m, (method, est.num_matvecs, m)
                    errors[method].append(abs(est.estimate - exact))
                share.append(ests["hutch++"].exact_part / exact)
                with _seeded(s):
                    samples = h.trace(maxIter=m, tol=-math.inf)
                assert len(samples) == m, (len(samples), m)
                errors["pyh"].append(abs(float(np.mean(samples)) - exact))
                same = max(same, abs(float(np.mean(samples)) - ests["hutchinson"].estimate))
                with _seeded(s):
                    samples = h.trace(maxIter=m)
                used.append(len(samples))
                errors["pyh_default"].append(abs(float(np.mean(samples)) - exact))
                negative += int(len(samples) < m and float(np.mean(samples[:-1])) < 0)
            out.append(
                TraceErrors(
                    m,
                    *(float(np.mean(errors[k])) for k in errors),
                    float(np.mean(used)),
                    negative,
                    same,
                    float(np.mean(share)),
                )
            )
    return out


def trace_rows(
    problem: Problem, exact: float, errors: Sequence[TraceErrors], seeds: int
) -> list[dict[str, str]]:
    def cell(e: float) -> str:
        return f"{e:.4g} ({100 * e / abs(exact):.2f}%)"

    rows = []
    for e in errors:
        ratio = e.hutchpp / e.hutchinson
        verdict = (
            _verdict(ratio <= TRACE_TARGET, f"{ratio:.2f}")
            if problem.variant == "trained"
            else f"{ratio:.2f} (no target)"
        )
        rows.append(
            {
                "variant": problem.variant,
                "matvecs": str(e.budget),
                "exact tr H": f"{exact:.6g}",
                f"Hutchinson MAE ({seeds} seeds)": cell(e.hutchinson),
                "Hutch++ MAE": cell(e.hutchpp),
                "PyHessian MAE": cell(e.pyhessian),
                "max Δ PyH vs Hutchinson": f"{e.pyhessian_vs_hutchinson:.1e}",
                "sketch's share of tr": f"{e.sketch_share:.0%}",
                "PyHessian tol=1e-3: MAE, samples": f"{cell(e.pyhessian_default)}, {e.default_samples:.1f}"
                + (f", {e.negative_stops} neg. stops" if e.negative_stops else ""),
                "Hutch++/Hutchinson ≤ 0.5": verdict,
            }
        )
    return rows


def density_row(problem: Problem, reference: float, seed: int) -> dict[str, str]:
    """SLQ: PyHessian's ``density`` (through the torch.eig shim) against ``hessian_density``."""
    model, x, y = problem.model, problem.x, problem.y
    op = HessianOperator(model, "cross_entropy", (x, y))
    with (
        pyhessian_on(model, x, y) as h,
        counting_pyhessian_products() as count,
        legacy_torch_eig(),
        _seeded(seed),
    ):
        start = time.perf_counter()
        nodes, _ = h.density(iter=SLQ_STEPS, n_v=1)  # Ritz values and weights per probe
        their_time = time.perf_counter() - start
    theirs_nodes = np.asarray(nodes[0])
    start = time.perf_counter()
    ours = hessian_density(op, n_probes=1, n_steps=SLQ_STEPS, generator=seed)
    our_time = time.perf_counter() - start
    return {
        "variant": problem.variant,
        "PyH max θ (rel. err)": (
            f"{theirs_nodes.max():.6g} ({_relative(float(theirs_nodes.max()), reference):.1e})"
        ),
        "PyH nodes, matvecs, s": f"{theirs_nodes.size}, {count[0]}, {their_time:.2f}",
        "ours max θ (rel. err)": (
            f"{ours.nodes.max():.6g} ({_relative(float(ours.nodes.max()), reference):.1e})"
        ),
        "ours nodes, matvecs, s": f"{ours.nodes.size}, {ours.num_matvecs}, {our_time:.2f}",
    }


def _verdict(met: bool, detail: str) -> str:
    return f"{'met' if met else 'MISSED'} ({detail})"


# --------------------------------------------------------------------------- main


def verdicts(hvp: Sequence[dict[str, str]], trace: Sequence[dict[str, str]]) -> list[str]:
    """One line per target, from the verdict cells of the tables."""
    hvp_met = [r for r in hvp if r["target ≤ 1.1"].startswith("met")]
    lines = [
        f"per-HVP time ≤ {HVP_TARGET}× PyHessian's (wall): met in {len(hvp_met)} of {len(hvp)} rows"
        + "".join(
            f"; MISSED: {r['variant']} {r['path']} {r['target ≤ 1.1']}" for r in hvp if r not in hvp_met
        )
    ]
    trained = [r for r in trace if r["variant"] == "trained"]
    if trained:
        cells = [f"{r['matvecs']} matvecs: {r['Hutch++/Hutchinson ≤ 0.5']}" for r in trained]
        lines.append(
            f"Hutch++ error ≤ {TRACE_TARGET}× Hutchinson's on the trained model: " + "; ".join(cells)
        )
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument(
        "--budgets", nargs="+", type=int, default=[30, 99, 300], help="matvec budgets of the trace comparison"
    )
    parser.add_argument("--seeds", type=int, default=10, help="seeds per trace budget")
    parser.add_argument("--repeats", type=int, default=15, help="timing rounds per HVP path")
    parser.add_argument("--train-steps", type=int, default=400, help="Adam steps of the trained variant")
    parser.add_argument("--seed", type=int, default=0, help="data, model and probe seed")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    if min(args.budgets) < 4 or args.seeds < 1 or args.repeats < 1 or args.threads < 1:
        parser.error("budgets must be >= 4 (Hutch++), seeds, repeats and threads >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    begin, load = time.perf_counter(), os.getloadavg()
    print(
        f"torch {torch.__version__}, PyHessian {version('pyhessian')}, specinit {version('specinit')}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{torch.get_num_threads()} thread(s), OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    sections: dict[str, list[dict[str, str]]] = {"hvp": [], "eig": [], "trace": [], "density": []}
    for variant in args.variants:
        problem = make_problem(variant, args.seed, args.train_steps)
        diagonal = gauss_newton_diagonal(problem.model, problem.x, problem.y)
        exact = float(diagonal.sum())
        op64 = float64_operator(problem)
        check = check_diagonal(op64, diagonal, args.seed)
        reference = reference_top_eigenvalue(op64, args.seed)
        print(
            f"\n[{variant}] {problem.note}; exact tr H = {exact:.8g} "
            f"(Σ G_pp; max |e_pᵀHe_p − G_pp| / max G_pp over {CHECKS_PER_TENSOR} coords/tensor: "
            f"{check:.1e}), "
            f"λ_max = {reference:.8g}"
        )
        sections["hvp"] += hvp_rows(problem, args.repeats, args.seed)
        sections["eig"].append(eigen_row(problem, reference, args.seed))
        sections["trace"] += trace_rows(
            problem, exact, trace_errors(problem, exact, args.budgets, args.seeds), args.seeds
        )
        sections["density"].append(density_row(problem, reference, args.seed))
        print(f"  done after {time.perf_counter() - begin:.0f} s")
    titles = {
        "hvp": (
            f"Per-HVP time (median of {args.repeats}×{PRODUCTS_PER_ROUND} per side; ratio = ours / PyHessian)"
        ),
        "eig": "Top eigenvalue (PyHessian: power iteration maxIter=100 tol=1e-3; ours: Lanczos, tol √eps32)",
        "trace": "Trace: mean |estimate − exact| at equal matvec budgets (PyHessian: its loop, tol=-inf)",
        "density": f"SLQ density, 1 probe × {SLQ_STEPS} steps (PyHessian through the torch.eig shim)",
    }
    for key, rows in sections.items():
        print(f"\n{titles[key]}\n")
        print(text_table(rows, markdown=args.markdown))
    print("\nVerdicts")
    for line in verdicts(sections["hvp"], sections["trace"]):
        print(f"- {line}")
    load = os.getloadavg()
    print(
        f"\ntotal {time.perf_counter() - begin:.0f} s; load average at the end "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


if __name__ == "__main__":
    main()

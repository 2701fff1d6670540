"""``specinit.measure.kernels.ntk`` against a per-sample Jacobian loop, and against jvp∘vjp, in one run.

What it measures (CPU, float32 models, all sides in the same process):

* **ours** — ``specinit.measure.kernels.ntk(model, x)`` (``method="auto"``): for every ``nn.Linear``
  layer the Gram product ``(g·g')(a·a' + 1)`` of its output signals and inputs, and
  ``torch.func.vmap(jacrev(f))`` Jacobians for any other parameter, ``J`` never formed;
* **loop** — the textbook baseline: for each point and output, ``torch.autograd.grad`` of the
  output with respect to every parameter (one backward pass each), stack the rows into ``J``
  and form ``J Jᵀ``;
* **jvp∘vjp** — the "NTK-vector product" route (Novak et al. 2022, arXiv 2206.08720): column
  ``j`` of ``Θ`` is ``J (Jᵀ e_j)``, a ``vjp`` followed by a ``jvp`` over all points, vmapped
  over chunks of ``e_j``.  It never stores ``J`` but costs one forward-mode pass over all
  ``n`` points per column; it is timed to justify the choice of the Jacobian route.

Per model: median wall time over ``--repeats`` runs (after one warm-up run), the ratio
loop / ours (target: ≥ 10× on 1000 points, issue 7) and the largest absolute and relative
difference between our kernel and the loop's.  Models: the shallow NTK-parameterized network
of the kernel-bias experiment (width 1024), a two-hidden-layer tanh MLP (256, 256) and a
three-output MLP (``outputs="full"``, ``Θ`` of shape ``(n, n, 3, 3)``).

Run::

    OMP_NUM_THREADS=1 .venv/bin/python bench/ntk_vs_jacobian_loop.py
    .venv/bin/python bench/ntk_vs_jacobian_loop.py --points 1000 --repeats 3 --threads 1 --markdown
"""

from __future__ import annotations

import argparse
import functools
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call, jvp, vjp, vmap

from specinit._core.tables import text_table
from specinit.initializers.registry import init_
from specinit.measure import kernels
from specinit.nn.models import ShallowNTKNet, mlp

TARGET = 10.0  # loop / ours speed-up asked for by issue 7
JVP_CHUNK = 50  # columns of Θ per vmapped jvp∘vjp call (memory: chunk · n · width numbers)


def loop_ntk(model: nn.Module, x: Tensor) -> Tensor:
    """``J Jᵀ`` with ``J`` built row by row: one ``autograd.grad`` per point and output."""
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for xi in x:
        out = model(xi.unsqueeze(0)).reshape(-1)
        for o in range(out.numel()):
            grads = torch.autograd.grad(out[o], params, retain_graph=o < out.numel() - 1)
            rows.append(torch.cat([g.reshape(-1) for g in grads]))
    j = torch.stack(rows)
    n_out = j.shape[0] // x.shape[0]
    theta = (j @ j.T).reshape(x.shape[0], n_out, x.shape[0], n_out).permute(0, 2, 1, 3)
    return theta[:, :, 0, 0] if n_out == 1 else theta


def jvp_vjp_ntk(model: nn.Module, x: Tensor) -> Tensor:
    """Column ``j`` of ``Θ`` as ``J (Jᵀ e_j)``: a vjp, then a jvp over all points."""
    params = {k: p.detach() for k, p in model.named_parameters()}

    def f(p: dict[str, Tensor]) -> Tensor:
        return functional_call(model, p, (x,)).reshape(-1)

    out, pullback = vjp(f, params)

    def column(e: Tensor) -> Tensor:
        (tangent,) = pullback(e)
        return jvp(f, (params,), (tangent,))[1]

    eye = torch.eye(out.numel(), dtype=out.dtype)
    theta = torch.cat([vmap(column)(eye[s : s + JVP_CHUNK]) for s in range(0, out.numel(), JVP_CHUNK)])
    n_out = out.numel() // x.shape[0]
    theta = theta.T.reshape(x.shape[0], n_out, x.shape[0], n_out).permute(0, 2, 1, 3)
    return theta[:, :, 0, 0] if n_out == 1 else theta


def timed(fn: Callable[[], Tensor], repeats: int) -> tuple[float, Tensor]:
    """Median seconds over ``repeats`` runs after one warm-up run, and the last result."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def models(seed: int) -> list[tuple[str, nn.Module, int]]:
    """``(label, model, input dimension)``; the MLPs get PyTorch's default init drawn from ``seed``."""
    return [
        ("shallow NTK net, width 1024, tanh", ShallowNTKNet(1, 1024, "tanh", generator=seed), 1),
        ("mlp 1→256→256→1, tanh", init_(mlp(1, [256, 256], 1, "tanh"), "default", generator=seed), 1),
        ("mlp 2→128→128→3, tanh (full)", init_(mlp(2, [128, 128], 3, "tanh"), "default", generator=seed), 2),
    ]


def inputs(n: int, d: int) -> Tensor:
    """``n`` points: ``x_1`` evenly on ``[−1, 1]``; for ``d = 2`` also ``x_2 = x_1²`` reversed."""
    line = torch.linspace(-1, 1, n)
    return line.unsqueeze(1) if d == 1 else torch.stack([line, line.flip(0) ** 2], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-jvp", action="store_true", help="do not time the jvp∘vjp route")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name, model, d in models(args.seed):
        x = inputs(args.points, d)
        n_params = sum(p.numel() for p in model.parameters())
        t_ours, ours = timed(functools.partial(kernels.ntk, model, x), args.repeats)
        t_loop, loop = timed(functools.partial(loop_ntk, model, x), args.repeats)
        cells = {
            "model": name,
            "params": str(n_params),
            "points": str(args.points),
            "ours (s)": f"{t_ours:.3f}",
            "loop (s)": f"{t_loop:.3f}",
            "loop/ours": f"{t_loop / t_ours:.1f}×",
            "target ≥10×": "met" if t_loop / t_ours >= TARGET else "MISSED",
            "max abs Δ": f"{float((ours - loop).abs().max()):.2e}",
            "max abs Δ / max abs Θ": f"{float((ours - loop).abs().max() / loop.abs().max()):.1e}",
        }
        if not args.skip_jvp:
            t_jvp, other = timed(functools.partial(jvp_vjp_ntk, model, x), 1)
            cells["jvp∘vjp (s)"] = f"{t_jvp:.3f}"
            cells["jvp∘vjp max abs Δ"] = f"{float((other - loop).abs().max()):.2e}"
        rows.append(cells)
        print(f"done: {name}", flush=True)
    print(
        f"\ntorch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} thread(s), float32, median of {args.repeats} runs "
        "(jvp∘vjp: 1 run)\n"
    )
    print(text_table(rows, markdown=args.markdown))


if __name__ == "__main__":
    main()

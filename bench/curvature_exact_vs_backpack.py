"""The exact Hessian diagonal and trace (specinit.measure.curvature.exact) against BackPACK 1.7.

Issue 16.  Both sides get the same weights and the same batch in one process: an MLP
64-256-256-10 (85,002 parameters, float32, PyTorch's default init, seeded) with a mean
cross-entropy loss on 1,000 Gaussian points with random labels, in two variants: ReLU (no
residual terms) and tanh (the residual ``diag(f''(z) ⊙ ∂L/∂h)`` of each hidden activation matters).

What it measures, one thread:

* exact diagonal — ``hessian_diagonal(model, "cross_entropy", (x, y))`` (arXiv 1902.01813)
  against BackPACK's ``DiagHessian`` (the exact diagonal) and ``DiagGGNExact`` (the Gauss–Newton
  diagonal, equal to the Hessian's for ReLU) in one extended backward pass each (forward pass
  included on both sides); CPU time (``time.process_time``), the median of ``--repeats`` calls
  interleaved in rounds whose order alternates, after warm-up; peak memory above the set-up,
  each method once in a fresh child process (peak resident size ``VmHWM``, reset just before
  the call, minus the resident size before it; Linux);
  agreement: the largest relative difference ``max |ours − theirs| / max |theirs|`` and the two
  traces.  Target: ours ≤ 1.0× ``DiagHessian``'s time.
* a float64 dense reference on a small model (MLP 4-6-5-3, tanh, 9 points): the exact diagonal
  against the diagonal of ``torch.autograd.functional.hessian``.
* per-HVP time — ``HessianOperator(...).matvec`` against PyHessian 0.1's cached-graph product
  (``pyhessian.utils.hessian_vector_product``) and curvlinops 3's ``HessianLinearOperator``
  matvec (``H @ v``); hessian-eigenthings is included when it is installed (the column says
  "not installed" otherwise).  Median CPU time per product.

Run (BackPACK, curvlinops and PyHessian in the venv next to specinit)::

    OMP_NUM_THREADS=1 python bench/curvature_exact_vs_backpack.py --markdown
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import multiprocessing as mp
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from specinit.measure.curvature import HessianOperator, hessian_diagonal

BATCH, WIDTHS, CLASSES = 1000, (64, 256, 256, 10), 10


def make(activation: str, dtype: torch.dtype = torch.float32) -> tuple[nn.Module, Tensor, Tensor]:
    """The seeded MLP 64-256-256-10 and its batch."""
    torch.manual_seed(0)
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    a, b, c, d = WIDTHS
    model = nn.Sequential(nn.Linear(a, b), act(), nn.Linear(b, c), act(), nn.Linear(c, d)).to(dtype)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH, a, generator=gen).to(dtype)
    y = torch.randint(0, CLASSES, (BATCH,), generator=gen)
    return model, x, y


def ours(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    return hessian_diagonal(model, "cross_entropy", (x, y)).flat()


def backpack_diag(extension: str) -> Callable[[nn.Module, Tensor, Tensor], Tensor]:
    from backpack import backpack, extend
    from backpack.extensions import DiagGGNExact, DiagHessian

    ext, field = {"DiagHessian": (DiagHessian, "diag_h"), "DiagGGNExact": (DiagGGNExact, "diag_ggn_exact")}[
        extension
    ]
    cache: dict[int, tuple[nn.Module, nn.Module]] = {}

    def run(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        if id(model) not in cache:
            cache[id(model)] = (extend(copy.deepcopy(model)), extend(nn.CrossEntropyLoss()))
        net, loss_fn = cache[id(model)]
        loss = loss_fn(net(x), y)
        with backpack(ext()):
            loss.backward()
        out = torch.cat([getattr(p, field).reshape(-1) for p in net.parameters()])
        net.zero_grad(set_to_none=True)
        return out

    return run


METHODS: dict[str, Callable[[], Callable[[nn.Module, Tensor, Tensor], Tensor]]] = {
    "specinit hessian_diagonal": lambda: ours,
    "BackPACK DiagHessian": lambda: backpack_diag("DiagHessian"),
    "BackPACK DiagGGNExact": lambda: backpack_diag("DiagGGNExact"),
}


def cpu_times(calls: dict[str, Callable[[], Any]], repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median CPU seconds per call, rounds interleaved with alternating order."""
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {k: [] for k in calls}
    names = list(calls)
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.process_time()
            calls[name]()
            times[name].append(time.process_time() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def _peak_child(activation: str, method: str, queue: Any) -> None:
    torch.set_num_threads(1)
    model, x, y = make(activation)
    fn = METHODS[method]()
    with open("/proc/self/clear_refs", "w") as f:  # reset the peak resident size (Linux)
        f.write("5")
    before = _rss_kib("VmRSS")
    fn(model, x, y)
    queue.put((_rss_kib("VmHWM") - before) / 1024)


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def peak_mib(activation: str, method: str) -> float:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_child, args=(activation, method, queue))
    proc.start()
    value = queue.get()
    proc.join()
    return float(value)


def dense_check() -> float:
    """Max |exact − dense| / max |dense| of the diagonal on a float64 MLP 4-6-5-3, tanh."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    x, y = torch.randn(9, 4, dtype=torch.float64), torch.randint(0, 3, (9,))
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    sizes = [p.numel() for p in model.parameters()]

    def loss(theta: Tensor) -> Tensor:
        pieces = {n: c.reshape(s) for n, c, s in zip(names, torch.split(theta, sizes), shapes, strict=True)}
        return nn.functional.cross_entropy(torch.func.functional_call(model, pieces, (x,)), y)

    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    dense = torch.autograd.functional.hessian(loss, flat).diagonal()
    exact = hessian_diagonal(model, "cross_entropy", (x, y)).flat()
    return float((exact - dense).abs().max() / dense.abs().max())


def hvp_calls(model: nn.Module, x: Tensor, y: Tensor) -> dict[str, Callable[[], Any]]:
    """One Hessian-vector product per call for each library, same direction."""
    from curvlinops import HessianLinearOperator
    from pyhessian import hessian as pyhessian
    from pyhessian.utils import hessian_vector_product

    op = HessianOperator(model, "cross_entropy", (x, y))
    v = torch.randn(op.size, generator=torch.Generator().manual_seed(2))
    params = list(model.parameters())
    pieces = [
        c.reshape(p.shape) for c, p in zip(torch.split(v, [p.numel() for p in params]), params, strict=True)
    ]
    py = pyhessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False)
    curv = HessianLinearOperator(model, nn.CrossEntropyLoss(), params, [(x, y)], check_deterministic=False)
    calls: dict[str, Callable[[], Any]] = {
        "specinit HessianOperator": lambda: op.matvec(v),
        "PyHessian 0.1": lambda: hessian_vector_product(py.gradsH, py.params, pieces),
        "curvlinops HessianLinearOperator": lambda: curv @ v,
    }
    if importlib.util.find_spec("hessian_eigenthings") is not None:
        from hessian_eigenthings.hvp_operator import HVPOperator

        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=BATCH)
        eig = HVPOperator(model, loader, nn.CrossEntropyLoss(), use_gpu=False, full_dataset=True)
        calls["hessian-eigenthings"] = lambda: eig.apply(v)
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for activation in ("relu", "tanh"):
        model, x, y = make(activation)
        fns = {name: build() for name, build in METHODS.items()}
        diags = {name: fn(model, x, y) for name, fn in fns.items()}
        times = cpu_times(
            {name: (lambda fn=fn, m=model, a=x, b=y: fn(m, a, b)) for name, fn in fns.items()}, args.repeats
        )
        ref = diags["BackPACK DiagHessian"]
        for name in METHODS:
            diff = float((diags[name] - ref).abs().max() / ref.abs().max())
            rows.append(
                (
                    activation,
                    name,
                    1e3 * times[name],
                    times[name] / times["BackPACK DiagHessian"],
                    peak_mib(activation, name),
                    float(diags[name].double().sum()),
                    diff,
                )
            )
    model, x, y = make("relu")
    hvp = cpu_times(hvp_calls(model, x, y), 3 * args.repeats)
    dense = dense_check()
    if args.markdown:
        print(
            "| model | method | CPU ms (median) | × DiagHessian | peak MiB | trace "
            "| max rel diff vs DiagHessian |"
        )
        print("|---|---|---:|---:|---:|---:|---:|")
        for act, name, ms, ratio, mib, trace, diff in rows:
            print(f"| {act} | {name} | {ms:.1f} | {ratio:.2f} | {mib:.0f} | {trace:.6g} | {diff:.1e} |")
        print()
        print("| per-HVP, ReLU MLP | CPU ms (median) | × specinit |")
        print("|---|---:|---:|")
        base = hvp["specinit HessianOperator"]
        for name, sec in hvp.items():
            print(f"| {name} | {1e3 * sec:.1f} | {sec / base:.2f} |")
        if "hessian-eigenthings" not in hvp:
            print("| hessian-eigenthings | not installed | — |")
        print()
        print(f"float64 dense reference (MLP 4-6-5-3 tanh, CE): max rel diff of the diagonal {dense:.1e}")
    else:
        for row in rows:
            print(row)
        print(hvp, "dense", dense)


if __name__ == "__main__":
    main()

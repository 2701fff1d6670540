"""specinit's GGN / Fisher / empirical-Fisher operators against curvlinops 3 and BackPACK 1.7.

Same model and data on both sides, one process: an MLP 64-256-256-10 (85,002 parameters; ReLU,
and a tanh variant) at PyTorch's seeded default init, a mean cross-entropy loss on a batch of
1,000 Gaussian inputs with random labels.

* matvec CPU time (float32; ``time.process_time``, median over ``--repeats`` products after a
  warm-up): ``GGNOperator`` vs ``curvlinops.GGNLinearOperator``, ``EmpiricalFisherOperator`` vs
  ``EFLinearOperator``, ``FisherMCOperator(mc_samples=1)`` vs ``FisherMCLinearOperator``.
* agreement (float64 copies): the top-5 eigenvalues, ours ``hessian_eigs(op, k=5, tol=1e-10)``
  vs scipy ``eigsh(k=5, tol=1e-10)`` on curvlinops' operator (``to_scipy()``); the exact trace,
  ours the sum of ``op.diagonal()`` vs ``Σᵢ eᵢᵀ A eᵢ`` is out of reach (85k products), so
  against BackPACK's ``DiagGGNExact`` summed; a product with the same random vector.  Target:
  1e-6 relative.
* diagonal: ``GGNOperator.diagonal()`` vs BackPACK ``DiagGGNExact`` (float32 time; float64
  agreement).
* trace error at equal products (float32 GGN, exact reference = the exact diagonal's sum):
  Hutchinson, Hutch++ and XTrace (``hessian_trace(op, method=...)``) over ``--seeds`` seeds,
  mean relative error.

Run::

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python bench/ggn_vs_curvlinops.py --markdown
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import numpy as np
import torch
from torch import nn

from specinit._core.tables import text_table
from specinit.measure.curvature import (
    EmpiricalFisherOperator,
    FisherMCOperator,
    GGNOperator,
    hessian_eigs,
    hessian_trace,
)


def _model(act: str) -> nn.Module:
    torch.manual_seed(0)
    a = nn.ReLU if act == "relu" else nn.Tanh
    return nn.Sequential(nn.Linear(64, 256), a(), nn.Linear(256, 256), a(), nn.Linear(256, 10))


def _cpu_median(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return 1e3 * statistics.median(times)


def _table(header: list[str], rows: list[list[object]], markdown: bool) -> str:
    return text_table([dict(zip(header, map(str, row), strict=True)) for row in rows], markdown=markdown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--repeats", type=int, default=10, help="timed products per side")
    parser.add_argument("--seeds", type=int, default=10, help="seeds of the trace comparison")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import curvlinops
    from backpack import backpack, extend
    from backpack.extensions import DiagGGNExact
    from scipy.sparse.linalg import eigsh

    g = torch.Generator().manual_seed(1)
    x = torch.randn(1000, 64, generator=g)
    y = torch.randint(0, 10, (1000,), generator=g)
    speed, agree, diag_rows, trace_rows = [], [], [], []
    pairs = [
        ("GGN", lambda m, d: GGNOperator(m, "cross_entropy", d), curvlinops.GGNLinearOperator, {}),
        ("EF", lambda m, d: EmpiricalFisherOperator(m, "cross_entropy", d), curvlinops.EFLinearOperator, {}),
        (
            "FisherMC(1)",
            lambda m, d: FisherMCOperator(m, "cross_entropy", d, mc_samples=1),
            curvlinops.FisherMCLinearOperator,
            {"mc_samples": 1},
        ),
    ]
    for act in ("relu", "tanh"):
        model = _model(act)
        m64 = copy.deepcopy(model).double()
        x64 = x.double()
        for name, ours_fn, theirs_cls, kw in pairs:
            ours = ours_fn(model, (x, y))
            theirs = theirs_cls(model, nn.CrossEntropyLoss(), list(model.parameters()), [(x, y)], **kw)
            v = torch.randn(ours.size, generator=g)
            t_ours = _cpu_median(lambda: ours.matvec(v), args.repeats)  # noqa: B023
            t_theirs = _cpu_median(lambda: theirs @ v, args.repeats)  # noqa: B023
            speed.append([act, name, f"{t_ours:.1f}", f"{t_theirs:.1f}", f"{t_ours / t_theirs:.2f}"])
            if name == "FisherMC(1)":
                continue  # different label draws: the two are different random matrices
            o64 = ours_fn(m64, (x64, y))
            t64 = theirs_cls(m64, nn.CrossEntropyLoss(), list(m64.parameters()), [(x64, y)], **kw)
            v64 = torch.randn(o64.size, generator=g, dtype=torch.float64)
            mv = float((o64.matvec(v64) - t64 @ v64).norm() / (t64 @ v64).norm())
            ev_ours = hessian_eigs(o64, k=5, tol=1e-10, generator=0).eigenvalues
            ev_theirs = np.sort(eigsh(t64.to_scipy(), k=5, which="LA", tol=1e-10)[0])[::-1]
            ev = float(np.max(np.abs(ev_ours - ev_theirs) / np.abs(ev_theirs)))
            agree.append([act, name, f"{mv:.1e}", f"{ev_ours[0]:.6g}", f"{ev:.1e}"])
        # exact diagonals vs BackPACK DiagGGNExact
        ggn = GGNOperator(model, "cross_entropy", (x, y))
        t_diag = _cpu_median(lambda: ggn.diagonal(chunk_size=100), 1)  # noqa: B023
        bp_model = extend(copy.deepcopy(model))
        bp_loss = extend(nn.CrossEntropyLoss())

        def bp_diag(bm: nn.Module = bp_model, lf: nn.Module = bp_loss) -> torch.Tensor:
            out = lf(bm(x), y)
            with backpack(DiagGGNExact()):
                out.backward()
            return torch.cat([p.diag_ggn_exact.reshape(-1) for p in bm.parameters()])

        t_bp = _cpu_median(bp_diag, 1)
        d64 = GGNOperator(m64, "cross_entropy", (x64, y)).diagonal(chunk_size=100)
        bp64 = extend(copy.deepcopy(m64))
        out = bp_loss(bp64(x64), y)
        with backpack(DiagGGNExact()):
            out.backward()
        ref = torch.cat([p.diag_ggn_exact.reshape(-1) for p in bp64.parameters()])
        diff = float((d64 - ref).abs().max() / ref.abs().max())
        tr = float(abs(d64.sum() - ref.sum()) / ref.sum())
        diag_rows.append(
            [act, f"{t_diag:.0f}", f"{t_bp:.0f}", f"{diff:.1e}", f"{float(ref.sum()):.6g}", f"{tr:.1e}"]
        )
        # trace estimators at equal matvecs, exact trace = diagonal sum
        exact = float(ggn.diagonal(chunk_size=100).double().sum())
        for m in (30, 99):
            errs = {}
            for method in ("hutchinson", "hutch++", "xtrace"):
                errs[method] = np.mean(
                    [
                        abs(hessian_trace(ggn, method=method, num_matvecs=m, generator=s).estimate - exact)
                        / exact
                        for s in range(args.seeds)
                    ]
                )
            trace_rows.append(
                [act, m, f"{errs['hutchinson']:.2e}", f"{errs['hutch++']:.2e}", f"{errs['xtrace']:.2e}"]
            )
    md = args.markdown
    print(_table(["act", "operator", "ours ms", "curvlinops ms", "ours/theirs"], speed, md))
    print()
    print(_table(["act", "operator", "matvec rel diff", "λ_max", "top-5 max rel diff"], agree, md))
    print()
    print(
        _table(
            ["act", "ours diag ms", "BackPACK ms", "max rel diff", "tr G (BackPACK)", "trace rel diff"],
            diag_rows,
            md,
        )
    )
    print()
    print(
        _table(["act", "matvecs", "Hutchinson rel err", "Hutch++ rel err", "XTrace rel err"], trace_rows, md)
    )


if __name__ == "__main__":
    main()

r"""``specinit.measure.kernels.ntk`` against neural-tangents 0.6.5's structured-derivative NTK (issue 16).

What it measures, per ``(outputs, n)``, on the MLP 784 → 512 → 512 → 10 (ReLU, float32,
PyTorch's default init, seed 0), with the same weights and the same Gaussian points on both sides:

* **ours** — ``specinit.measure.kernels.ntk(model, x, outputs=...)`` (``method="auto"``: per-layer
  Gram products, the output axes contracted inside them for ``"trace"``);
* **NT** — ``neural_tangents.empirical_ntk_fn(f, trace_axes=..., vmap_axes=0,
  implementation=NtkImplementation.STRUCTURED_DERIVATIVES)`` (Novak et al. 2022, arXiv 2206.08720),
  ``jax.jit``-ed, on a plain JAX function ``f(params, x)`` written by hand for the MLP and fed
  our weights (exported to ``.npz``).

Each side runs in its own subprocess (the JAX side with the neural-tangents venv's python),
single thread (``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``,
``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``).  Per side:
CPU time (``time.process_time``) of one warm call (after a compile / warm-up call on the same
points), best of ``--repeats``; peak RSS of the process (``resource.getrusage``) and the RSS
after imports, weights and points (its baseline); and the largest difference between the two
kernels relative to the largest kernel entry (NT's traced kernel is the mean over the outputs,
ours the sum: NT's is multiplied by ``O`` before comparing).

neural-tangents installs in its own venv (its ``experimental`` subpackage needs TensorFlow and
is never imported: a stub module stands in for it)::

    python3 -m venv /work/nt-venv
    /work/nt-venv/bin/pip install jax==0.4.23 jaxlib==0.4.23 "numpy<2" "scipy<1.13" "ml_dtypes<0.5" \\
        absl-py frozendict
    /work/nt-venv/bin/pip install --no-deps neural-tangents==0.6.5

Run::

    .venv/bin/python bench/ntk_vs_neural_tangents.py --nt-python /work/nt-venv/bin/python --markdown
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

SIZES = (784, 512, 512, 10)


def _rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    """Current resident set size, in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _export(folder: Path, n: int) -> None:
    """Write the model's weights (seed 0) and ``n`` points (seed 1) to ``folder``."""
    import numpy as np
    import torch

    torch.manual_seed(0)
    net = _torch_mlp()
    arrays = {f"p{k}": p.detach().numpy() for k, p in enumerate(net.parameters())}
    arrays["x"] = torch.randn(n, SIZES[0], generator=torch.Generator().manual_seed(1)).numpy()
    np.savez(folder / "inputs.npz", **arrays)


def _torch_mlp():  # type: ignore[no-untyped-def]
    """The benchmarked MLP in PyTorch."""
    from torch import nn

    layers: list[nn.Module] = []
    for k, (i, o) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        layers += [nn.Linear(i, o)] + ([nn.ReLU()] if k < len(SIZES) - 2 else [])
    return nn.Sequential(*layers)


def _ours(folder: Path, outputs: str, repeats: int) -> dict:
    """Our kernel: warm-up call, then the best of ``repeats`` timed calls."""
    import numpy as np
    import torch

    from specinit.measure.kernels import ntk

    torch.set_num_threads(1)
    data = np.load(folder / "inputs.npz")
    net = _torch_mlp()
    with torch.no_grad():
        for k, p in enumerate(net.parameters()):
            p.copy_(torch.from_numpy(data[f"p{k}"]))
    x = torch.from_numpy(data["x"])
    base = _current_rss_mb()
    kernel = ntk(net, x, outputs=outputs)
    times = []
    for _ in range(repeats):
        t = time.process_time()
        kernel = ntk(net, x, outputs=outputs)
        times.append(time.process_time() - t)
    np.save(folder / "ours.npy", kernel.numpy())
    return {"cpu_s": min(times), "peak_mb": _rss_mb(), "base_mb": base}


def _nt(folder: Path, outputs: str, repeats: int) -> dict:
    """neural-tangents' structured-derivative kernel: compile call, then the best of ``repeats``."""
    sys.modules["neural_tangents.experimental"] = types.ModuleType("neural_tangents.experimental")
    import jax
    import jax.numpy as jnp
    import neural_tangents as nt
    import numpy as np

    data = np.load(folder / "inputs.npz")
    # Weights as (in, out), the layout of nt.stax.Dense: NT's structured rules see a plain x @ w.
    params = [
        (jnp.asarray(np.ascontiguousarray(data[f"p{2 * k}"].T)), jnp.asarray(data[f"p{2 * k + 1}"]))
        for k in range(len(SIZES) - 1)
    ]
    x = jnp.asarray(data["x"])

    def f(params: list, x: jnp.ndarray) -> jnp.ndarray:
        for k, (w, b) in enumerate(params):
            x = x @ w + b
            if k < len(params) - 1:
                x = jax.nn.relu(x)
        return x

    kernel_fn = jax.jit(
        nt.empirical_ntk_fn(
            f,
            trace_axes=(-1,) if outputs == "trace" else (),
            vmap_axes=0,
            implementation=nt.NtkImplementation.STRUCTURED_DERIVATIVES,
        )
    )
    base = _current_rss_mb()
    kernel = kernel_fn(x, None, params).block_until_ready()
    times = []
    for _ in range(repeats):
        t = time.process_time()
        kernel = kernel_fn(x, None, params).block_until_ready()
        times.append(time.process_time() - t)
    # NT's trace_axes average over the traced outputs (np.mean); ours sums: Σ_o Θ_oo.
    scale = SIZES[-1] if outputs == "trace" else 1
    np.save(folder / "nt.npy", np.asarray(kernel) * scale)  # (n, n) or (n, n, O, O), as ours
    return {"cpu_s": min(times), "peak_mb": _rss_mb(), "base_mb": base}


def _side(python: str, side: str, folder: Path, outputs: str, repeats: int) -> dict:
    """Run one side in a fresh single-threaded subprocess; returns its JSON record."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
        "JAX_PLATFORMS": "cpu",
    }
    args = [python, __file__, "--side", side, "--folder", str(folder), "--outputs", outputs]
    args += ["--repeats", str(repeats)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{side} side failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Parse the command line; run the sides and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, nargs="+", default=[1000, 2000], help="n for the traced kernel")
    parser.add_argument("--full-points", type=int, nargs="*", default=[500], help="n for the full kernel")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--nt-python", default="/work/nt-venv/bin/python", help="neural-tangents venv python")
    parser.add_argument("--ours-only", action="store_true", help="skip neural-tangents (no venv)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--side", choices=("ours", "nt"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--outputs", default="trace", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side is not None:
        run = _ours if args.side == "ours" else _nt
        print(json.dumps(run(Path(args.folder), args.outputs, args.repeats)))
        return

    import numpy as np

    rows = []
    cases = [("trace", n) for n in args.points] + [("full", n) for n in args.full_points]
    for outputs, n in cases:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            _export(folder, n)
            ours = _side(sys.executable, "ours", folder, outputs, args.repeats)
            row = {"outputs": outputs, "n": n, "ours": ours}
            if not args.ours_only:
                row["nt"] = _side(args.nt_python, "nt", folder, outputs, args.repeats)
                a, b = np.load(folder / "ours.npy"), np.load(folder / "nt.npy")
                row["rel_diff"] = float(np.abs(a.astype(np.float64) - b).max() / np.abs(b).max())
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    _print(rows, args.markdown)


def _print(rows: list[dict], markdown: bool) -> None:
    """The table: CPU seconds, peak RSS (and above the baseline), ratios ours / NT, agreement."""
    head = [
        "outputs",
        "n",
        "ours CPU s",
        "NT CPU s",
        "ours/NT time",
        "ours peak MB (+above base)",
        "NT peak MB (+above base)",
        "max rel diff",
    ]
    lines = []
    for r in rows:
        o, t = r["ours"], r.get("nt")

        def mem(s: dict) -> str:
            return f"{s['peak_mb']:.0f} (+{s['peak_mb'] - s['base_mb']:.0f})"

        lines.append(
            [
                r["outputs"],
                str(r["n"]),
                f"{o['cpu_s']:.2f}",
                "—" if t is None else f"{t['cpu_s']:.2f}",
                "—" if t is None else f"{o['cpu_s'] / t['cpu_s']:.2f}",
                mem(o),
                "—" if t is None else mem(t),
                "—" if t is None else f"{r['rel_diff']:.1e}",
            ]
        )
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(h), *(len(x[k]) for x in lines)) for k, h in enumerate(head)]
        for line in [head, *lines]:
            print("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()

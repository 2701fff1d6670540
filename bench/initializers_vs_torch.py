"""specinit's classical initializers against ``torch.nn.init``: speed and law, in one run.

What it measures (CPU, float32 weights, both sides measured in the same process, interleaved):

* per method pair — ``specinit.xavier_uniform_ / xavier_normal_ / kaiming_uniform_ /
  kaiming_normal_ / orthogonal_ / trunc_normal_`` against ``torch.nn.init``'s function of the
  same name (and ``specinit.variance_scaled_trunc_normal_`` against ``torch.nn.init.trunc_normal_``
  given the same law), each with a seeded ``torch.Generator`` — on a ``size × size`` weight
  (orthogonal: ``orthogonal-size × orthogonal-size``):

  - median wall time over ``--repeats`` calls (``time.perf_counter``, after warm-up calls), and
    the ratio ours / torch;
  - quality: the target standard deviation of the law, the sample std of ours and of torch's
    draw divided by it, and the two-sample Kolmogorov–Smirnov p-value
    (``scipy.stats.ks_2samp``) between ours and torch's entries drawn from different seeds
    (the laws are the same in every row, so p should look uniform, not tiny);
  - whether the same seed gives the same values (bit-for-bit drop-in) or only the same law.

* ``specinit.init_(model, method)`` on ``specinit.models.mlp(784, [1024] * 4, 10)`` against a
  loop that calls the ``torch.nn.init`` function on each ``nn.Linear`` weight and zeroes its
  bias (``init_``'s bias rule for these methods): median time and ratio, for every method but
  orthogonal (QR-bound, already timed per weight).

``specinit.trunc_normal_`` draws torch's law (``N(0, s²)`` cut at the absolute ``±2s``: standard
deviation ``0.880 s``).  ``specinit.variance_scaled_trunc_normal_`` is variance-corrected (exactly
``s``), so the torch side of its row is called with ``std = s / 0.880`` and bounds ``±2`` of that,
the same law, and the uncorrected std is printed in a note.

Target: ours within 1.5× of torch's time for every row (a target, not a test; a miss is
reported as "missed", never hidden).  The default run takes well under 60 s on 2 cores.

Run::

    .venv/bin/python bench/initializers_vs_torch.py --markdown
    .venv/bin/python bench/initializers_vs_torch.py --size 1024 --repeats 9 --threads 1
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from scipy.stats import ks_2samp
from torch import Tensor, nn

import specinit
from specinit.initializers import classic
from specinit.lab.results import text_table

TIME_TARGET = 1.5  # ours / torch wall-time ratio we aim to stay under
WARMUP = 2  # untimed calls per function before timing
KS_SAMPLES = 1_000_000  # entries per side fed to ks_2samp (the first ones; iid within a draw)
SEEDS = (1, 2)  # ours, torch: different seeds for the law comparison
MODEL_SHAPE = (784, [1024] * 4, 10)  # in_features, hidden widths, out_features

Init = Callable[[Tensor, torch.Generator], Tensor]


@dataclass(frozen=True)
class Pair:
    """One method: specinit's initializer, torch's equivalent call, and the law's target std."""

    name: str  # the specinit.init_ method name
    ours: Init
    theirs: Init
    target_std: Callable[[Tensor], float]
    square: str  # which size flag gives the benchmark weight: "size" or "orthogonal_size"


def _fans(weight: Tensor) -> tuple[int, int]:
    return weight.shape[1], weight.shape[0]


def _xavier_std(weight: Tensor) -> float:
    fan_in, fan_out = _fans(weight)
    return math.sqrt(2.0 / (fan_in + fan_out))


def _he_std(weight: Tensor) -> float:
    return math.sqrt(2.0 / _fans(weight)[0])


def _orthogonal_std(weight: Tensor) -> float:
    # Unit-norm rows (rows ≤ cols) or columns: every entry has variance 1 / max(rows, cols).
    return 1.0 / math.sqrt(max(weight.shape))


def _lecun_std(weight: Tensor) -> float:
    return 1.0 / math.sqrt(_fans(weight)[0])


TRUNC_SHRINK = math.sqrt(classic.truncated_variance(classic.TRUNC_BOUND))  # 0.880 at ±2σ


def _torch_trunc_normal_(weight: Tensor, generator: torch.Generator) -> Tensor:
    """Torch's truncated normal with the same law as ours: σ0 = s / 0.880, cut at ±2σ0."""
    sigma0 = _lecun_std(weight) / TRUNC_SHRINK
    cut = classic.TRUNC_BOUND * sigma0
    return nn.init.trunc_normal_(weight, std=sigma0, a=-cut, b=cut, generator=generator)


PAIRS = (
    Pair(
        "xavier_uniform",
        lambda w, g: classic.xavier_uniform_(w, generator=g),
        lambda w, g: nn.init.xavier_uniform_(w, generator=g),
        _xavier_std,
        "size",
    ),
    Pair(
        "xavier_normal",
        lambda w, g: classic.xavier_normal_(w, generator=g),
        lambda w, g: nn.init.xavier_normal_(w, generator=g),
        _xavier_std,
        "size",
    ),
    Pair(  # ours defaults to gain √2; torch's default a=0 leaky_relu is gain √2 too
        "kaiming_uniform",
        lambda w, g: classic.kaiming_uniform_(w, generator=g),
        lambda w, g: nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=g),
        _he_std,
        "size",
    ),
    Pair(
        "kaiming_normal",
        lambda w, g: classic.kaiming_normal_(w, generator=g),
        lambda w, g: nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g),
        _he_std,
        "size",
    ),
    Pair(
        "orthogonal",
        lambda w, g: classic.orthogonal_(w, generator=g),
        lambda w, g: nn.init.orthogonal_(w, generator=g),
        _orthogonal_std,
        "orthogonal_size",
    ),
    Pair(  # torch's law on both sides: N(0, s²) cut at ±2s, s = 1/√fan_in
        "trunc_normal",
        lambda w, g: classic.trunc_normal_(
            w, std=_lecun_std(w), a=-2 * _lecun_std(w), b=2 * _lecun_std(w), generator=g
        ),
        lambda w, g: nn.init.trunc_normal_(
            w, std=_lecun_std(w), a=-2 * _lecun_std(w), b=2 * _lecun_std(w), generator=g
        ),
        lambda w: _lecun_std(w) * TRUNC_SHRINK,
        "size",
    ),
    Pair(
        "variance_scaled_trunc_normal",
        lambda w, g: classic.variance_scaled_trunc_normal_(w, generator=g),
        _torch_trunc_normal_,
        _lecun_std,
        "size",
    ),
)
# orthogonal is left out of the model table: there it is five QR factorizations (tens of seconds
# on 2 cores for both sides), which its weight row already measures; torch's trunc_normal needs a
# std per layer, which init_ takes as one option, so its weight row stands for it.
MODEL_PAIRS = tuple(pair for pair in PAIRS if pair.name not in ("orthogonal", "trunc_normal"))

NOTES = {
    "orthogonal": "both run the QR in the weight's dtype. Entries of one orthogonal matrix are not "
    "independent, so its KS p-value is indicative only. Left out of the model table (five "
    "QR factorizations per call; the weight row measures them).",
    "trunc_normal": "the same law on both sides (torch's parameters, std=s, a=-2s, b=2s): std "
    "{naive:.3f}·s. Ours draws the inverse CDF in float64; torch in float32.",
    "variance_scaled_trunc_normal": "ours has std exactly s; torch.nn.init.trunc_normal_ is NOT "
    "variance-corrected (std=s, a=-2s, b=2s gives std {naive:.3f}·s), so the torch side is called "
    "with std=s/{shrink:.3f} (same law as ours).",
}


# ---------------------------------------------------------------------------------------------
# Measurement.


def median_times(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time (s) of each function; calls are interleaved so drift hits all alike."""
    for fn in fns:
        for _ in range(WARMUP):
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, samples, strict=True):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return [statistics.median(times) for times in samples]


def _draw(init: Init, shape: tuple[int, ...], seed: int) -> Tensor:
    return init(torch.empty(shape), torch.Generator().manual_seed(seed))


def _same_seed(pair: Pair, shape: tuple[int, ...]) -> str:
    ours, theirs = _draw(pair.ours, shape, 0), _draw(pair.theirs, shape, 0)
    if torch.equal(ours, theirs):
        return "identical"
    return f"differ (max Δ {float((ours - theirs).abs().max()):.1e})"


def _sample_std(weight: Tensor) -> float:
    return float(weight.double().std())


def _ks_pvalue(a: Tensor, b: Tensor) -> float:
    n = min(a.numel(), KS_SAMPLES)
    return float(ks_2samp(a.flatten()[:n].numpy(), b.flatten()[:n].numpy()).pvalue)


def _verdict(ratio: float) -> str:
    return "ok" if ratio <= TIME_TARGET else "missed"


def weight_rows(args: argparse.Namespace) -> list[dict[str, str]]:
    rows = []
    for pair in PAIRS:
        n = getattr(args, pair.square)
        shape = (n, n)
        w_ours, w_torch = torch.empty(shape), torch.empty(shape)
        g_ours, g_torch = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
        t_ours, t_torch = median_times(
            [functools.partial(pair.ours, w_ours, g_ours), functools.partial(pair.theirs, w_torch, g_torch)],
            args.repeats,
        )
        ours, theirs = _draw(pair.ours, shape, SEEDS[0]), _draw(pair.theirs, shape, SEEDS[1])
        target = pair.target_std(ours)
        ratio = t_ours / t_torch
        rows.append(
            {
                "method": pair.name,
                "shape": f"{n}×{n}",
                "ours ms": f"{1e3 * t_ours:.1f}",
                "torch ms": f"{1e3 * t_torch:.1f}",
                "ours/torch": f"{ratio:.2f}",
                f"≤{TIME_TARGET}×": _verdict(ratio),
                "target std": f"{target:.3e}",
                "ours std/target": f"{_sample_std(ours) / target:.4f}",
                "torch std/target": f"{_sample_std(theirs) / target:.4f}",
                "KS p (ours vs torch)": f"{_ks_pvalue(ours, theirs):.3f}",
                "same seed": _same_seed(pair, shape),
            }
        )
    return rows


def _torch_loop_(model: nn.Module, init: Init, generator: torch.Generator) -> nn.Module:
    for module in model.modules():
        if isinstance(module, nn.Linear):
            init(module.weight, generator)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


def model_rows(args: argparse.Namespace) -> list[dict[str, str]]:
    in_features, widths, out_features = MODEL_SHAPE
    net_ours = specinit.models.mlp(in_features, widths, out_features)
    net_torch = specinit.models.mlp(in_features, widths, out_features)
    n_params = sum(p.numel() for p in net_ours.parameters())
    rows = []
    for pair in MODEL_PAIRS:
        g_ours, g_torch = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
        t_ours, t_torch = median_times(
            [
                functools.partial(specinit.init_, net_ours, pair.name, generator=g_ours),
                functools.partial(_torch_loop_, net_torch, pair.theirs, g_torch),
            ],
            args.repeats,
        )
        ratio = t_ours / t_torch
        rows.append(
            {
                "method": pair.name,
                "model": f"mlp(784, [1024]×4, 10), {n_params / 1e6:.2f} M params",
                "init_ ms": f"{1e3 * t_ours:.1f}",
                "torch loop ms": f"{1e3 * t_torch:.1f}",
                "ours/torch": f"{ratio:.2f}",
                f"≤{TIME_TARGET}×": _verdict(ratio),
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Output.


def _naive_trunc_ratio(size: int) -> float:
    """Measured std / s of torch.nn.init.trunc_normal_(std=s, a=-2s, b=2s)."""
    w = torch.empty(size, size)
    s = _lecun_std(w)
    cut = classic.TRUNC_BOUND * s
    nn.init.trunc_normal_(w, std=s, a=-cut, b=cut, generator=torch.Generator().manual_seed(0))
    return _sample_std(w) / s


def _missed(rows: list[dict[str, str]], what: str) -> list[str]:
    key = f"≤{TIME_TARGET}×"
    return [f"{what} {row['method']} ({row['ours/torch']}×)" for row in rows if row[key] != "ok"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size", type=int, default=2048, help="n of the n×n weight (2048)")
    parser.add_argument(
        "--orthogonal-size", type=int, default=1024, help="n of the orthogonal n×n weight (1024)"
    )
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per function (7)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (2)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    for name in ("size", "orthogonal_size", "repeats", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    weights = weight_rows(args)
    models = model_rows(args)
    elapsed = time.perf_counter() - start

    setup = (
        f"torch {torch.__version__}, specinit {specinit.__version__}, "
        f"torch.get_num_threads() = {torch.get_num_threads()} (of {os.cpu_count()} CPUs, "
        f"{platform.machine()}), float32 weights, median of {args.repeats} calls after "
        f"{WARMUP} warm-up calls, KS on up to {KS_SAMPLES:,} entries per side, "
        f"seeds ours={SEEDS[0]} torch={SEEDS[1]}; total {elapsed:.1f} s"
    )
    notes = {
        name: text.format(naive=_naive_trunc_ratio(args.size), shrink=TRUNC_SHRINK)
        for name, text in NOTES.items()
    }
    missed = _missed(weights, "weight") + _missed(models, "model")
    bullet = "- " if args.markdown else "  "
    print(("**Setup:** " if args.markdown else "Setup: ") + setup + "\n")
    print(text_table(weights, markdown=args.markdown) + "\n")
    print(text_table(models, markdown=args.markdown) + "\n")
    print("Notes:" if not args.markdown else "**Notes:**\n")
    for name, text in notes.items():
        print(f"{bullet}{name}: {text}")
    verdict = ", ".join(missed) if missed else "none"
    print(f"{bullet}time target ours ≤ {TIME_TARGET}× torch — missed: {verdict}")


if __name__ == "__main__":
    main()

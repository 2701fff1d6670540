r"""The sweep that chose the default ``"spectral"`` scale schedule of SWIM (``SPECTRAL_LOW/HIGH``).

arXiv 2511.02244 scales ``s1`` per layer, small early and large late, but publishes no numbers.
Our family is geometric (:func:`specinit.scale_schedule`): with ``L`` hidden layers and the
activation's default ``s1``,

    s1_l = s1 · low · (high / low)^{l / (L − 1)},   l = 0 .. L − 1,

so ``(low, high) = (1, 1)`` is the constant schedule of the original SWIM.  For every
``(low, high)`` of the grid, every depth in ``--depths`` and every seed, a SWIM network is
fitted on a training part and scored on a *validation* part (never a test split):

* ``sin1d`` — regression of ``sin(2πx + 0.3) + ½ sin(8πx + 1.7) + ¼ sin(32πx + 2.9)`` on
  ``[−1, 1]`` (the ``swim-1d`` frequencies, other phases), 1024 grid samples, validation at
  2048 uniform random points; float64, relative ridge 1e-10; error = validation MSE;
* ``mnist`` — a class-balanced subset of the MNIST *training* split (``--mnist-train`` images,
  drawn with the seed), split 75/25 into fit and validation parts; float32, default ridge;
  error = 1 − validation accuracy;
* ``digits`` — scikit-learn's digits, the training part of ``specinit.data.digits`` (its test
  quarter is never loaded into the fit), split 75/25 again; error = 1 − validation accuracy.

Score of a ``(low, high)`` in one (task, width, depth, seed) cell: ``log10(error / error of the
constant schedule in the same cell)`` — negative beats original SWIM, and a factor means the
same on every task.  The pick is the lowest mean over tasks of each task's mean score (over its
widths, depths and seeds), so every task weighs the same; the mean rank within cells (1 = best)
is printed beside it as a check.  Networks are tanh.

Run (about 3 min on one core; the table in docs/concepts/swim.md came from the second command)::

    OMP_NUM_THREADS=1 .venv/bin/python bench/swim_schedule_sweep.py --markdown
    OMP_NUM_THREADS=1 .venv/bin/python bench/swim_schedule_sweep.py --markdown --seeds 3 \
        --lows 0.125 0.25 0.5 1
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from specinit import SwimClassifier, SwimRegressor, data, scale_schedule
from specinit.lab.experiments.swim_1d import MixedTask
from specinit.lab.results import text_table

SWEEP_TASK = MixedTask(phases=(0.3, 1.7, 2.9))
ACTIVATION = "tanh"


@dataclass(frozen=True)
class Task:
    """A named fit/validation problem: ``error(scales, depth, width, seed)``, lower is better."""

    name: str
    widths: tuple[int, ...]
    error: Callable[[Sequence[float], int, int, int], float]


def sin1d_error(scales: Sequence[float], depth: int, width: int, seed: int) -> float:
    x, y = SWEEP_TASK.train()
    xv, yv = SWEEP_TASK.validation(2048, seed=1000 + seed)
    reg = SwimRegressor(
        widths=(width,) * depth,
        activation=ACTIVATION,
        scales=list(scales),
        l2=1e-10,
        random_state=seed,
        dtype="float64",
    )
    reg.fit(x.numpy(), y[:, 0].numpy())
    return float(np.mean((reg.predict(xv.numpy()) - yv[:, 0].numpy()) ** 2))


def _classification_split(
    name: str, seed: int, mnist_train: int, data_dir: str | None = None
) -> tuple[np.ndarray, ...]:
    """Fit/validation parts of the training split only (75/25, stratified, from ``seed``)."""
    if name == "mnist":
        split = data.mnist(
            data_dir=data_dir, flatten=True, limit_train=mnist_train, limit_test=10, generator=seed
        )
    else:
        split = data.digits(generator=0)
    parts = data.train_val_split(split.x_train, split.y_train, 0.25, generator=seed)
    return tuple(p.numpy() for p in parts)


def classification_error(name: str, mnist_train: int, data_dir: str | None = None) -> Callable[..., float]:
    cache: dict[int, tuple[np.ndarray, ...]] = {}

    def error(scales: Sequence[float], depth: int, width: int, seed: int) -> float:
        if seed not in cache:
            cache[seed] = _classification_split(name, seed, mnist_train, data_dir)
        x, y, xv, yv = cache[seed]
        clf = SwimClassifier(
            widths=(width,) * depth, activation=ACTIVATION, scales=list(scales), random_state=seed
        )
        return 1.0 - clf.fit(x, y).score(xv, yv)

    return error


def sweep(
    tasks: Sequence[Task],
    lows: Sequence[float],
    highs: Sequence[float],
    depths: Sequence[int],
    seeds: Sequence[int],
) -> tuple[dict, dict]:
    """``errors[(task, width, depth, seed)][(low, high)]`` (constant included) and timings."""
    pairs = list(itertools.product(lows, highs))
    if (1.0, 1.0) not in pairs:
        pairs.append((1.0, 1.0))
    errors: dict = {}
    seconds: dict = {}
    for task in tasks:
        start = time.perf_counter()
        for width, depth, seed in itertools.product(task.widths, depths, seeds):
            cell = errors.setdefault((task.name, width, depth, seed), {})
            for low, high in pairs:
                scales = scale_schedule("spectral", depth, ACTIVATION, low=low, high=high)
                cell[low, high] = task.error(scales, depth, width, seed)
        seconds[task.name] = time.perf_counter() - start
        print(f"# {task.name}: {seconds[task.name]:.0f} s", file=sys.stderr)
    return errors, seconds


def scores(errors: dict) -> dict:
    """Per ``(low, high)``: mean log10 error ratio to constant per task, their mean over tasks
    (``"all"``: every task weighs the same, whatever its number of cells) and the mean rank.
    """
    table: dict = {}
    floor = 1e-12  # a perfect validation score must not give log(0)
    for (task, _w, _d, _s), cell in errors.items():
        base = max(cell[1.0, 1.0], floor)
        order = sorted(cell, key=cell.__getitem__)
        for pair, err in cell.items():
            entry = table.setdefault(pair, {"rank": []})
            entry.setdefault(task, []).append(math.log10(max(err, floor) / base))
            entry["rank"].append(order.index(pair) + 1)
    out = {}
    for pair, entry in table.items():
        means = {k: float(np.mean(v)) for k, v in entry.items()}
        means["all"] = float(np.mean([v for k, v in means.items() if k != "rank"]))
        out[pair] = means
    return out


def mean_errors(errors: dict) -> dict:
    """Per ``(low, high)`` and task: the mean raw error."""
    out: dict = {}
    for (task, _w, _d, _s), cell in errors.items():
        for pair, err in cell.items():
            out.setdefault(pair, {}).setdefault(task, []).append(err)
    return {pair: {t: float(np.mean(v)) for t, v in by.items()} for pair, by in out.items()}


def render(table: dict, raw: dict, task_names: Sequence[str], markdown: bool) -> str:
    header = [
        "low",
        "high",
        *[f"{t} log10 ratio" for t in task_names],
        "mean log10 ratio",
        "mean rank",
        *[f"{t} mean error" for t in task_names],
    ]
    rows = []
    for pair in sorted(table, key=lambda p: table[p]["all"]):
        s = table[pair]
        cells = [
            f"{pair[0]:g}",
            f"{pair[1]:g}",
            *[f"{s[t]:+.3f}" for t in task_names],
            f"{s['all']:+.3f}",
            f"{s['rank']:.2f}",
            *[f"{raw[pair][t]:.4g}" for t in task_names],
        ]
        rows.append(dict(zip(header, cells, strict=True)))
    return text_table(rows, markdown=markdown)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lows", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--highs", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0])
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument(
        "--tasks", nargs="+", default=["sin1d", "mnist", "digits"], choices=["sin1d", "mnist", "digits"]
    )
    parser.add_argument("--sin1d-widths", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--mnist-width", type=int, default=1024)
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder holding mnist/ with the full official files (else $SPECINIT_DATA)",
    )
    parser.add_argument(
        "--mnist-train",
        type=int,
        default=6000,
        help="images of the MNIST training split used (fit + validation)",
    )
    parser.add_argument("--digits-width", type=int, default=512)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    available = {
        "sin1d": Task("sin1d", tuple(args.sin1d_widths), sin1d_error),
        "mnist": Task(
            "mnist", (args.mnist_width,), classification_error("mnist", args.mnist_train, args.data_dir)
        ),
        "digits": Task("digits", (args.digits_width,), classification_error("digits", 0)),
    }
    if "mnist" in args.tasks:  # a subset of the full training split, not of the embedded one
        try:
            data.data_source(args.data_dir).require("mnist", args.mnist_train, None)
        except (FileNotFoundError, ValueError) as exc:
            raise SystemExit(f"swim_schedule_sweep: {exc}") from None
    tasks = [available[t] for t in args.tasks]
    errors, seconds = sweep(tasks, args.lows, args.highs, args.depths, range(args.seeds))
    table = scores(errors)
    best = min(table, key=lambda p: table[p]["all"])
    print(render(table, mean_errors(errors), args.tasks, args.markdown))
    print(
        f"\nbest (low, high) = ({best[0]:g}, {best[1]:g}): mean log10 error ratio to constant "
        f"{table[best]['all']:+.3f}, mean rank {table[best]['rank']:.2f}; depths {args.depths}, "
        f"{args.seeds} seed(s), {sum(seconds.values()):.0f} s"
    )


if __name__ == "__main__":
    main()

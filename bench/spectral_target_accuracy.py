"""How well ``spectral_target_`` hits what it is asked for (issue 19, deliverable 2).

For every case — activation × depth × width × target on 1D coordinate networks, 2D coordinate
networks and image CNNs — the start is searched with a seed the targeting was never developed
on (``--seed``, default 1000 + case index) and then **measured again independently** of the
search:

* 1D: the float32 model's mollified, mean-removed spectrum on a 4× finer grid (4096 samples
  instead of 1024);
* 2D: 256 other random lines (seed 99) instead of the search's 128;
* images: the gradient proxy on another batch of images with other output projections.

and the chosen scale is applied to **another draw** (a fresh seed, the same family and scale) and
measured with the search's own measurement: how much of the hit belongs to the scale and how
much to the particular random draw (a user who re-seeds gets this spread).

Reported per case: the asked value, the search's achieved value and its relative error, the
independent value and its relative error, the family parameter chosen, the number of
measurements and the CPU seconds; a case the family cannot reach is listed as ``unreachable``
with the range it did reach (that is an answer, not a failure).  The summary table gives, per
input kind × activation, cases met / unreachable and the median and largest relative errors.

Target (the issue's "within a stated tolerance"): the search's relative error ≤ 1 % (its
``rtol``) in every reachable case, and the independent re-measurement within 5 % (1D) / 15 %
(2D lines, images: sampling noise of the re-measurement itself) — reported as met or missed.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python bench/spectral_target_accuracy.py --markdown
    OMP_NUM_THREADS=1 .venv/bin/python bench/spectral_target_accuracy.py --quick   # ~30 s
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

import specinit
from specinit.lab.results import text_table
from specinit.measure.bandwidth import directional_spectrum, gradient_bandwidth
from specinit.measure.spectrum import spectrum_1d
from specinit.targeting import (
    Knob,
    SpectralTarget,
    UnreachableTargetError,
    family_for,
    locate,
    measure_target,
    spectral_target_,
)

ACTIVATIONS = ("relu", "tanh", "sine(omega0=30)", "gaussian(sigma=0.1)")
TOLERANCE = {"1d": 0.05, "2d": 0.15, "image": 0.15}  # independent re-measurement
SEARCH_RTOL = 0.01


@dataclass
class Case:
    kind: str
    activation: str
    depth: int
    width: int
    target: SpectralTarget
    build: Callable[[], nn.Module]
    where: dict
    independent: Callable[[nn.Module], float]


def _cases(quick: bool) -> list[Case]:
    cases: list[Case] = []
    depths = (1, 4) if quick else (1, 2, 4, 8)
    widths = (64,) if quick else (64, 256, 1024)
    targets_1d = [
        SpectralTarget(cutoff=5, energy_above=0.01, exact=True),
        SpectralTarget(cutoff=5, energy_above=0.2, exact=True),
    ]
    targets_1d += [
        SpectralTarget(cutoff=1, energy_above=0.03, exact=True),
        SpectralTarget(centroid=0.4),
        SpectralTarget(centroid=2.0),
    ]
    for act in ACTIVATIONS:
        for depth in depths:
            for width in widths:
                for target in targets_1d:

                    def again(model: nn.Module, target: SpectralTarget = target) -> float:
                        spec = spectrum_1d(model, -1.0, 1.0, 4096, mollify=True, detrend="mean")
                        return spec.energy_above(target.cutoff) if target.cutoff else spec.centroid()

                    cases.append(
                        Case(
                            "1d",
                            act,
                            depth,
                            width,
                            target,
                            lambda a=act, d=depth, w=width: specinit.models.coordinate_mlp(1, w, d, 1, a),
                            {"lo": -1.0, "hi": 1.0},
                            again,
                        )
                    )
    points = torch.rand(256, 2, generator=torch.Generator().manual_seed(11)) * 2 - 1
    for act in ACTIVATIONS:
        for depth in (2, 4) if not quick else (4,):
            for width in (64, 256) if not quick else (64,):
                target = SpectralTarget(cutoff=7, energy_above=0.05, exact=True)

                def lines(model: nn.Module) -> float:
                    length = float((points.max(0).values - points.min(0).values).max())
                    spec = directional_spectrum(
                        model,
                        points,
                        n_lines=256,
                        n_points=256,
                        length=length,
                        detrend="linear",
                        generator=99,
                    )
                    return spec.energy_above(7.0)

                cases.append(
                    Case(
                        "2d",
                        act,
                        depth,
                        width,
                        target,
                        lambda a=act, d=depth, w=width: specinit.models.coordinate_mlp(2, w, d, 1, a),
                        {"data": points},
                        lines,
                    )
                )
    images = torch.rand(64, 1, 16, 16, generator=torch.Generator().manual_seed(12))
    others = torch.rand(64, 1, 16, 16, generator=torch.Generator().manual_seed(13))
    for act in ("relu", "tanh"):
        for depth in (1, 3) if not quick else (2,):
            for value in (0.01, 0.05):

                def cnn(a: str = act, d: int = depth) -> nn.Module:
                    layers: list[nn.Module] = []
                    channels = 1
                    for _ in range(d):
                        layers += [
                            nn.Conv2d(channels, 16, 3, padding=1),
                            nn.ReLU() if a == "relu" else nn.Tanh(),
                        ]
                        channels = 16
                    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(16 * 256, 10))

                cases.append(
                    Case(
                        "image",
                        act,
                        depth,
                        16,
                        SpectralTarget(gradient=value),
                        cnn,
                        {"data": images},
                        lambda model: gradient_bandwidth(model, others, generator=123).mean_abs,
                    )
                )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a few cases per kind (~30 s)")
    parser.add_argument("--seed", type=int, default=1000, help="seed of case i is seed + i")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--cases", action="store_true", help="print every case, not only the summary")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for index, case in enumerate(_cases(args.quick)):
        model = case.build()
        started = time.process_time()
        try:
            fit = spectral_target_(
                model, case.target, generator=args.seed + index, rtol=SEARCH_RTOL, **case.where
            )
        except UnreachableTargetError as exc:
            reach = f"{exc.reachable[0]:.3g} to {exc.reachable[1]:.3g}"
            rows.append(
                {
                    **_ident(case),
                    "status": "unreachable",
                    "note": reach,
                    "cpu_s": time.process_time() - started,
                }
            )
            continue
        cpu = time.process_time() - started
        independent = case.independent(model)
        redrawn = case.build().double()
        Knob(redrawn, family_for(redrawn, fit.family), generator=10_000 + args.seed + index).set(fit.scale)
        where = locate(
            case.target, **{k: v.double() if torch.is_tensor(v) else v for k, v in case.where.items()}
        )
        other = measure_target(redrawn, case.target, where, generator=0)
        rows.append(
            {
                **_ident(case),
                "status": "met",
                "asked": fit.asked,
                "achieved": fit.achieved,
                "search_err": fit.relative_error,
                "independent": independent,
                "indep_err": abs(independent - fit.asked) / fit.asked,
                "other_draw": other,
                "draw_err": abs(other - fit.asked) / fit.asked,
                "parameter": f"{fit.parameter}={fit.value:.3g}",
                "evals": fit.evaluations,
                "cpu_s": cpu,
            }
        )
        print(_line(rows[-1]), flush=True)
    _summary(rows, args.markdown)
    if args.cases:
        columns = list(dict.fromkeys(k for r in rows for k in r))  # unreachable rows lack the numbers
        print(text_table([{k: _fmt(r.get(k, "")) for k in columns} for r in rows], markdown=args.markdown))


def _ident(case: Case) -> dict:
    return {
        "kind": case.kind,
        "activation": case.activation,
        "depth": case.depth,
        "width": case.width,
        "target": f"{case.target.describe()} = {case.target.value:g}",
    }


def _fmt(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _line(row: dict) -> str:
    return " ".join(f"{k}={_fmt(v)}" for k, v in row.items())


def _summary(rows: list[dict], markdown: bool) -> None:
    table = []
    missed = 0
    for kind in ("1d", "2d", "image"):
        for act in dict.fromkeys(r["activation"] for r in rows if r["kind"] == kind):
            mine = [r for r in rows if r["kind"] == kind and r["activation"] == act]
            met = [r for r in mine if r["status"] == "met"]
            search = [r["search_err"] for r in met]
            indep = [r["indep_err"] for r in met]
            draws = [r["draw_err"] for r in met]
            ok = all(e <= SEARCH_RTOL * 1.0001 for e in search) and all(e <= TOLERANCE[kind] for e in indep)
            missed += not ok
            table.append(
                {
                    "inputs": kind,
                    "activation": act,
                    "cases": len(mine),
                    "met": len(met),
                    "unreachable": len(mine) - len(met),
                    "search err median / max": f"{_pct(search, statistics.median)} / {_pct(search, max)}",
                    "independent err median / max": f"{_pct(indep, statistics.median)} / {_pct(indep, max)}",
                    "tolerance": f"{SEARCH_RTOL:.0%} / {TOLERANCE[kind]:.0%}",
                    "other draw err median / max": f"{_pct(draws, statistics.median)} / {_pct(draws, max)}",
                    "CPU s / case": f"{statistics.mean(r['cpu_s'] for r in mine):.2f}",
                    "target": "met" if ok else "missed",
                }
            )
    print(text_table([{k: _fmt(v) for k, v in r.items()} for r in table], markdown=markdown))
    unreachable = [r for r in rows if r["status"] == "unreachable"]
    if unreachable:
        print("\nUnreachable cases (the range the family reached):")
        for r in unreachable:
            print(
                f"  {r['kind']} {r['activation']} depth {r['depth']} width {r['width']}: "
                f"{r['target']} — reached {r['note']}"
            )
    print(f"\n{len(rows)} cases; tolerance {'met' if not missed else f'missed in {missed} group(s)'}")


def _pct(values: list[float], how: Callable) -> str:
    return f"{100 * how(values):.2f} %" if values else "—"


if __name__ == "__main__":
    main()

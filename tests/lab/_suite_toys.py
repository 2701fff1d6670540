"""Experiments for tests/lab/test_suite.py, importable by the suite's spawned workers."""

import os
from dataclasses import dataclass

from specinit import lab
from specinit.lab.experiment import Summary, seeds_units
from specinit.lab.results import Finding


@dataclass(frozen=True)
class ToyConfig:
    value: int = 3
    fail: bool = False
    seeds: tuple[int, ...] = (0, 1)


def _units(cfg):
    return seeds_units([{"value": cfg.value}], cfg.seeds)


def _run_unit(cfg, unit, context):
    if cfg.fail:
        raise RuntimeError("boom in a unit")
    return {"seed": unit.params["seed"], "square": cfg.value**2, "pid": os.getpid()}, {}


def _summarize(cfg, rows, arrays, run):
    return Summary(findings=[Finding("squares are nine", all(r["square"] == 9 for r in rows), "checked")])


for _name, _fail in (("suite-ok", False), ("suite-fail", True), ("suite-ok-2", False)):
    if _name not in lab.names():
        lab.register(
            lab.Experiment(
                _name,
                "a toy",
                "tests",
                ToyConfig(fail=_fail),
                ToyConfig(fail=_fail, seeds=(0,)),
                _units,
                _run_unit,
                _summarize,
            )
        )
if "suite-images" not in lab.names():
    lab.register(
        lab.Experiment(
            "suite-images",
            "reads images",
            "tests",
            ToyConfig(),
            ToyConfig(seeds=(0,)),
            _units,
            _run_unit,
            _summarize,
            data_needs=lambda cfg: [("mnist", 100, 10)],
        )
    )

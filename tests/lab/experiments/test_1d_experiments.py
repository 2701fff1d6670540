"""Quick runs of the experiments assert the paper's qualitative findings (arXiv 2206.08558)."""

import dataclasses
import json

import pytest

from specinit import lab as experiments
from specinit.lab.experiments import bandwidth_1d


@pytest.mark.slow
@pytest.mark.parametrize("name", ["inr-depth", "bandwidth-1d"])
def test_quick_run_reproduces_the_papers_findings(name, tmp_path):
    report = experiments.run(name, quick=True, out=tmp_path, progress=False)
    failed = [f"{f.claim}: {f.evidence}" for f in report.findings if f.holds is False]
    assert not failed, failed
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["experiment"] == name and results["seeds"] == [0]
    assert {"torch", "numpy", "specinit"} <= set(results["environment"])
    for name in ("results.csv", "summary.csv", "report.md"):
        assert (tmp_path / name).stat().st_size > 0
    assert list(tmp_path.glob("*.png"))


TINY = dataclasses.replace(
    bandwidth_1d.QUICK,
    width=16,
    relu_depth=2,
    gaussian_depth=2,
    lrs=(1e-2,),
    steps=50,
    pretrain_steps=50,
)


def _numbers(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_same_seed_same_numbers(tmp_path):
    a = experiments.run("bandwidth-1d", config=TINY, out=tmp_path / "a", progress=False)
    b = experiments.run("bandwidth-1d", config=TINY, out=tmp_path / "b", progress=False)
    assert _numbers(a.rows) == _numbers(b.rows)
    c = experiments.run(
        "bandwidth-1d",
        config=dataclasses.replace(TINY, seeds=(1,)),
        out=tmp_path / "c",
        progress=False,
    )
    assert _numbers(a.rows) != _numbers(c.rows)


def test_interrupted_run_keeps_finished_units_and_resumes(tmp_path, monkeypatch):
    exp = experiments.get("bandwidth-1d")
    calls = []
    real = exp.run_unit

    def flaky(cfg, unit, context):
        calls.append(unit.key)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C in the third unit
        return real(cfg, unit, context)

    patched = dataclasses.replace(exp, run_unit=flaky)
    monkeypatch.setitem(experiments.experiment._REGISTRY, "bandwidth-1d", patched)
    with pytest.raises(KeyboardInterrupt):
        experiments.run("bandwidth-1d", config=TINY, out=tmp_path, progress=False)
    assert len(list((tmp_path / "units").glob("*.json"))) == 2
    monkeypatch.setitem(experiments.experiment._REGISTRY, "bandwidth-1d", exp)
    resumed = experiments.run("bandwidth-1d", config=TINY, out=tmp_path, progress=False)
    assert resumed.skipped == 2 and len(resumed.rows) == 4
    fresh = experiments.run("bandwidth-1d", config=TINY, out=tmp_path / "fresh", progress=False)
    assert _numbers(resumed.rows) == _numbers(fresh.rows)


def test_unknown_experiment_and_bad_config(tmp_path):
    with pytest.raises(ValueError, match="unknown experiment 'nope'"):
        experiments.get("nope")
    with pytest.raises(ValueError, match="at least 1"):
        experiments.get("inr-depth").config(seeds=0)
    with pytest.raises(ValueError, match="must exceed the lowest fitting frequency"):
        experiments.run(
            "bandwidth-1d",
            config=dataclasses.replace(TINY, high_freq=2.0),
            out=tmp_path,
            progress=False,
        )

"""``kernel-bias``: config checks, the pieces of a unit, and a tiny end-to-end run."""

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from specinit import lab as base
from specinit import lab as experiments
from specinit.lab import Context
from specinit.lab.experiments import kernel_bias
from specinit.lab.experiments.kernel_bias import circle, target
from specinit.measure.kernels import ShallowNTKNet, ntk, ntk_eig

TINY = dataclasses.replace(
    kernel_bias.QUICK,
    activations=("relu", "sine(omega0=1)"),
    n_points=16,
    n_freqs=4,
    width=512,
    steps=120,
    n_samples=4096,
    records=12,
    seeds=(0, 1),
)


def _strip(rows):
    return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in rows]


def test_units_are_activation_times_seed():
    units = kernel_bias.units(TINY)
    assert [u.key for u in units] == [
        f"activation={a},seed={s}" for a in TINY.activations for s in TINY.seeds
    ]
    assert experiments.get("kernel-bias").quick == kernel_bias.QUICK


@pytest.mark.parametrize(
    "change, message",
    [
        ({"activations": ("relu", "swishy")}, "unknown activation"),
        ({"activations": ()}, "at least one activation"),
        ({"width": 0}, "width must be an integer >= 1"),
        ({"n_freqs": 8}, "below the Nyquist index 8"),
        ({"lr_scale": 2.0}, "lr_scale must lie in"),
        ({"sigma_w": 0.0}, "sigma_w must be a finite positive"),
        ({"sigma_b": -1.0}, "sigma_b must be a finite non-negative"),
        ({"seeds": ()}, "seeds must not be empty"),
    ],
)
def test_bad_configs_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        kernel_bias.units(dataclasses.replace(TINY, **change))


def test_circle_and_target():
    theta, z = circle(8)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(8, dtype=torch.float64))
    assert float(theta[1]) == pytest.approx(1 / 8)
    mid, _ = circle(8, 0.5)
    assert float(mid[0]) == pytest.approx(1 / 16)
    theta, _ = circle(64)
    y = target(theta, 5, seed=3)
    assert float((y**2).mean()) == pytest.approx(1.0, rel=1e-12)  # unit mean square
    power = np.abs(np.fft.rfft(y.numpy())) ** 2
    assert set(np.flatnonzero(power > 1e-12 * power.max())) == {1, 2, 3, 4, 5}
    assert torch.equal(y, target(theta, 5, seed=3)) and not torch.equal(y, target(theta, 5, seed=4))


def test_unit_is_deterministic_and_close_to_the_linear_model():
    unit = base.Unit("k", {"activation": "relu", "seed": 0})
    row, arrays = kernel_bias.run_unit(TINY, unit, Context())
    again, _ = kernel_bias.run_unit(TINY, unit, Context())
    np.testing.assert_equal(row, again)  # NaN-aware
    assert arrays["residual_net"].shape == (len(arrays["steps"]), TINY.n_freqs)
    assert arrays["power_inf"].shape == (TINY.n_points // 2 + 1,)
    # measured: 0.058, 0.046, Spearman 1.0, rate error 0.18 over 2 measurable frequencies
    assert row["rel_err_test"] < 0.15 and row["emp_vs_inf"] < 0.15
    assert row["spearman_rate"] == 1.0  # the 4 frequencies converge in the order of λ(k)
    assert row["n_resolved"] >= 1 and row["rate_rel_err"] < 0.5
    # lr = lr_scale · n / λ_max of the same net's empirical NTK
    _, z = circle(TINY.n_points)
    net = ShallowNTKNet(
        2, TINY.width, "relu", sigma_w=TINY.sigma_w, sigma_b=TINY.sigma_b, generator=1000, dtype=torch.float64
    )
    top = float(ntk_eig(ntk(net, z), k=1).eigenvalues[0])
    assert row["lr"] == pytest.approx(TINY.lr_scale * TINY.n_points / top, rel=1e-12)
    # the NTK on the circle is nearly circulant: eigenvectors come as cos/sin pairs per frequency
    np.testing.assert_array_equal(arrays["eig_dominant"], [0, 1, 1, 2, 2, 3, 3, 4])
    assert row["eigvec_purity"] > 0.95  # measured 0.978


@pytest.mark.slow
def test_tiny_run_writes_everything_and_resumes(tmp_path):
    first = base.run("kernel-bias", config=TINY, out=tmp_path, progress=False)
    for name in (
        "results.json",
        "results.csv",
        "summary.csv",
        "report.md",
        "spectral_weight.png",
        "convergence.png",
        "rates.png",
    ):
        assert (tmp_path / name).stat().st_size > 0, name
    results = json.loads((tmp_path / "results.json").read_text())
    claims = [f["claim"] for f in results["findings"]]
    assert sum("matches the linearized model" in c for c in claims) == 2
    assert sum("converge in the order" in c for c in claims) == 2
    assert sum("slowest-growing penalty" in c for c in claims) == 2
    table = {r["activation"]: r for r in results["metrics"]["summary"]}
    assert set(table) == set(TINY.activations) and all(r["n"] == 2 for r in table.values())
    assert all(math.isfinite(r["rel_err_test_ci"]) for r in table.values())
    report = (tmp_path / "report.md").read_text()
    assert "| activation | n |" in report and "| relu | 2 |" in report
    again = base.run("kernel-bias", config=TINY, out=tmp_path, progress=False)
    assert again.skipped == len(first.rows) and _strip(again.rows) == _strip(first.rows)

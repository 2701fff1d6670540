"""The lab on a device: every experiment config has a device, the Context carries it to the units,
an absent device is refused before any work, the device is part of the run key, scales."""

import dataclasses
import hashlib
import json

import pytest
import torch
from cifar_files import md5s, write_cifar

from specinit import lab
from specinit.data import CIFAR_MD5
from specinit.lab import runner, sweep
from specinit.lab.experiments import random_label as rl

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")


def test_every_experiment_config_has_a_device_defaulting_to_the_cpu():
    builtin = [
        n for n in lab.names() if lab.get(n).run_unit.__module__.startswith("specinit.lab.experiments.")
    ]
    assert len(builtin) >= 13
    for name in builtin:
        exp = lab.get(name)
        for scale, cfg in exp.scales.items():
            assert hasattr(cfg, "device"), (name, scale)
            assert cfg.device == ("cuda" if scale == "paper" else "cpu"), (name, scale)
        assert exp.config(overrides={"device": "cuda:1"}).device == "cuda:1"  # a name, not a check
        with pytest.raises(ValueError, match="device: device 'gpu' is not a device name"):
            exp.config(overrides={"device": "gpu"})


def test_the_context_places_data_and_models_on_its_device():
    context = runner.Context(device=torch.device("cpu"))
    split = context.images("mnist", 20, 10)
    assert split.x_train.device == context.device and split.x_train.shape == (20, 784)
    net = context.place(torch.nn.Linear(2, 2))
    assert next(net.parameters()).device == context.device
    assert runner.IMAGE_SHAPES["cifar10"] == (3, 32, 32) and "cifar100" in runner.IMAGE_DATASETS


@NO_CUDA
def test_an_absent_device_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match=r"device 'cuda' is not available: torch.cuda.is_available\(\)"):
        lab.run("inr-depth", quick=True, overrides={"device": "cuda"}, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()
    with pytest.raises(ValueError, match="device 'cuda' is not available"):
        lab.run("random-label", scale="paper", out=tmp_path / "p", progress=False)
    assert not (tmp_path / "p").exists()


def test_the_device_is_part_of_the_run_key_and_the_default_folder():
    cfg = lab.get("inr-depth").config(quick=True)
    context = runner.Context()
    key = runner._identity("inr-depth", cfg, context, images=False)
    other = runner._identity("inr-depth", dataclasses.replace(cfg, device="cuda"), context, images=False)
    assert key != other and other["config"]["device"] == "cuda"
    assert (
        str(runner.default_out("random-label", "paper", torch.device("cuda:1")))
        == "runs/random-label-paper-cuda1"
    )
    assert str(runner.default_out("inr-depth", "quick", torch.device("cpu"))) == "runs/inr-depth-quick"
    assert str(runner.default_out("inr-depth", None, torch.device("cpu"))) == "runs/inr-depth"


def test_scales_and_the_paper_config_of_random_label():
    exp = lab.get("random-label")
    assert list(exp.scales) == ["default", "quick", "paper"] and exp.paper is rl.PAPER
    paper = exp.config(scale="paper")
    assert set(paper.datasets) == {"cifar10", "cifar100"} and set(paper.archs) == {
        "vgg11",
        "vgg16",
        "resnet18",
    }
    assert paper.limit_train is None and paper.slq_steps > 0 and paper.amp is False
    assert len(rl.units(paper)) == 2 * 3 * 2 * 3
    with pytest.raises(ValueError, match="inr-depth has no 'paper' scale; its scales: default, quick"):
        lab.get("inr-depth").config(scale="paper")
    with pytest.raises(ValueError, match="made for 32×32 images"):
        exp.config(overrides={"archs": "resnet18"})  # the default reads MNIST
    with pytest.raises(ValueError, match="disagree"):
        exp.config(quick=True, scale="paper")


def test_random_label_runs_resnet18_on_cifar_files(tmp_path, monkeypatch):
    folder = write_cifar(tmp_path / "data", n=60)
    monkeypatch.setitem(CIFAR_MD5, "cifar10", md5s(folder))  # the lab always verifies
    cfg = dataclasses.replace(
        rl.QUICK,
        datasets=("cifar10",),
        archs=("resnet18",),
        width_multiplier=1 / 16,
        limit_train=100,
        limit_test=50,
        epochs=1,
        pretrain_epochs=1,
        batch_size=50,
        n_bandwidth=20,
        n_hessian=20,
        trace_matvecs=2,
        eig_tol=0.1,
        slq_steps=3,
    )
    report = lab.run(
        "random-label", config=cfg, out=tmp_path / "run", data_dir=tmp_path / "data", progress=False
    )
    assert len(report.rows) == 2 and {r["arch"] for r in report.rows} == {"resnet18"}
    assert all(r["mean_eig"] == r["mean_eig"] and r["trace_se"] > 0 for r in report.rows)  # finite
    results = json.loads((report.path / "results.json").read_text())
    assert results["device"] == "cpu" and results["environment"]["device"] == "cpu"
    assert results["data"]["root"] == str((tmp_path / "data").resolve())
    monkeypatch.setitem(CIFAR_MD5, "cifar10", {k: hashlib.md5(b"x").hexdigest() for k in md5s(folder)})
    with pytest.raises(Exception, match="checksum mismatch"):  # other files: refused, not reused
        runner._images.cache_clear()
        lab.run("random-label", config=cfg, out=tmp_path / "run2", data_dir=tmp_path / "data", progress=False)


def test_sweeps_take_a_device_and_reserve_gpus_only_for_gpu_runs(tmp_path):
    spec = sweep.parse_sweep({"experiment": "inr-depth", "quick": True, "grid": {"depths": [[1], [2]]}})
    on = sweep.on_device(spec, "CUDA:1")
    assert {r.config.device for r in sweep.plan(on)} == {"cuda:1"} and sweep.run_devices(sweep.plan(on)) == [
        "cuda:1"
    ]
    assert [r.key for r in sweep.plan(on)] != [r.key for r in sweep.plan(spec)]  # never reused across devices
    fixed = sweep.parse_sweep({"experiment": "inr-depth", "quick": True, "set": {"device": "cpu"}})
    with pytest.raises(ValueError, match="the sweep file sets device"):
        sweep.on_device(fixed, "cuda")
    with pytest.raises(ValueError, match="is for backend='ray'"):
        sweep.run_sweep(spec, tmp_path, num_gpus=1, progress=False)
    with pytest.raises(ValueError, match="need GPUs reserved on Ray"):
        sweep.run_sweep(on, tmp_path, backend="ray", progress=False)
    with pytest.raises(ValueError, match="reserves GPUs but every run's device is cpu"):
        sweep.run_sweep(spec, tmp_path, backend="ray", num_gpus=0.5, progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda:1' is not available"):
            sweep.run_sweep(on, tmp_path, progress=False)
    assert not (tmp_path / "sweep.sqlite").exists()  # refused before the store is made


def test_the_report_command_names_the_scale_and_the_device():
    from specinit.lab.config import config_json
    from specinit.lab.report import reproduce_command

    paper = config_json(dataclasses.replace(rl.PAPER, seeds=(0,)))
    assert (
        reproduce_command("random-label", paper, "o")
        == "specinit reproduce random-label --scale paper --seeds 1 --out o"
    )
    quick = config_json(dataclasses.replace(lab.get("inr-depth").quick, device="cuda"))
    assert (
        reproduce_command("inr-depth", quick, "o")
        == "specinit reproduce inr-depth --quick --device cuda --out o"
    )

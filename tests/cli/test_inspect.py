"""``specinit inspect``: the init doctor on a model built by the user's code (specinit.cli.inspect)."""

import re

import pytest
from click.testing import CliRunner

from specinit.cli import main

FACTORIES = """
import torch
from torch import nn
import specinit

def deep_tanh(depth=10, std=0.02):
    net = specinit.models.mlp(16, [32] * depth, 4, "tanh")
    return specinit.init_(net, "trunc_normal", std=std, generator=0)

def digits_mlp():
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

def not_a_model():
    return 3

WIDTH = 3
"""


@pytest.fixture
def factories(tmp_path):
    path = tmp_path / "nets.py"
    path.write_text(FACTORIES)
    return path


def test_cli_inspects_a_factory_in_a_file_and_writes_the_report(factories, tmp_path):
    out = tmp_path / "report"
    args = [
        f"{factories}:deep_tanh",
        "--arg",
        "depth=10",
        "--input-shape",
        "16",
        "--batch",
        "64",
        "--hessian-iters",
        "0",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, ["inspect", *args])
    assert result.exit_code == 0, result.output
    assert "vanishing signal" in result.output and "suggested initializers" in result.output
    assert "odd_sigmoid(ends=scaled)" in result.output
    report = (out / "report.md").read_text()
    assert "## Before and after" in report and """--kwargs '{"depth": 10}' --input-shape 16""" in report
    assert (out / "doctor.png").stat().st_size > 10_000


def test_cli_with_digits_flattens_for_an_mlp(factories):
    args = [
        f"{factories}:digits_mlp",
        "--data",
        "digits",
        "--batch",
        "50",
        "--hessian-iters",
        "0",
        "--no-suggest",
    ]
    result = CliRunner().invoke(main, ["inspect", *args])
    assert result.exit_code == 0, result.output
    assert "loss: cross_entropy; batch of 50" in result.output
    assert "suggested" not in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["no_such_module_xyz:f", "--input-shape", "4"], "module 'no_such_module_xyz' not found"),
        (["{f}:WIDTH", "--input-shape", "4"], "is a int, not a callable"),
        (["{f}:missing", "--input-shape", "4"], "has no attribute 'missing'"),
        (["{f}:not_a_model", "--input-shape", "4"], "returned a int, not a torch.nn.Module"),
        (["{f}:deep_tanh", "--input-shape", "5"], r"rejects an input of shape \(256, 5\)"),
        (["{f}:digits_mlp", "--data", "digits"], r"the flattened shape \(256, 64\) was tried too"),
        (
            ["{f}:deep_tanh", "--arg", "depth=2", "--arg", "bogus=1", "--input-shape", "16"],
            "unexpected keyword argument 'bogus'",
        ),
        (["{f}", "--input-shape", "4"], "expected MODULE:FACTORY"),
        (["{f}:deep_tanh"], "give --input-shape or --data, or let the factory return"),
        (["{f}:deep_tanh", "--input-shape", "a,b"], "not a list of positive sizes"),
        (["{f}:deep_tanh", "--input-shape", "16", "--arg", "depth"], "is not KEY=VALUE"),
    ],
)
def test_cli_errors_are_clear(factories, args, message):
    if args[:2] == ["{f}:digits_mlp", "--data"]:  # an MLP for 60 inputs fed 8x8 images
        (factories.parent / "nets.py").write_text(FACTORIES.replace("nn.Linear(64, 32)", "nn.Linear(60, 32)"))
    args = [a.replace("{f}", str(factories)) for a in args]
    result = CliRunner().invoke(main, ["inspect", *args])
    assert result.exit_code != 0
    assert re.search(message, result.output), result.output


def test_arg_values_follow_the_factory_annotations(tmp_path):
    (tmp_path / "typed.py").write_text(
        "import torch\n"
        "from typing import Sequence\n"
        "def net(widths: Sequence[int], activation: str = 'tanh', depth_scale: float = 1.0):\n"
        "    assert isinstance(depth_scale, float) and all(isinstance(w, int) for w in widths)\n"
        "    layers = []\n"
        "    for a, b in zip([8, *widths], widths):\n"
        "        layers += [torch.nn.Linear(a, b), torch.nn.Tanh()]\n"
        "    return torch.nn.Sequential(*layers, torch.nn.Linear(widths[-1], 2))\n"
    )
    args = [
        "inspect",
        f"{tmp_path / 'typed.py'}:net",
        "--arg",
        "widths=[16,16]",
        "--arg",
        "depth_scale=2",
        "--input-shape",
        "8",
        "--batch",
        "16",
        "--hessian-iters",
        "0",
        "--no-suggest",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(main, [*args[:4], "--arg", "depth_scale=fast", *args[6:]])
    assert bad.exit_code == 2 and "depth_scale: expected float, got 'fast'" in bad.output

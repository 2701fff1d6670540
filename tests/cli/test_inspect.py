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


SEQUENCE_FACTORIES = """
import torch
from torch import nn


class Tiny(nn.Module):
    def __init__(self, vocab: int = 20, d: int = 16):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, 2, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(d, 3)

    def forward(self, ids):
        return self.head(self.encoder(self.embed(ids)).mean(1))


class LSTMNet(nn.Module):
    def __init__(self, vocab: int = 20, d: int = 8, hidden: int = 12):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.lstm = nn.LSTM(d, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, 3)

    def forward(self, ids):
        return self.head(self.lstm(self.embed(ids))[0][:, -1])


def transformer():
    return Tiny()


def lstm_with_batch():
    gen = torch.Generator().manual_seed(0)
    return LSTMNet(), torch.randint(0, 20, (8, 5), generator=gen), torch.randint(0, 3, (8,), generator=gen)
"""


@pytest.fixture
def sequences(tmp_path):
    path = tmp_path / "seqnets.py"
    path.write_text(SEQUENCE_FACTORIES)
    return path


def _inspect(*args):
    return CliRunner().invoke(main, ["inspect", *map(str, args)])


def test_cli_feeds_token_ids_to_a_transformer(sequences):
    tokens = ["--input-shape", "6", "--input-dtype", "long", "--vocab-size", "20", "--batch", "8"]
    result = _inspect(f"{sequences}:transformer", *tokens, "--hessian-iters", "0")
    assert result.exit_code == 0, result.output
    assert "encoder.layers.0.relu" in result.output and "encoder.layers.1.relu" in result.output
    assert "reference signal: the input of encoder.layers.0.self_attn" in result.output
    assert "input-gradient bandwidth: not measured" in result.output
    assert "nan" not in result.output.lower() and "inf×" not in result.output
    assert "top Hessian eigenvalue" not in result.output  # --hessian-iters 0 skips it


def test_cli_uses_the_factorys_example_batch_for_an_lstm(sequences):
    result = _inspect(f"{sequences}:lstm_with_batch", "--hessian-iters", "0", "--no-suggest")
    assert result.exit_code == 0, result.output
    assert "loss: cross_entropy; batch of 8" in result.output
    assert "lstm.layer1.forget_gate" in result.output and "sigmoid" in result.output


def test_cli_records_the_named_layers(sequences, tmp_path):
    args = [f"{sequences}:transformer", "--input-shape", "6", "--input-dtype", "long", "--vocab-size", "20"]
    chosen = "encoder.layers.0.linear1,encoder.layers.1"
    out = tmp_path / "report"
    result = _inspect(*args, "--layers", chosen, "--hessian-iters", "0", "--no-suggest", "--out", out)
    assert result.exit_code == 0, result.output
    rows = [line.split()[1] for line in result.output.splitlines()[2:4]]
    assert rows == ["encoder.layers.0.linear1", "encoder.layers.1"]
    assert "relu" not in result.output.split("loss:")[0].split("encoder.layers.1")[-1]
    assert f"--layers {chosen}" in (out / "report.md").read_text()
    auto = _inspect(*args, "--layers", "encoder.layers.1", "--hessian-iters", "0", "--no-suggest")
    row = auto.output.splitlines()[2].split()
    assert row[8] == "last" and row[9].endswith("/16")  # d_model features, (N·L) rows
    forced = _inspect(
        *args, "--layers", "encoder.layers.1", "--feature-axis", "1", "--hessian-iters", "0", "--no-suggest"
    )
    row = forced.output.splitlines()[2].split()
    assert row[8:10] == ["axis", "1"] and row[10].endswith("/6")  # the sequence axis, as asked


def test_cli_hessian_iters_runs_lanczos_only_when_asked(factories):
    base = [
        f"{factories}:deep_tanh",
        "--arg",
        "depth=2",
        "--input-shape",
        "16",
        "--batch",
        "32",
        "--no-suggest",
    ]
    assert "top Hessian eigenvalue" not in _inspect(*base, "--hessian-iters", "0").output
    assert "top Hessian eigenvalue" in _inspect(*base, "--hessian-iters", "1").output


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--layers", "encoder.layer.0"],
            r"no submodule named 'encoder.layer.0'; close matches: encoder.layers.0",
        ),
        (["--input-dtype", "long"], "--input-dtype long needs --vocab-size"),
        (["--vocab-size", "20"], "--vocab-size needs --input-dtype long"),
        (["--feature-axis", "last"], "is not auto or an integer axis"),
        (
            ["--feature-axis", "4", "--input-dtype", "long", "--vocab-size", "20"],
            "feature_axis=4 is out of range",
        ),
        (["--data", "digits"], "give only one of --input-shape and --data"),
    ],
)
def test_cli_sequence_errors_are_one_line(sequences, args, message):
    result = _inspect(
        f"{sequences}:transformer", "--input-shape", "6", *args, "--hessian-iters", "0", "--no-suggest"
    )
    assert result.exit_code != 0
    assert re.search(message, result.output), result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1

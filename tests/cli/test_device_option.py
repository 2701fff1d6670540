"""`--device` on reproduce, sweep and inspect: an absent device is one `Error:` line before any work."""

import pytest
import torch
from click.testing import CliRunner

from specinit.cli import main

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")

MESSAGE = "Error: device 'cuda' is not available: torch.cuda.is_available() is False"


def one_error_line(result):
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_reproduce_refuses_an_absent_device_and_writes_nothing(tmp_path):
    runner = CliRunner()
    out = tmp_path / "run"
    line = one_error_line(
        runner.invoke(main, ["reproduce", "inr-depth", "--quick", "--device", "cuda", "--out", str(out)])
    )
    assert line.startswith(MESSAGE) and not out.exists()
    paper = one_error_line(
        runner.invoke(main, ["reproduce", "random-label", "--scale", "paper", "--out", str(out)])
    )
    assert paper.startswith(MESSAGE)  # the paper scale is a GPU run
    assert one_error_line(
        runner.invoke(main, ["reproduce", "all", "--quick", "--device", "cuda:1"])
    ).startswith("Error: device 'cuda:1' is not available")
    bad = one_error_line(
        runner.invoke(main, ["reproduce", "inr-depth", "--device", "gpu", "--out", str(out)])
    )
    assert "device 'gpu' is not a device name" in bad
    assert "inr-depth has no 'paper' scale" in one_error_line(
        runner.invoke(main, ["reproduce", "inr-depth", "--scale", "paper"])
    )
    assert "random-label" in runner.invoke(main, ["reproduce", "--list"]).output


def test_reproduce_runs_on_the_cpu_when_asked(tmp_path):
    result = CliRunner().invoke(
        main,
        ["reproduce", "inr-depth", "--quick", "--device", "cpu", "--no-progress", "--out", str(tmp_path)]
        + ["--set", "depths=1", "--set", "steps=20", "--set", "lrs=0.01", "--set", "activations=relu"],
    )
    assert result.exit_code == 0, result.output
    assert '"device": "cpu"' in (tmp_path / "results.json").read_text()


def test_sweep_and_inspect_refuse_an_absent_device(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text('experiment = "inr-depth"\nquick = true\n[grid]\ndepths = [[1], [2]]\n')
    runner = CliRunner()
    line = one_error_line(
        runner.invoke(main, ["sweep", str(config), "--device", "cuda", "--out", str(tmp_path / "s")])
    )
    assert line.startswith(MESSAGE) and not (tmp_path / "s" / "sweep.sqlite").exists()
    gpus = runner.invoke(main, ["sweep", str(config), "--gpus-per-run", "1", "--out", str(tmp_path / "s")])
    assert gpus.exit_code == 2 and "--gpus-per-run needs --backend ray" in gpus.output
    model = tmp_path / "net.py"
    model.write_text(
        "import torch\n\ndef build():\n"
        "    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))\n"
    )
    inspect = runner.invoke(main, ["inspect", f"{model}:build", "--input-shape", "3", "--device", "cuda"])
    assert one_error_line(inspect).startswith(MESSAGE)
    ok = runner.invoke(
        main, ["inspect", f"{model}:build", "--input-shape", "3", "--device", "cpu", "--no-suggest"]
    )
    assert ok.exit_code == 0, ok.output

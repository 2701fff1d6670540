"""The README's promises: its examples run, and CI runs its test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_python_example_runs(capsys):
    code = re.search(r"```python\n(.*?)\n```", README, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "True True 1.0 1.128" in printed


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    setup_and_run, setup_and_test = commands[0].strip(), commands[1].strip()
    assert "specinit reproduce all --quick" in setup_and_run
    assert "pytest" in setup_and_test
    assert setup_and_test in (ROOT / ".ci" / "run").read_text()


def test_own_model_example_runs(capsys):
    section = README.split("### Your own model", 1)[1]
    code = re.search(r"```python\n(.*?)\n```", section, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    assert "InitPlan('xavier_normal'" in printed and "2 skipped" in printed
    assert "encoder.layers.1.relu" in printed and "TraceEstimate(" in printed

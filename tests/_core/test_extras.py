"""`pip install specinit` without extras: the core works, and each extra's absence is one clear line.

The missing packages are simulated in a subprocess by a meta-path finder that refuses to import
them, exactly as if they were not installed.
"""

import subprocess
import sys
import textwrap

import pytest

from specinit._core.extras import EXTRAS, MissingExtraError, check_extra, needs_extra

#: Refuse the optional packages; everything else imports normally.
BLOCK = textwrap.dedent(
    """
    import sys
    from importlib.abc import MetaPathFinder
    BLOCKED = {"matplotlib", "sklearn", "click", "markdown", "yaml", "ray", "tomli"}
    class Refuse(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None
    sys.meta_path.insert(0, Refuse())
    import importlib.util
    _find = importlib.util.find_spec
    importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in BLOCKED else _find(name, *a)
    """
)


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )


def test_core_runs_without_any_extra():
    out = _run(
        """
        import torch, specinit
        from specinit import models
        net = specinit.init_(models.mlp(2, [16, 16], 1, "tanh"), "odd_sigmoid", generator=0)
        x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
        y = torch.sin(3 * x[:, :1])
        swim = specinit.init_(models.mlp(2, [32], 1, "tanh"), "swim", data=x, targets=y, generator=0)
        spec = specinit.spectrum_1d(models.coordinate_mlp(1, 32, 2), -1.0, 1.0, n=64)
        trace = specinit.hessian_trace(net, "mse", (x, y), num_matvecs=6, generator=0)
        prop = specinit.propagation.propagation(net, x)
        diag = specinit.diagnose(net, x, generator=0)
        clusters = specinit.cluster_hyperplanes(models.mlp(1, [20], 1, "relu"), eps=0.1)
        kernel = specinit.kernels.ntk(net, x[:8])
        images = specinit.data.mnist(limit_train=20, limit_test=10)
        print("core ok", len(clusters.sizes) > 0, images.source.startswith("embedded"))
        """
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "core ok True True"


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        ("specinit.data.digits()", "sklearn"),
        ("specinit.SwimClassifier", "sklearn"),
        ("specinit.measure.spectrum.plot_spectrum(specinit.spectrum_1d(abs, -1.0, 1.0, n=16))", "plot"),
        ("specinit.propagation.propagation(specinit.models.mlp(2, [4], 1), torch.ones(3, 2)).plot()", "plot"),
        ("import specinit.lab", "lab"),
    ],
)
def test_a_missing_extra_is_named(code, extra):
    out = _run(
        f"""
        import torch, specinit
        from specinit._core.extras import MissingExtraError
        try:
            {code}
        except MissingExtraError as err:
            print(err)
        """
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"pip install 'specinit[{extra}]'" in out.stdout


def test_the_command_says_which_extra_it_needs():
    out = _run(
        "import runpy, sys\n"
        "sys.argv = ['specinit', '--help']\n"
        "runpy.run_module('specinit', run_name='__main__')"
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "specinit: the specinit command needs click, which is not installed: pip install 'specinit[lab]'"
    ]


def test_needs_extra_translates_only_its_own_modules():
    with pytest.raises(MissingExtraError, match=r"plotting needs matplotlib.*specinit\[plot\]"):
        with needs_extra("plot", "plotting"):
            raise ModuleNotFoundError("No module named 'matplotlib.figure'", name="matplotlib.figure")
    with pytest.raises(ModuleNotFoundError) as info:
        with needs_extra("plot", "plotting"):
            raise ModuleNotFoundError("No module named 'nothere'", name="nothere")
    assert not isinstance(info.value, MissingExtraError)
    assert issubclass(MissingExtraError, ImportError)


def test_installed_extras_pass_the_check():
    for extra in EXTRAS:
        check_extra(extra, "test")  # the test environment installs specinit[all]

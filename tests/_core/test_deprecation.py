"""Renamed arguments and moved modules keep working for one release, with a warning."""

import importlib
import sys
import warnings

import pytest

from specinit._core.deprecation import SpecinitDeprecationWarning, deprecated_alias, renamed_kwargs


@renamed_kwargs(seed="generator")
def _draw(*, generator=None):
    return generator


def test_renamed_kwargs_warn_forward_and_refuse_both():
    with pytest.warns(SpecinitDeprecationWarning, match=r"_draw\(seed=...\) is deprecated.*use generator="):
        assert _draw(seed=4) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _draw(generator=5) == 5
    with pytest.raises(TypeError, match="both seed="):
        _draw(seed=1, generator=2)


def test_deprecated_attribute_alias():
    class Thing:
        new = 3
        old = deprecated_alias("old", "new")

    with pytest.warns(SpecinitDeprecationWarning, match=r"Thing.old is deprecated; use .new"):
        assert Thing().old == 3


@pytest.mark.parametrize(
    "old, new",
    [
        ("specinit.curvature", "specinit.measure.curvature"),
        ("specinit.models", "specinit.nn.models"),
        ("specinit.experiments", "specinit.lab"),
    ],
)
def test_old_module_paths_still_import(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(SpecinitDeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


def test_old_module_attribute_still_resolves():
    import specinit

    with pytest.warns(SpecinitDeprecationWarning, match="specinit.spectrum moved"):
        assert specinit.spectrum.spectrum_1d is specinit.spectrum_1d

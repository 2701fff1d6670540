"""The one device/dtype rule and mode restoring (specinit._core.placement)."""

import torch
from torch import nn

from specinit._core.placement import has_floating_state, module_mode, placement, untouched


def test_placement_reads_parameters_then_buffers_then_the_default():
    assert placement(nn.Linear(2, 2).double()) == (torch.device("cpu"), torch.float64)
    norm = nn.BatchNorm1d(3, affine=False).half()  # buffers only
    assert placement(norm) == (torch.device("cpu"), torch.float16)
    empty = nn.ReLU()
    assert not has_floating_state(empty)
    assert placement(empty) == (torch.device("cpu"), torch.get_default_dtype())
    assert placement(empty, default_dtype=torch.float64)[1] == torch.float64


def test_module_mode_restores_each_submodules_own_mode():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.Linear(2, 2))
    net[1].eval()
    with module_mode(net, training=True):
        assert all(m.training for m in net.modules())
    assert [m.training for m in net.modules()] == [True, True, False, True]


def test_untouched_restores_buffers_and_modes():
    net = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with untouched(net, training=True):
        net(torch.randn(8, 3, generator=torch.Generator().manual_seed(0)))
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert net.training


# --------------------------------------------------------------------------- devices and autocast

from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402

from specinit._core.placement import (  # noqa: E402
    DeviceUnavailableError,
    autocast_off,
    device_name,
    full_precision,
    resolve_device,
    to_device,
)


def test_device_names_are_parsed_without_asking_the_machine():
    assert device_name(" CUDA:1 ") == "cuda:1" and device_name("mps") == "mps"
    assert device_name(torch.device("cpu")) == "cpu"
    for bad in ("gpu", "cuda:x", "meta", "cpu:1", ""):
        with pytest.raises(ValueError, match="is not a device name"):
            device_name(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_an_absent_device_is_refused_in_one_line():
    assert resolve_device(None) == resolve_device("cpu") == torch.device("cpu")
    for name in ("cuda", "cuda:1"):
        message = r"is not available: torch.cuda.is_available\(\) is False"
        with pytest.raises(DeviceUnavailableError, match=message) as info:
            resolve_device(name)
        assert "\n" not in str(info.value) and f"device '{name}'" in str(info.value)


@dataclass(frozen=True)
class _Record:
    x: torch.Tensor
    pair: tuple
    label: str = "kept"


def test_to_device_moves_modules_tensors_and_records_keeping_dtypes():
    net = nn.Linear(2, 2).double()
    assert to_device(net, "cpu") is net  # moved in place
    record = _Record(torch.ones(2, dtype=torch.float16), (torch.zeros(1, dtype=torch.int64), 3))
    moved = to_device(record, torch.device("cpu"))
    assert isinstance(moved, _Record) and moved.label == "kept" and moved.pair[1] == 3
    assert moved.x.dtype == torch.float16 and moved.pair[0].dtype == torch.int64
    assert to_device({"a": [torch.ones(1)]}, "cpu")["a"][0].device.type == "cpu"


def test_full_precision_runs_outside_a_bf16_autocast():
    layer = nn.Linear(4, 4)
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))

    @full_precision
    def measured(inputs):
        return layer(inputs)

    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert layer(x).dtype == torch.bfloat16  # autocast is on here
        assert measured(x).dtype == torch.float32
        with autocast_off():
            assert layer(x).dtype == torch.float32
    assert measured.__name__ == "measured"

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

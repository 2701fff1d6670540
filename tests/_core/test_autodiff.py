"""The double-backward routing and the one-line errors of measurements that differentiate a model."""

import pytest
import torch
from torch import nn
from torch.func import vmap

from specinit._core.autodiff import MeasurementError, double_backward_safe, measurement_errors
from specinit.measure.curvature import hessian_eigs, hessian_trace
from specinit.measure.kernels import ntk


class L1RBF(nn.Module):
    """``exp(−‖x − c_j‖₁)``: ``torch.cdist`` has a first derivative but no second (``_cdist_backward``)."""

    def __init__(self, d: int, centres: int) -> None:
        super().__init__()
        self.centres = nn.Parameter(torch.randn(centres, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(-torch.cdist(x, self.centres, p=1.0))


def _rbf_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), L1RBF(4, 5), nn.Linear(5, 2))


def test_an_op_without_double_backward_is_named_with_its_layer_and_a_workaround():
    net = _rbf_net()
    x, y = torch.randn(6, 3), torch.randint(0, 2, (6,))
    with pytest.raises(MeasurementError) as info:
        hessian_trace(net, "cross_entropy", (x, y), num_matvecs=4, generator=0)
    message = str(info.value)
    assert "\n" not in message and isinstance(info.value, ValueError)
    assert "_cdist_backward" in message and "layer '1' (L1RBF)" in message
    assert "params=" in message and "Hessian-vector product" in message
    assert isinstance(info.value.__cause__, (RuntimeError, NotImplementedError))
    # the workaround works: the Hessian block of the layers after it
    after = [n for n, _ in net.named_parameters() if n.startswith("2.")]
    assert "restrict params= to layers after '1'" in message
    assert hessian_eigs(net, "cross_entropy", (x, y), params=after, generator=0).eigenvalues.size == 1


def test_a_once_differentiable_function_is_explained():
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    class Layer(nn.Module):
        def forward(self, x):
            return Square.apply(x)

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), Layer(), nn.Linear(4, 1))
    with pytest.raises(ValueError, match="@once_differentiable") as info:
        hessian_trace(net, "mse", (torch.randn(5, 3), torch.randn(5, 1)), num_matvecs=4)
    assert "\n" not in str(info.value)


class InPlace(nn.Module):
    def forward(self, x):
        total = torch.zeros(x.shape[-1], dtype=x.dtype)
        total += x  # in place on an unbatched tensor: refused under vmap
        return total


class Branchy(nn.Module):
    def forward(self, x):
        return x if x.sum().item() > 0 else -x


@pytest.mark.parametrize(
    ("layer", "words"), [(InPlace(), "in-place update in layer 'body.0'"), (Branchy(), ".item()")]
)
def test_vmap_refusals_in_forward_name_the_layer_from_the_traceback(layer, words):
    net = nn.Sequential()
    net.add_module("body", nn.Sequential(layer))
    with pytest.raises(MeasurementError, match="torch.func.vmap") as info:
        with measurement_errors(net, "ntk"):
            vmap(net)(torch.randn(3, 4))
    assert words in str(info.value) and "'body.0'" in str(info.value)


def test_the_ntk_falls_back_to_one_point_at_a_time_when_vmap_refuses():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), Branchy(), nn.Linear(4, 2))
    x = torch.randn(5, 3, dtype=torch.float64)
    net = net.double()
    theta = ntk(net, x, method="jacobian")
    rows = []
    for i in range(5):
        net.zero_grad()
        grads = []
        for o in range(2):
            g = torch.autograd.grad(net(x[i : i + 1])[0, o], list(net.parameters()))
            grads.append(torch.cat([t.reshape(-1) for t in g]))
        rows.append(torch.stack(grads))
    J = torch.stack(rows)
    assert torch.allclose(theta, torch.einsum("iop,jqp->ijoq", J, J), rtol=1e-12, atol=1e-12)


def test_other_errors_pass_through_unchanged():
    net = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        with measurement_errors(net, "ntk"):
            net(torch.randn(2, 5))


def test_double_backward_safe_selects_math_attention_and_restores_the_settings():
    q = torch.randn(2, 2, 3, 4, requires_grad=True)

    def hvp() -> torch.Tensor:
        out = nn.functional.scaled_dot_product_attention(q, q, q).pow(2).sum()
        (g,) = torch.autograd.grad(out, q, create_graph=True)
        return torch.autograd.grad(g, q, torch.ones_like(g))[0]

    with pytest.raises(RuntimeError, match="derivative for .*scaled_dot_product"):
        hvp()  # the default CPU kernel (flash) has no double backward
    before = (torch.backends.mha.get_fastpath_enabled(), torch.backends.cuda.flash_sdp_enabled())
    with double_backward_safe():
        assert bool(torch.isfinite(hvp()).all())
        assert not torch.backends.mha.get_fastpath_enabled()
        assert not torch.backends.cuda.flash_sdp_enabled()
    assert (torch.backends.mha.get_fastpath_enabled(), torch.backends.cuda.flash_sdp_enabled()) == before

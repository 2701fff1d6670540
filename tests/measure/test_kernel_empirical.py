"""specinit.measure.kernels.empirical: the empirical NTK against explicit Jacobian products."""

import pytest
import torch
from torch.func import functional_call

from specinit.measure import kernels
from specinit.nn.models import ShallowNTKNet, mlp


def _randomized(net, seed, scale=0.7):
    """``net`` (float64) with every parameter redrawn ``N(0, scale²)`` from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    net = net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * scale)
    return net


def _mlp64(out=2, seed=0):
    return _randomized(mlp(3, [8, 8], out, "tanh"), seed)


def _explicit_jacobian(net, x):
    """``J[i, o, p]`` by torch.autograd.functional.jacobian of the whole batch (buffers as they
    are, the model in its current mode), float64 reference."""
    names, values = zip(*net.named_parameters(), strict=True)
    buffers = dict(net.named_buffers())

    def f(*params):
        return functional_call(net, {**buffers, **dict(zip(names, params, strict=True))}, (x,)).reshape(
            x.shape[0], -1
        )

    blocks = torch.autograd.functional.jacobian(f, tuple(v.detach() for v in values))
    return torch.cat([b.reshape(x.shape[0], b.shape[1], -1) for b in blocks], dim=2)


def test_ntk_equals_explicit_jacobian_product_for_every_output_mode():
    net = _mlp64(out=2)
    g = torch.Generator().manual_seed(1)
    x1 = torch.randn(7, 3, generator=g, dtype=torch.float64)
    x2 = torch.randn(5, 3, generator=g, dtype=torch.float64)
    j1, j2 = _explicit_jacobian(net, x1), _explicit_jacobian(net, x2)
    full = torch.einsum("aop,bqp->aboq", j1, j2)
    ours = kernels.ntk(net, x1, x2, chunk_size=3)
    assert ours.shape == (7, 5, 2, 2)
    torch.testing.assert_close(ours, full, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        kernels.ntk(net, x1, x2, outputs="trace"),
        full.diagonal(dim1=2, dim2=3).sum(-1),
        rtol=1e-12,
        atol=1e-12,
    )
    torch.testing.assert_close(
        kernels.ntk(net, x1, x2, outputs="diagonal"), full.diagonal(dim1=2, dim2=3), rtol=1e-12, atol=1e-12
    )


class _Shared(torch.nn.Module):
    """One Linear layer applied twice: the per-layer Gram route must step aside."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(3, 3).double()
        self.scale = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64))

    def forward(self, x):
        return (torch.tanh(self.layer(torch.tanh(self.layer(x)))) * self.scale).sum(1, keepdim=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda: _mlp64(out=1),
        lambda: mlp(3, [6, 5], 2, "gelu", norm="layer").double(),  # Linear + LayerNorm parameters
        _Shared,
        lambda: ShallowNTKNet(3, 16, "sine(omega0=2)", generator=0, dtype=torch.float64),
    ],
)
def test_both_routes_equal_the_explicit_kernel(make):
    net = make()
    x1 = torch.randn(6, 3, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    x2 = torch.randn(4, 3, generator=torch.Generator().manual_seed(10), dtype=torch.float64)
    j1, j2 = _explicit_jacobian(net, x1), _explicit_jacobian(net, x2)
    expected = (
        torch.einsum("aop,bqp->aboq", j1, j2).sum((2, 3))
        if j1.shape[1] == 1
        else torch.einsum("aop,bop->ab", j1, j2)
    )
    for method in ("auto", "jacobian"):
        got = kernels.ntk(net, x1, x2, method=method, outputs="trace", chunk_size=4)
        torch.testing.assert_close(got, expected, rtol=1e-11, atol=1e-11)


def _conv_net():
    """Conv2d (Jacobian route) feeding a Linear head (Gram route) after Flatten."""
    return _randomized(
        torch.nn.Sequential(
            torch.nn.Conv2d(2, 3, 3, padding=1),
            torch.nn.Tanh(),
            torch.nn.Flatten(),
            torch.nn.Linear(3 * 5 * 5, 2),
        ),
        0,
        0.3,
    )


def _batchnorm_net():
    """Linear → BatchNorm1d with non-trivial running statistics and affine → tanh → Linear."""
    net = _randomized(
        torch.nn.Sequential(
            torch.nn.Linear(3, 6), torch.nn.BatchNorm1d(6), torch.nn.Tanh(), torch.nn.Linear(6, 1)
        ),
        1,
    )
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        net[1].running_mean.copy_(torch.randn(6, generator=g, dtype=torch.float64))
        net[1].running_var.copy_(0.5 + torch.rand(6, generator=g, dtype=torch.float64))
    return net


@pytest.mark.parametrize("make, shape", [(_conv_net, (5, 2, 5, 5)), (_batchnorm_net, (6, 3))])
def test_conv_and_eval_batchnorm_models_match_the_explicit_kernel(make, shape):
    net = make().eval()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    j = _explicit_jacobian(net, x)
    expected = torch.einsum("aop,bop->ab", j, j)
    for method in ("auto", "jacobian"):
        got = kernels.ntk(net, x, outputs="trace", method=method, chunk_size=2)
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_batchnorm_in_train_mode_gives_the_eval_kernel_and_keeps_its_statistics():
    net = _batchnorm_net().train()
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    theta = kernels.ntk(net, x)
    assert net.training and net[1].training
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())  # running stats too
    j = _explicit_jacobian(net.eval(), x)
    torch.testing.assert_close(theta, j[:, 0] @ j[:, 0].T, rtol=1e-12, atol=1e-12)


class _Centered(torch.nn.Module):
    """``Linear(x − mean over the batch)``: a point's output depends on the other points."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(3, 1).double()

    def forward(self, x):
        return self.layer(x - x.mean(0, keepdim=True))


@pytest.mark.parametrize("method", ["auto", "jacobian"])
def test_batch_coupled_models_are_refused(method):
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    with pytest.raises(ValueError, match="depends on the other points of the batch"):
        kernels.ntk(_Centered(), x, method=method)
    with pytest.raises(ValueError, match="depends on the other points"):
        kernels.ntk(_Centered(), x[:1], x[1:3])  # the check pairs x1 with x2 too


def test_points_take_the_models_dtype():
    net64 = _mlp64(out=1)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    theta = kernels.ntk(net64, x.float())
    assert theta.dtype == torch.float64
    torch.testing.assert_close(theta, kernels.ntk(net64, x.float().double()), rtol=0, atol=0)
    net32 = mlp(3, [8], 1, "tanh")
    theta32 = kernels.ntk(net32, x)
    assert theta32.dtype == torch.float32
    torch.testing.assert_close(
        theta32.double(), kernels.ntk(net32.double(), x.float().double()), rtol=1e-5, atol=1e-6
    )


def test_ntk_is_symmetric_psd_and_chunking_changes_nothing():
    net = _mlp64(out=1)
    x = torch.randn(23, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    theta = kernels.ntk(net, x)
    assert theta.shape == (23, 23)
    torch.testing.assert_close(theta, theta.T, rtol=0, atol=1e-12)
    assert float(torch.linalg.eigvalsh(theta).min()) > -1e-10 * float(theta.diagonal().max())
    for chunk in (1, 4, 23, 100):
        for method in ("auto", "jacobian"):
            torch.testing.assert_close(
                kernels.ntk(net, x, chunk_size=chunk, method=method), theta, rtol=1e-13, atol=1e-13
            )
    # x2 = x1 passed explicitly gives the same kernel
    torch.testing.assert_close(kernels.ntk(net, x, x.clone(), chunk_size=5), theta, rtol=1e-13, atol=1e-13)


def test_ntk_respects_params_subset_and_leaves_the_model_alone():
    net = _mlp64(out=1)
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    last = {k: v for k, v in net.named_parameters() if k.startswith("4.")}
    theta = kernels.ntk(net, x, params=last)
    with torch.no_grad():
        features = net[:4](x)  # readout NTK: φ(x)·φ(x') + 1 (the bias)
    torch.testing.assert_close(theta, features @ features.T + 1.0, rtol=1e-12, atol=1e-12)
    net.train()
    before = [p.clone() for p in net.parameters()]
    kernels.ntk(net, x)
    assert net.training and all(torch.equal(p, q) for p, q in zip(before, net.parameters(), strict=True))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda net: kernels.ntk(net, torch.zeros(4, 3), torch.zeros(4, 2)),
            ValueError,
            "same feature shape",
        ),
        (lambda net: kernels.ntk(net, torch.zeros(4, 5)), ValueError, "cannot be applied to x1"),
        (lambda net: kernels.ntk(net, torch.tensor([[0.0, float("nan"), 1.0]])), ValueError, "NaN"),
        (lambda net: kernels.ntk(net, torch.zeros(0, 3)), ValueError, "x1 is empty"),
        (lambda net: kernels.ntk(net, torch.zeros(2, 3), chunk_size=0), ValueError, "chunk_size"),
        (lambda net: kernels.ntk(net, torch.zeros(2, 3), outputs="sum"), ValueError, "outputs"),
        (lambda net: kernels.ntk(net, torch.zeros(2, 3), method="fast"), ValueError, "method"),
        (
            lambda net: kernels.ntk(net, torch.zeros(2, 3), params={"nope": torch.zeros(1)}),
            ValueError,
            "not parameters of the model",
        ),
        (lambda net: kernels.ntk("net", torch.zeros(2, 3)), TypeError, "nn.Module"),
    ],
)
def test_ntk_rejects_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call(mlp(3, [4], 1, "tanh"))

"""specinit.measure.kernels.ntk: traced and diagonal NTKs contracted inside the per-layer products
(Linear and Conv layers, ``method="structured"``), against explicit Jacobian products (issue 16)."""

import pytest
import torch
from torch import nn
from torch.func import functional_call

from specinit.measure.kernels import METHODS, STRUCTURED, ntk


def _randomized(net, seed, scale=0.5):
    """``net`` in float64 with every parameter redrawn ``N(0, scale²)`` from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    net = net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * scale)
    return net.eval()


def _jacobian(net, x):
    """``J[i, o, p]`` by ``torch.autograd.functional.jacobian`` of the whole batch (reference)."""
    names, values = zip(*net.named_parameters(), strict=True)

    def f(*params):
        return functional_call(net, dict(zip(names, params, strict=True)), (x,)).reshape(x.shape[0], -1)

    blocks = torch.autograd.functional.jacobian(f, tuple(v.detach() for v in values))
    return torch.cat([b.reshape(x.shape[0], b.shape[1], -1) for b in blocks], dim=2)


def _mlp():
    layers = (nn.Linear(4, 9), nn.ReLU(), nn.Linear(9, 7), nn.Tanh(), nn.Linear(7, 3))
    return _randomized(nn.Sequential(*layers), 0)


def _cnn():
    return _randomized(
        nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(4, 3, 2, stride=2, dilation=1, bias=False),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(3 * 3 * 3, 3),
        ),
        1,
    )


def _cnn1d():
    return _randomized(
        nn.Sequential(
            nn.Conv1d(2, 3, 3, padding=2, dilation=2),
            nn.Tanh(),
            nn.Conv1d(3, 2, 2, stride=2, padding="valid"),
            nn.Flatten(),
            nn.Linear(2 * 3, 2),
        ),
        2,
    )


_MODELS = {"mlp": (_mlp, (7, 4)), "cnn": (_cnn, (5, 2, 6, 6)), "cnn1d": (_cnn1d, (6, 2, 7))}


def _points(shape, seed=3):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("name", list(_MODELS))
def test_structured_trace_and_diagonal_equal_those_of_the_explicit_kernel(name):
    make, shape = _MODELS[name]
    net, x1, x2 = make(), _points(shape), _points((4, *shape[1:]), seed=4)
    for a, b in ((x1, None), (x1, x2)):
        j1 = _jacobian(net, a)
        j2 = j1 if b is None else _jacobian(net, b)
        full = torch.einsum("iop,jqp->ijoq", j1, j2)
        diagonal = full.diagonal(dim1=2, dim2=3)
        for outputs, expected in (("full", full), ("trace", diagonal.sum(-1)), ("diagonal", diagonal)):
            got = ntk(net, a, b, outputs=outputs, method="structured", chunk_size=3)
            torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", list(_MODELS))
@pytest.mark.parametrize("outputs", ["full", "trace", "diagonal"])
def test_chunked_equals_unchunked_and_the_conv_route_equals_the_jacobian_route(name, outputs):
    make, shape = _MODELS[name]
    net, x = make(), _points((11, *shape[1:]))
    reference = ntk(net, x, outputs=outputs, method="jacobian", chunk_size=100)
    for chunk in (1, 3, 4, 11, 100):
        for method in ("structured", "auto"):
            got = ntk(net, x, outputs=outputs, method=method, chunk_size=chunk)
            torch.testing.assert_close(got, reference, rtol=1e-12, atol=1e-12)
        cross = ntk(net, x[:5], x[3:], outputs=outputs, method="structured", chunk_size=chunk)
        torch.testing.assert_close(cross, reference[:5, 3:], rtol=1e-12, atol=1e-12)


def test_a_kernel_of_a_single_output_model_is_n_by_n_in_every_output_mode():
    net = _randomized(nn.Sequential(nn.Conv1d(1, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 3, 1)), 5)
    x = _points((6, 1, 5))
    expected = ntk(net, x, method="jacobian")
    for outputs in ("full", "trace", "diagonal"):
        got = ntk(net, x, outputs=outputs, method="structured")
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)


def test_structured_refuses_parameters_it_cannot_take_and_auto_takes_them_by_jacobians():
    layers = (nn.Conv2d(2, 4, 3, groups=2), nn.ReLU(), nn.Flatten(), nn.LayerNorm(4), nn.Linear(4, 2))
    net = _randomized(nn.Sequential(*layers), 6)
    x = _points((5, 2, 3, 3))
    with pytest.raises(ValueError, match=r"parameters \['0.bias', '0.weight', '3.bias', '3.weight'\]"):
        ntk(net, x, method="structured")
    j = _jacobian(net, x)
    expected = torch.einsum("iop,jop->ijo", j, j)
    torch.testing.assert_close(ntk(net, x, outputs="diagonal"), expected, rtol=1e-10, atol=1e-10)
    assert "structured" in METHODS and set(STRUCTURED) == {nn.Linear, nn.Conv1d, nn.Conv2d}


def test_structured_refuses_a_layer_used_twice():
    lin = nn.Linear(3, 3)
    net = _randomized(nn.Sequential(lin, nn.Tanh(), lin), 7)
    with pytest.raises(ValueError, match="once per forward"):
        ntk(net, _points((4, 3)), method="structured")
    j = _jacobian(net, _points((4, 3)))
    torch.testing.assert_close(
        ntk(net, _points((4, 3)), outputs="trace"), torch.einsum("iop,jop->ij", j, j), rtol=1e-10, atol=1e-10
    )


class _Tokens(nn.Module):
    """Token ids → embedding → Conv1d over the sequence → Linear: integer inputs, mixed routes."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(7, 3)
        self.conv = nn.Conv1d(3, 4, 2)
        self.head = nn.Linear(4 * 4, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.conv(self.embed(ids).transpose(1, 2)))
        return self.head(h.flatten(1))


@pytest.mark.parametrize("outputs", ["trace", "diagonal"])
def test_integer_inputs_keep_working_with_the_contracted_routes(outputs):
    net = _randomized(_Tokens(), 8)
    ids = torch.randint(0, 7, (6, 5), generator=torch.Generator().manual_seed(9))
    expected = ntk(net, ids, outputs=outputs, method="jacobian")
    torch.testing.assert_close(ntk(net, ids, outputs=outputs, chunk_size=4), expected, rtol=1e-12, atol=1e-12)
    params = dict(net.named_parameters())
    rows = torch.func.vmap(torch.func.jacrev(lambda p, i: functional_call(net, p, (i[None],))[0]), (None, 0))
    blocks = rows(params, ids)
    j = torch.cat([blocks[k].reshape(6, 2, -1) for k in params], dim=2)
    full = torch.einsum("iop,jqp->ijoq", j, j).diagonal(dim1=2, dim2=3)
    torch.testing.assert_close(expected, full.sum(-1) if outputs == "trace" else full, rtol=1e-10, atol=1e-10)


def test_in_place_activations_and_tied_weights_keep_the_structured_route_exact():
    """Review findings: ReLU(inplace=True) overwrote the layer output the signal is taken from,
    and the second use of a tied weight was dropped.
    """
    torch.manual_seed(0)
    x = torch.randn(5, 3, dtype=torch.float64)

    class TiedAutoencoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.c, self.b = nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 2)
            self.c.weight = self.a.weight

        def forward(self, h: torch.Tensor) -> torch.Tensor:
            return self.b(torch.tanh(self.c(torch.tanh(self.a(h)))))

    models = [
        nn.Sequential(nn.Linear(3, 5), nn.ReLU(inplace=True), nn.Linear(5, 2)),
        nn.Sequential(nn.Linear(3, 5), nn.ELU(inplace=True), nn.Linear(5, 2)),
        TiedAutoencoder(),
    ]
    for model in models:
        model = model.double()
        reference = ntk(model, x, method="jacobian")
        for outputs in ("full", "trace", "diagonal"):
            expected = ntk(model, x, method="jacobian", outputs=outputs)
            torch.testing.assert_close(ntk(model, x, outputs=outputs), expected, atol=1e-12, rtol=1e-10)
        assert reference.abs().max() > 0.1
    conv = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(48, 2)).double()
    images = torch.randn(4, 1, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(
        ntk(conv, images, method="structured"), ntk(conv, images, method="jacobian"), atol=1e-12, rtol=1e-10
    )

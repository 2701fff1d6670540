"""Tests for specinit.models: shapes, exact structure, residual identity, gradients, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from specinit.initializers.registry import supported_layers
from specinit.nn import activations
from specinit.nn.activations import ActivationModule
from specinit.nn.models import (
    BasicBlock,
    CoordinateMLP,
    coordinate_mlp,
    hidden_layers,
    mlp,
    mlp_widths,
    resnet18,
    resnet_small,
    vgg11,
    vgg16,
    vgg_small,
)


def _seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _images(n: int = 2, channels: int = 1, size: int = 28) -> torch.Tensor:
    return torch.randn(n, channels, size, size, generator=_seeded())


def _all_models() -> dict[str, nn.Module]:
    return {
        "mlp": mlp(3, [8, 8], 2, "tanh", norm="batch"),
        "linear": mlp(3, [], 2),
        "coordinate": coordinate_mlp(1, width=16, depth=3, activation="sine"),
        "vgg": vgg_small(1, 10, widths=(4, 8, 8), dropout=0.5),
        "vgg_layer_norm": vgg_small(1, 10, widths=(4, 8), norm="layer"),
        "resnet": resnet_small(1, 10, widths=(4, 8, 8), blocks_per_stage=2),
        "resnet_no_norm": resnet_small(1, 10, widths=(4, 8), norm=None),
    }


# --------------------------------------------------------------------------- MLP structure


def test_mlp_structure_widths_and_activations() -> None:
    net = mlp(3, [5, 7], 2, "tanh")
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, ActivationModule, nn.Linear, ActivationModule, nn.Linear]
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(3, 5), (5, 7), (7, 2)]
    assert all(m.activation.name == "tanh" for m in hidden_layers(net))
    assert len(hidden_layers(net)) == 2


def test_mlp_empty_widths_is_linear_model() -> None:
    net = mlp(4, [], 3)
    assert len(net) == 1 and isinstance(net[0], nn.Linear)
    assert (net[0].in_features, net[0].out_features) == (4, 3)
    assert hidden_layers(net) == []


@pytest.mark.parametrize(("norm", "norm_type"), [("batch", nn.BatchNorm1d), ("layer", nn.LayerNorm)])
def test_mlp_norm_sits_between_linear_and_activation(norm: str, norm_type: type) -> None:
    net = mlp(2, [6, 4], 1, norm=norm)
    kinds = [type(m) for m in net]
    assert kinds == [
        nn.Linear,
        norm_type,
        ActivationModule,
        nn.Linear,
        norm_type,
        ActivationModule,
        nn.Linear,
    ]
    norms = [m for m in net if isinstance(m, norm_type)]
    sizes = [m.num_features if norm == "batch" else m.normalized_shape[0] for m in norms]
    assert sizes == [6, 4]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("norm", [None, "batch", "layer"])
def test_mlp_parameter_count_matches_closed_form(bias: bool, norm: str | None) -> None:
    sizes = [3, 5, 7, 2]
    net = mlp(sizes[0], sizes[1:-1], sizes[-1], bias=bias, norm=norm)
    expected = sum(a * b + (b if bias else 0) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if norm is not None:
        expected += 2 * sum(sizes[1:-1])  # weight and bias per hidden unit
    assert sum(p.numel() for p in net.parameters()) == expected


def test_mlp_activation_params_reach_every_layer() -> None:
    net = mlp(1, [4, 4], 1, "sine", omega0=7.0)
    assert [m.activation.params for m in hidden_layers(net)] == [(("omega0", 7.0),)] * 2
    x = torch.randn(5, 1, generator=_seeded())
    first = net[1](net[0](x))
    assert torch.allclose(first, torch.sin(7.0 * net[0](x)))


def test_mlp_accepts_activation_object_and_callable() -> None:
    act = activations.get("gaussian", sigma=0.5)
    assert hidden_layers(mlp(1, [3], 1, act))[0].activation is act
    custom = mlp(1, [3], 1, torch.tanh)
    assert hidden_layers(custom)[0].activation.odd


# --------------------------------------------------------------------------- coordinate MLP


def test_coordinate_mlp_accepts_flat_and_column_inputs() -> None:
    net = coordinate_mlp(1, width=16, depth=3, out_features=2)
    x = torch.linspace(-1, 1, 11)
    flat, column = net(x), net(x[:, None])
    assert flat.shape == (11, 2)
    assert torch.equal(flat, column)


def test_coordinate_mlp_2d_input_and_structure() -> None:
    net = coordinate_mlp(2, width=8, depth=4, out_features=3, activation="gaussian", sigma=0.3)
    assert isinstance(net, CoordinateMLP) and isinstance(net.net, nn.Sequential)
    assert net(torch.rand(6, 2, generator=_seeded())).shape == (6, 3)
    linears = [m for m in net.net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2, 8)] + [(8, 8)] * 3 + [(8, 3)]
    assert net.activation.describe() == "gaussian(sigma=0.3)"
    assert all(m.activation is net.activation for m in hidden_layers(net))


def test_coordinate_mlp_exposes_siren_omega0() -> None:
    net = coordinate_mlp(activation="sine", omega0=30.0)
    assert dict(net.activation.params)["omega0"] == 30.0
    assert net.activation.slope0 == 30.0


@pytest.mark.parametrize(
    ("in_features", "x", "error", "match"),
    [
        (1, torch.zeros(4, 2), ValueError, r"\(N,\) or \(N, 1\).*\(4, 2\)"),
        (2, torch.zeros(4), ValueError, r"shape \(N, 2\).*\(4,\)"),
        (2, torch.zeros(4, 2, 1), ValueError, r"shape \(N, 2\)"),
        (2, torch.zeros(4, 3), ValueError, r"shape \(N, 2\).*\(4, 3\)"),
        (1, torch.zeros(4, dtype=torch.long), TypeError, "floating-point"),
        (1, [0.0, 1.0], TypeError, "torch.Tensor"),
    ],
)
def test_coordinate_mlp_rejects_bad_input(in_features, x, error, match) -> None:
    net = coordinate_mlp(in_features, width=4, depth=1)
    with pytest.raises(error, match=match):
        net(x)


def test_coordinate_mlp_wrapper_validates_net() -> None:
    act = activations.get("relu")
    with pytest.raises(TypeError, match="start and end with nn.Linear"):
        CoordinateMLP(nn.Sequential(act.module(), nn.Linear(2, 1)), act)
    with pytest.raises(TypeError, match="Activation"):
        CoordinateMLP(mlp(1, [2], 1), "relu")


# --------------------------------------------------------------------------- VGG


def test_vgg_small_shapes_and_stage_structure() -> None:
    net = vgg_small(1, 10)
    assert net(_images()).shape == (2, 10)
    kinds = [type(m) for m in net.features]
    stage = [nn.Conv2d, nn.BatchNorm2d, ActivationModule] * 2 + [nn.MaxPool2d]
    assert kinds == stage * 3
    convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (1, 32),
        (32, 32),
        (32, 64),
        (64, 64),
        (64, 128),
        (128, 128),
    ]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) and c.bias is None for c in convs)
    # 28 -> 14 -> 7 -> 3 after three 2x2 poolings.
    assert net.classifier[-1].in_features == 128 * 3 * 3
    assert len(hidden_layers(net)) == 6


def test_vgg_small_without_norm_has_conv_bias_and_dropout() -> None:
    net = vgg_small(3, 4, widths=(8, 16), norm=None, dropout=0.25, image_size=16, activation="tanh")
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in net.modules())
    convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
    assert all(c.bias is not None for c in convs)
    dropouts = [m for m in net.classifier if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 1 and dropouts[0].p == 0.25
    assert net.classifier[-1].in_features == 16 * 4 * 4
    assert all(m.activation.name == "tanh" for m in hidden_layers(net))
    assert net(_images(channels=3, size=16)).shape == (2, 4)
    assert not any(isinstance(m, nn.Dropout) for m in vgg_small().modules())


def test_vgg_small_layer_norm_is_groupnorm_with_one_group() -> None:
    net = vgg_small(1, 10, widths=(4, 8), norm="layer")
    norms = [m for m in net.modules() if isinstance(m, nn.GroupNorm)]
    assert [(m.num_groups, m.num_channels) for m in norms] == [(1, 4), (1, 4), (1, 8), (1, 8)]


def test_vgg_small_rectangular_image_size() -> None:
    net = vgg_small(1, 3, widths=(4, 4), image_size=(8, 12))
    assert net.classifier[-1].in_features == 4 * 2 * 3
    assert net(torch.zeros(2, 1, 8, 12)).shape == (2, 3)


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (torch.zeros(2, 28, 28), r"\(N, 1, 28, 28\).*\(2, 28, 28\)"),
        (torch.zeros(2, 3, 28, 28), r"\(N, 1, 28, 28\)"),
        (torch.zeros(2, 1, 32, 32), r"image_size=\(28, 28\)"),
    ],
)
def test_vgg_small_rejects_wrong_input_shape(x: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        vgg_small()(x)


# --------------------------------------------------------------------------- ResNet


def test_resnet_small_shapes_and_structure() -> None:
    net = resnet_small(1, 10, widths=(4, 8, 16), blocks_per_stage=2)
    assert net(_images()).shape == (2, 10)
    blocks = list(net.stages)
    assert len(blocks) == 6 and all(isinstance(b, BasicBlock) for b in blocks)
    assert [b.conv1.stride for b in blocks] == [(1, 1), (1, 1), (2, 2), (1, 1), (2, 2), (1, 1)]
    assert [b.conv2.out_channels for b in blocks] == [4, 4, 8, 8, 16, 16]
    projections = [isinstance(b.shortcut, nn.Sequential) for b in blocks]
    assert projections == [False, False, True, False, True, False]
    for block in (blocks[2], blocks[4]):
        conv, norm = block.shortcut
        assert conv.kernel_size == (1, 1) and conv.stride == (2, 2)
        assert isinstance(norm, nn.BatchNorm2d)
    assert isinstance(net.head[0], nn.AdaptiveAvgPool2d)
    assert net.head[-1].in_features == 16
    # Stem activation plus two per block, all in forward order.
    assert len(hidden_layers(net)) == 1 + 2 * 6


def test_resnet_small_any_image_size_and_channels() -> None:
    net = resnet_small(3, 5, widths=(4, 8), activation="gelu", norm="layer")
    assert net(torch.randn(2, 3, 17, 23, generator=_seeded())).shape == (2, 5)
    assert any(isinstance(m, nn.GroupNorm) for m in net.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        net(torch.zeros(2, 1, 8, 8))


def _zero_residual_convs(block: BasicBlock) -> None:
    with torch.no_grad():
        for conv in (block.conv1, block.conv2):
            conv.weight.zero_()
            if conv.bias is not None:
                conv.bias.zero_()
    for norm in (block.norm1, block.norm2):
        if not isinstance(norm, nn.Identity):
            norm.reset_parameters()


@pytest.mark.parametrize("norm", ["batch", "layer", None])
@pytest.mark.parametrize("train", [True, False])
def test_identity_block_with_zeroed_convs_computes_activation_of_input(norm: str | None, train: bool) -> None:
    net = resnet_small(1, 10, widths=(4, 8), blocks_per_stage=2, norm=norm, activation="tanh")
    net.train(train)
    identity_blocks = [b for b in net.stages if isinstance(b.shortcut, nn.Identity)]
    assert len(identity_blocks) == 3
    for block in identity_blocks:
        _zero_residual_convs(block)
        channels = block.conv1.in_channels
        x = torch.randn(2, channels, 6, 6, generator=_seeded())
        torch.testing.assert_close(block(x), torch.tanh(x), rtol=0, atol=0)


@pytest.mark.parametrize("train", [True, False])
def test_projection_block_with_zeroed_convs_computes_activation_of_shortcut(train: bool) -> None:
    net = resnet_small(1, 10, widths=(4, 8), activation="tanh")
    net.train(train)
    block = net.stages[1]
    _zero_residual_convs(block)
    x = torch.randn(2, 4, 6, 6, generator=_seeded())
    conv, norm = block.shortcut
    expected = torch.tanh(norm(conv(x)))
    assert expected.shape == (2, 8, 3, 3)  # stride 2 and a 1x1 projection to 8 channels
    torch.testing.assert_close(block(x), expected, rtol=0, atol=0)


# --------------------------------------------------------------------------- all models


@pytest.mark.parametrize("name", list(_all_models()))
def test_gradients_reach_every_parameter(name: str) -> None:
    with torch.random.fork_rng():  # PyTorch's default init draws from the global generator
        torch.manual_seed(0)
        net = _all_models()[name]
    if name in ("mlp", "linear"):
        x = torch.randn(4, 3, generator=_seeded())
    elif name == "coordinate":
        x = torch.linspace(-1, 1, 9)
    else:
        x = _images()
    net(x).pow(2).sum().backward()
    for param_name, param in net.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
        assert param.grad.abs().sum() > 0, param_name


@pytest.mark.parametrize("name", list(_all_models()))
def test_every_model_has_only_layers_the_init_dispatcher_supports(name: str) -> None:
    net = _all_models()[name]
    layers = supported_layers(net)
    owned = {id(m) for _, m in layers}
    linear_conv = [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    assert len(layers) == len(linear_conv) and all(id(m) in owned for m in linear_conv)


def test_hidden_layers_are_hookable_in_forward_order() -> None:
    net = coordinate_mlp(1, width=5, depth=3, activation="tanh")
    seen: list[int] = []
    for i, layer in enumerate(hidden_layers(net)):
        layer.register_forward_hook(lambda module, inp, out, i=i: seen.append(i))
    net(torch.zeros(3))
    assert seen == [0, 1, 2]
    with pytest.raises(TypeError, match="nn.Module"):
        hidden_layers("not a model")


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: mlp(0, [4], 1), ValueError, "in_features must be an integer >= 1"),
        (lambda: mlp(2, [4, 0], 1), ValueError, r"widths\[1\] must be an integer >= 1"),
        (lambda: mlp(2, [4, 2.5], 1), TypeError, r"widths\[1\] must be an integer"),
        (lambda: mlp(2, [True], 1), TypeError, r"widths\[0\] must be an integer"),
        (lambda: mlp(2, 4, 1), TypeError, "widths must be a sequence"),
        (lambda: mlp(2, [4], 1, norm="instance"), ValueError, r"unknown norm.*'batch', 'layer'"),
        (lambda: mlp(2, [4], 1, "nope"), ValueError, "unknown activation"),
        (lambda: mlp(2, [4], 1, "relu", omega0=3.0), ValueError, "takes no parameter"),
        (lambda: coordinate_mlp(width=0), ValueError, "width must be an integer >= 1"),
        (lambda: coordinate_mlp(depth=0), ValueError, "depth must be an integer >= 1"),
        (lambda: coordinate_mlp(out_features=-1), ValueError, "out_features"),
        (lambda: vgg_small(widths=()), ValueError, "at least one width"),
        (lambda: vgg_small(dropout=1.0), ValueError, r"dropout must lie in \[0, 1\)"),
        (lambda: vgg_small(dropout=-0.1), ValueError, "dropout must be a finite non-negative"),
        (lambda: vgg_small(image_size=4), ValueError, "too small for 3 pooling stages"),
        (lambda: vgg_small(image_size=(28, 28, 1)), ValueError, "image_size must be an int or"),
        (lambda: vgg_small(norm="group"), ValueError, "unknown norm 'group'"),
        (lambda: vgg_small(num_classes=0), ValueError, "num_classes"),
        (lambda: resnet_small(blocks_per_stage=0), ValueError, "blocks_per_stage"),
        (lambda: resnet_small(widths=(8, -2)), ValueError, r"widths\[1\]"),
        (lambda: resnet_small(in_channels=1.0), TypeError, "in_channels must be an integer"),
    ],
)
def test_bad_arguments_raise_clear_errors(build, error, match) -> None:
    with pytest.raises(error, match=match):
        build()


def test_design_widths():
    assert mlp_widths("64x3") == [64, 64, 64]
    narrow = mlp_widths("16/4x101")
    assert len(narrow) == 101
    assert narrow[:5] == [16, 16, 4, 16, 4] and narrow[-1] == 4
    with pytest.raises(ValueError, match="odd depth"):
        mlp_widths("16/4x10")
    with pytest.raises(ValueError, match="must look like"):
        mlp_widths("deep")


# --------------------------------------------------------------------------- the papers' CIFAR nets


@pytest.mark.parametrize(
    ("build", "params_10", "convs3x3"),
    [(vgg11, 9_228_362, 8), (vgg16, 14_724_042, 13), (resnet18, 11_173_962, 1 + 16)],
)
def test_cifar_nets_have_the_papers_shapes_and_parameter_counts(build, params_10, convs3x3) -> None:
    net = build()
    assert sum(p.numel() for p in net.parameters()) == params_10
    # 100 classes: only the last Linear grows, by 90 × (512 + 1)
    assert sum(p.numel() for p in build(100).parameters()) == params_10 + 90 * 513
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == convs3x3 and convs[0].stride == (1, 1)
    projections = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    assert len(projections) == (3 if build is resnet18 else 0)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert net.eval()(x).shape == (2, 10)


def test_cifar_nets_take_a_width_multiplier_and_grey_images() -> None:
    small = resnet18(10, 1, width=0.25)
    assert [b.conv2.out_channels for b in small.stages[::2]] == [16, 32, 64, 128]
    assert small.stem[0].in_channels == 1 and small.head[-1].in_features == 128
    assert not any(isinstance(m, nn.MaxPool2d) for m in small.modules())  # CIFAR stem: no max-pool
    tiny = vgg11(7, width=0.125)
    assert tiny.classifier[-1].in_features == 64 and tiny.classifier[-1].out_features == 7
    assert tiny(torch.zeros(1, 3, 32, 32)).shape == (1, 7)
    with pytest.raises(ValueError, match="image_size"):
        tiny(torch.zeros(1, 3, 28, 28))
    with pytest.raises(ValueError, match="width"):
        vgg16(width=0)


def test_init_and_the_doctor_know_the_cifar_nets() -> None:
    import specinit
    from specinit.doctor import diagnose

    net = specinit.init_(resnet18(10, width=0.125), "kaiming_normal", generator=0)
    again = specinit.init_(resnet18(10, width=0.125), "kaiming_normal", generator=0)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters(), strict=True))
    x = torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    report = diagnose(specinit.init_(vgg11(width=0.125), "kaiming_normal", generator=0), x, hessian_iters=0)
    assert len(report.layers) >= 8  # one row per ReLU at least

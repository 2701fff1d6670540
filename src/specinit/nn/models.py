"""Models built from specinit's activation modules: MLPs, coordinate MLPs, small CNNs, and the
papers' CIFAR networks (VGG-11, VGG-16, ResNet-18 for 32×32 images).

Every non-linearity is an :class:`~specinit.nn.activations.ActivationModule`, so its properties
(odd, bounded, ``f'(0)``, ``omega0`` ...) stay reachable from the model, and :func:`hidden_layers`
can list them for diagnostics that hook the hidden layers.  The only modules that own parameters are
``nn.Linear``, ``nn.Conv2d`` and normalization layers, the layers :func:`specinit.init_` supports
(:mod:`specinit.nn.layers`).  Constructors leave PyTorch's default initialization in place:
initializing is the job of :func:`specinit.init_`.

>>> import torch
>>> from specinit.nn import models
>>> net = models.coordinate_mlp(1, width=32, depth=3, activation="sine", omega0=30.0)
>>> net(torch.linspace(-1, 1, 5)).shape
torch.Size([5, 1])
>>> [m.activation.describe() for m in models.hidden_layers(net)]
['sine(omega0=30)', 'sine(omega0=30)', 'sine(omega0=30)']
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils import skip_init

from specinit._core.checks import check_int, check_positive
from specinit._core.rng import GeneratorLike, as_generator
from specinit.nn import activations
from specinit.nn.activations import Activation, ActivationLike, ActivationModule
from specinit.nn.layers import specinit_activations

__all__ = [
    "mlp",
    "coordinate_mlp",
    "CoordinateMLP",
    "vgg_small",
    "VGGSmall",
    "resnet_small",
    "ResNetSmall",
    "BasicBlock",
    "vgg11",
    "vgg16",
    "resnet18",
    "VGG_CONFIGS",
    "hidden_layers",
    "mlp_widths",
    "ShallowNTKNet",
    "NORMS",
]

NORMS = (None, "batch", "layer")
"""Accepted ``norm`` options.  ``"layer"`` is ``nn.LayerNorm`` in MLPs and ``nn.GroupNorm(1, C)``
(normalization over channels and pixels together) in CNNs."""

_NormFactory = Callable[[int], nn.Module]
_NORMS_1D: dict[str, _NormFactory] = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}
_NORMS_2D: dict[str, _NormFactory] = {
    "batch": nn.BatchNorm2d,
    "layer": lambda channels: nn.GroupNorm(1, channels),
}


# --------------------------------------------------------------------------- validation


def _check_widths(widths: Sequence[int], name: str = "widths", *, allow_empty: bool) -> list[int]:
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise TypeError(f"{name} must be a sequence of positive integers, got {widths!r}")
    if not widths and not allow_empty:
        raise ValueError(f"{name} must hold at least one width")
    return [check_int(w, f"{name}[{i}]") for i, w in enumerate(widths)]


def _norm_factory(norm: str | None, table: dict[str, _NormFactory]) -> _NormFactory | None:
    if norm is None:
        return None
    if not isinstance(norm, str) or norm not in table:
        options = ", ".join(repr(n) for n in NORMS)
        raise ValueError(f"unknown norm {norm!r}; options: {options}")
    return table[norm]


def _check_image_size(image_size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(image_size, Sequence) and not isinstance(image_size, (str, bytes)):
        if len(image_size) != 2:
            raise ValueError(f"image_size must be an int or a (height, width) pair, got {image_size!r}")
        height, width = (check_int(v, f"image_size[{i}]") for i, v in enumerate(image_size))
        return height, width
    size = check_int(image_size, "image_size")
    return size, size


def _check_images(x: Tensor, in_channels: int, size: tuple[int, int] | None) -> None:
    """Raise unless ``x`` is a floating ``(N, in_channels, H, W)`` batch (of ``size`` if given)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"input must be a floating-point tensor, got dtype {x.dtype}")
    expected = f"(N, {in_channels}, " + (f"{size[0]}, {size[1]})" if size else "H, W)")
    if x.dim() != 4 or x.shape[1] != in_channels:
        raise ValueError(f"input must have shape {expected}, got {tuple(x.shape)}")
    if size is not None and tuple(x.shape[2:]) != size:
        raise ValueError(
            f"input must have shape {expected} (the model was built for image_size={size}), "
            f"got {tuple(x.shape)}"
        )


# --------------------------------------------------------------------------- MLPs


def mlp(
    in_features: int,
    widths: Sequence[int],
    out_features: int,
    activation: ActivationLike = "relu",
    bias: bool = True,
    norm: str | None = None,
    **activation_params: float,
) -> nn.Sequential:
    """A fully connected net: ``Linear → [norm] → f`` per hidden width, then a final ``Linear``.

    ``f = activations.get(activation, **activation_params)``; ``norm`` is ``None``,
    ``"batch"`` (``BatchNorm1d``) or ``"layer"`` (``LayerNorm``), placed between each hidden
    ``Linear`` and its activation.  Empty ``widths`` gives the linear model ``Linear(in, out)``.
    The parameter count is ``Σ_l (n_{l-1} n_l + n_l·bias) + 2 Σ_hidden n_l·[norm]`` with
    ``n_0 = in_features`` and the last ``n = out_features``.

    >>> mlp(2, [16, 16], 1, "tanh")[1]
    ActivationModule(tanh)
    """
    in_features = check_int(in_features, "in_features")
    out_features = check_int(out_features, "out_features")
    sizes = _check_widths(widths, allow_empty=True)
    make_norm = _norm_factory(norm, _NORMS_1D)
    act = activations.get(activation, **activation_params)
    layers: list[nn.Module] = []
    fan_in = in_features
    for width in sizes:
        layers.append(nn.Linear(fan_in, width, bias=bias))
        if make_norm is not None:
            layers.append(make_norm(width))
        layers.append(act.module())
        fan_in = width
    layers.append(nn.Linear(fan_in, out_features, bias=bias))
    return nn.Sequential(*layers)


class CoordinateMLP(nn.Module):
    """A coordinate network (implicit neural representation) ``x ↦ y`` for 1D/2D signals.

    Wraps a fully connected ``nn.Sequential`` (first and last module ``nn.Linear``, as built by
    :func:`mlp`) as ``self.net`` and checks its input: ``(N,)`` when ``in_features == 1``, or
    ``(N, in_features)``; the output is ``(N, out_features)``.  ``self.activation`` is the
    :class:`~specinit.nn.activations.Activation` of the hidden layers (e.g. SIREN's ``omega0``).
    """

    def __init__(self, net: nn.Sequential, activation: Activation) -> None:
        super().__init__()
        if not isinstance(net, nn.Sequential) or len(net) == 0:
            raise TypeError(f"net must be a non-empty nn.Sequential, got {type(net).__name__}")
        first, last = net[0], net[-1]
        if not isinstance(first, nn.Linear) or not isinstance(last, nn.Linear):
            raise TypeError("net must start and end with nn.Linear layers")
        if not isinstance(activation, Activation):
            raise TypeError(f"activation must be a specinit Activation, got {type(activation).__name__}")
        self.net = net
        self.activation = activation
        self.in_features: int = first.in_features
        self.out_features: int = last.out_features

    def forward(self, x: Tensor) -> Tensor:
        """Check the input's dtype and shape, then run the wrapped network."""
        if not isinstance(x, Tensor):
            raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"input must be a floating-point tensor, got dtype {x.dtype}")
        if x.dim() == 1 and self.in_features == 1:
            x = x.unsqueeze(-1)
        if x.dim() != 2 or x.shape[1] != self.in_features:
            accepted = "(N,) or (N, 1)" if self.in_features == 1 else f"(N, {self.in_features})"
            raise ValueError(f"input must have shape {accepted}, got {tuple(x.shape)}")
        return self.net(x)

    def extra_repr(self) -> str:
        """The input and output sizes."""
        return f"in_features={self.in_features}, out_features={self.out_features}"


def coordinate_mlp(
    in_features: int = 1,
    width: int = 256,
    depth: int = 4,
    out_features: int = 1,
    activation: ActivationLike = "relu",
    *,
    bias: bool = True,
    **activation_params: float,
) -> CoordinateMLP:
    """A coordinate MLP with ``depth`` hidden layers of ``width`` units, for 1D/2D signals.

    The networks of arXiv 2206.08558 Exp. 1 (ReLU, Gaussian and sine activations at
    increasing depth regressing sparse samples of a 1D signal).  ``activation_params`` go to
    :func:`specinit.nn.activations.get`, e.g. ``omega0=30`` for ``"sine"``, ``sigma=0.1`` for
    ``"gaussian"``.

    >>> coordinate_mlp(2, width=8, depth=2, activation="gaussian", sigma=0.5).activation.describe()
    'gaussian(sigma=0.5)'
    """
    width = check_int(width, "width")
    depth = check_int(depth, "depth")
    act = activations.get(activation, **activation_params)
    net = mlp(in_features, [width] * depth, out_features, act, bias=bias)
    return CoordinateMLP(net, act)


# --------------------------------------------------------------------------- CNNs


def _conv_norm_act(
    in_channels: int, out_channels: int, act: Activation, make_norm: _NormFactory | None
) -> list[nn.Module]:
    # A conv bias is redundant in front of a normalization layer, so it is dropped there.
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=make_norm is None)]
    if make_norm is not None:
        layers.append(make_norm(out_channels))
    layers.append(act.module())
    return layers


class VGGSmall(nn.Module):
    """VGG-style CNN: ``features`` (conv stages), then ``classifier``; see :func:`vgg_small`."""

    def __init__(
        self,
        features: nn.Sequential,
        classifier: nn.Sequential,
        activation: Activation,
        in_channels: int,
        image_size: tuple[int, int],
    ) -> None:
        super().__init__()
        self.features = features
        self.classifier = classifier
        self.activation = activation
        self.in_channels = in_channels
        self.image_size = image_size

    def forward(self, x: Tensor) -> Tensor:
        """Check the images' channels and size, then apply ``features`` and ``classifier``."""
        _check_images(x, self.in_channels, self.image_size)
        return self.classifier(self.features(x))


def vgg_small(
    in_channels: int = 1,
    num_classes: int = 10,
    *,
    widths: Sequence[int] = (32, 64, 128),
    activation: ActivationLike = "relu",
    norm: str | None = "batch",
    dropout: float = 0.0,
    image_size: int | tuple[int, int] = 28,
    **activation_params: float,
) -> VGGSmall:
    """A VGG-like CNN for small images (a CPU-sized stand-in for the VGGs of arXiv 2206.08558).

    Per stage of width ``c``: ``[Conv3×3(c) → [norm] → f] × 2 → MaxPool2×2``; then
    ``Flatten → [Dropout(dropout)] → Linear(c_last · h_s · w_s, num_classes)`` where
    ``h_s = ⌊H / 2^S⌋`` after ``S = len(widths)`` poolings (odd sizes lose their last row, as
    ``MaxPool2d`` floors), so ``image_size`` must be at least ``2^S``.  Convolutions carry a bias
    only when ``norm`` is ``None``; ``"layer"`` normalizes each sample over channels and pixels
    (``GroupNorm(1, c)``).  Input: ``(N, in_channels, H, W)`` with ``(H, W) = image_size``.

    >>> vgg_small(1, 10).classifier  # 28 → 14 → 7 → 3 after three stages
    Sequential(
      (0): Flatten(start_dim=1, end_dim=-1)
      (1): Linear(in_features=1152, out_features=10, bias=True)
    )
    """
    in_channels = check_int(in_channels, "in_channels")
    num_classes = check_int(num_classes, "num_classes")
    stages = _check_widths(widths, allow_empty=False)
    make_norm = _norm_factory(norm, _NORMS_2D)
    check_positive(dropout, "dropout", allow_zero=True)
    if dropout >= 1:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
    height, width = _check_image_size(image_size)
    shrink = 2 ** len(stages)
    if min(height, width) < shrink:
        raise ValueError(
            f"image_size {(height, width)} is too small for {len(stages)} pooling stages: "
            f"each side must be at least 2^{len(stages)} = {shrink}"
        )
    act = activations.get(activation, **activation_params)
    layers: list[nn.Module] = []
    channels = in_channels
    for stage_width in stages:
        layers += _conv_norm_act(channels, stage_width, act, make_norm)
        layers += _conv_norm_act(stage_width, stage_width, act, make_norm)
        layers.append(nn.MaxPool2d(2))
        channels = stage_width
    head: list[nn.Module] = [nn.Flatten()]
    if dropout > 0:
        head.append(nn.Dropout(dropout))
    head.append(nn.Linear(channels * (height // shrink) * (width // shrink), num_classes))
    return VGGSmall(nn.Sequential(*layers), nn.Sequential(*head), act, in_channels, (height, width))


class BasicBlock(nn.Module):
    """ResNet basic block: ``f(norm(conv(f(norm(conv(x))))) + shortcut(x))``.

    Both convolutions are 3×3; the first has ``stride``.  The shortcut is the identity when
    ``stride == 1`` and the channel count is kept, else a ``Conv1×1(stride) → [norm]``
    projection (He et al. 2016, option B).  With both residual convolutions zeroed (and their
    biases, when ``norm`` is ``None``) and normalization layers reset, an identity block
    computes ``f(x)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        act: Activation,
        make_norm: _NormFactory | None,
        stride: int = 1,
    ) -> None:
        super().__init__()
        use_bias = make_norm is None
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=use_bias)
        self.norm1 = make_norm(out_channels) if make_norm else nn.Identity()
        self.act1 = act.module()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=use_bias)
        self.norm2 = make_norm(out_channels) if make_norm else nn.Identity()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            projection: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 1, stride, bias=use_bias)]
            if make_norm is not None:
                projection.append(make_norm(out_channels))
            self.shortcut = nn.Sequential(*projection)
        self.act2 = act.module()

    def forward(self, x: Tensor) -> Tensor:
        """``f(residual + shortcut(x))``."""
        residual = self.norm2(self.conv2(self.act1(self.norm1(self.conv1(x)))))
        return self.act2(residual + self.shortcut(x))


class ResNetSmall(nn.Module):
    """A small ResNet: ``stem``, ``stages`` of :class:`BasicBlock` s, ``head``; see resnet_small."""

    def __init__(
        self,
        stem: nn.Sequential,
        stages: nn.Sequential,
        head: nn.Sequential,
        activation: Activation,
        in_channels: int,
    ) -> None:
        super().__init__()
        self.stem = stem
        self.stages = stages
        self.head = head
        self.activation = activation
        self.in_channels = in_channels

    def forward(self, x: Tensor) -> Tensor:
        """Check the images' channels, then apply ``stem``, ``stages`` and ``head``."""
        _check_images(x, self.in_channels, None)
        return self.head(self.stages(self.stem(x)))


def resnet_small(
    in_channels: int = 1,
    num_classes: int = 10,
    *,
    widths: Sequence[int] = (16, 32, 64),
    blocks_per_stage: int = 1,
    activation: ActivationLike = "relu",
    norm: str | None = "batch",
    **activation_params: float,
) -> ResNetSmall:
    """A ResNet-like CNN (a CPU-sized stand-in for the ResNets of arXiv 2206.08558).

    ``stem = Conv3×3(widths[0]) → [norm] → f``; stage ``s`` holds ``blocks_per_stage``
    :class:`BasicBlock` s of width ``widths[s]``, the first with stride 2 (and a projection
    shortcut) for ``s > 0``; ``head = GlobalAvgPool → Flatten → Linear(widths[-1],
    num_classes)``.  Any image size works; input ``(N, in_channels, H, W)``.

    >>> net = resnet_small(3, 100, widths=(8, 16), blocks_per_stage=2)
    >>> len(net.stages), net.head[-1].in_features
    (4, 16)
    """
    in_channels = check_int(in_channels, "in_channels")
    num_classes = check_int(num_classes, "num_classes")
    sizes = _check_widths(widths, allow_empty=False)
    blocks_per_stage = check_int(blocks_per_stage, "blocks_per_stage")
    make_norm = _norm_factory(norm, _NORMS_2D)
    act = activations.get(activation, **activation_params)
    stem = nn.Sequential(*_conv_norm_act(in_channels, sizes[0], act, make_norm))
    blocks: list[nn.Module] = []
    channels = sizes[0]
    for stage, stage_width in enumerate(sizes):
        for b in range(blocks_per_stage):
            stride = 2 if stage > 0 and b == 0 else 1
            blocks.append(BasicBlock(channels, stage_width, act, make_norm, stride))
            channels = stage_width
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
    return ResNetSmall(stem, nn.Sequential(*blocks), head, act, in_channels)


# --------------------------------------------------------------------------- the papers' CIFAR nets

#: VGG configurations (Simonyan & Zisserman 2015, Table 1): conv widths, ``"M"`` a 2×2 max-pool.
VGG_CONFIGS: dict[str, tuple[int | str, ...]] = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def _vgg(
    name: str,
    num_classes: int,
    in_channels: int,
    width: float,
    activation: ActivationLike,
    norm: str | None,
    activation_params: dict[str, float],
) -> VGGSmall:
    """A VGG of :data:`VGG_CONFIGS` for 32×32 images, with a single ``Linear`` classifier."""
    in_channels = check_int(in_channels, "in_channels")
    num_classes = check_int(num_classes, "num_classes")
    check_positive(width, "width")
    make_norm = _norm_factory(norm, _NORMS_2D)
    act = activations.get(activation, **activation_params)
    layers: list[nn.Module] = []
    channels = in_channels
    for item in VGG_CONFIGS[name]:
        if item == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            out = _scaled(int(item), width)
            layers += _conv_norm_act(channels, out, act, make_norm)
            channels = out
    # 32 → 1 after five poolings: the classifier reads one pixel of each channel
    head = nn.Sequential(nn.Flatten(), nn.Linear(channels, num_classes))
    return VGGSmall(nn.Sequential(*layers), head, act, in_channels, (32, 32))


def vgg11(
    num_classes: int = 10,
    in_channels: int = 3,
    *,
    width: float = 1.0,
    activation: ActivationLike = "relu",
    norm: str | None = "batch",
    **activation_params: float,
) -> VGGSmall:
    """VGG-11 (configuration A of Simonyan & Zisserman 2015) for 32×32 images (CIFAR), as in
    arXiv 2206.08558's Exp 4.

    Eight ``Conv3×3 → [norm] → f`` layers of widths 64, 128, 256², 512⁴ (times ``width``, at
    least 1 channel) with five ``MaxPool2×2`` between them (32 → 1), then
    ``Flatten → Linear(512·width, num_classes)`` — the CIFAR variant's single classifier layer
    instead of ImageNet's three.  With batch norm and ``width=1``: 9,228,362 parameters for 10
    classes (the convolutions carry no bias in front of a norm layer; with one, as in some CIFAR
    code, 2,752 more).  Input ``(N, in_channels, 32, 32)``.

    >>> sum(p.numel() for p in vgg11().parameters())
    9228362
    """
    return _vgg("vgg11", num_classes, in_channels, width, activation, norm, activation_params)


def vgg16(
    num_classes: int = 10,
    in_channels: int = 3,
    *,
    width: float = 1.0,
    activation: ActivationLike = "relu",
    norm: str | None = "batch",
    **activation_params: float,
) -> VGGSmall:
    """VGG-16 (configuration D) for 32×32 images: thirteen conv layers (64², 128², 256³, 512⁶,
    times ``width``), five poolings, ``Linear(512·width, num_classes)``; otherwise as
    :func:`vgg11`.  With batch norm and ``width=1``: 14,724,042 parameters for 10 classes.

    >>> sum(p.numel() for p in vgg16().parameters())
    14724042
    """
    return _vgg("vgg16", num_classes, in_channels, width, activation, norm, activation_params)


def resnet18(
    num_classes: int = 10,
    in_channels: int = 3,
    *,
    width: float = 1.0,
    activation: ActivationLike = "relu",
    norm: str | None = "batch",
    **activation_params: float,
) -> ResNetSmall:
    """ResNet-18 (He et al. 2016), CIFAR variant: a ``Conv3×3(64)`` stem with stride 1 and no
    max-pool, four stages of two :class:`BasicBlock` s of widths 64, 128, 256, 512 (times
    ``width``; stride 2 and a projection shortcut at the start of the last three), global
    average pooling and ``Linear(512·width, num_classes)``.  This is :func:`resnet_small` with
    those widths and ``blocks_per_stage=2``.  With batch norm and ``width=1``: 11,173,962
    parameters for 10 classes.  Any image size works; 32×32 is the one it is made for.

    >>> sum(p.numel() for p in resnet18().parameters())
    11173962
    """
    check_positive(width, "width")
    widths = [_scaled(c, width) for c in (64, 128, 256, 512)]
    return resnet_small(
        in_channels,
        num_classes,
        widths=widths,
        blocks_per_stage=2,
        activation=activation,
        norm=norm,
        **activation_params,
    )


# --------------------------------------------------------------------------- diagnostics


def hidden_layers(model: nn.Module) -> list[ActivationModule]:
    """The model's activation modules, in registration order (= forward order for these models).

    Hook them (``register_forward_hook``) to read each hidden layer's post-activation output,
    e.g. for signal-propagation diagnostics; each exposes ``.activation`` with its properties.
    Only specinit :class:`~specinit.nn.activations.ActivationModule` s are listed (``torch.nn.ReLU``
    and friends are not); a linear model gives ``[]``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return specinit_activations(model)


_DESIGN = re.compile(r"^(\d+)(?:/(\d+))?x(\d+)$")


def mlp_widths(design: str) -> list[int]:
    """Hidden widths of an MLP design named ``"WxD"`` (``D`` layers of width ``W``) or ``"W/BxD"``
    (Dense W, then ``(D − 1)/2`` × (Dense W, Dense B): Tanh-Init's deep narrow net ``"16/4x101"``,
    arXiv 2410.02242).

    >>> mlp_widths("16/4x5")
    [16, 16, 4, 16, 4]
    """
    match = _DESIGN.match(design) if isinstance(design, str) else None
    if match is None:
        raise ValueError(f"design {design!r} must look like '64x50' or '16/4x101'")
    width, bottleneck, depth = (None if g is None else int(g) for g in match.groups())
    assert width is not None and depth is not None
    if width < 1 or depth < 1 or (bottleneck is not None and bottleneck < 1):
        raise ValueError(f"design {design!r} needs positive widths and depth")
    if bottleneck is None:
        return [width] * depth
    if depth % 2 == 0:
        raise ValueError(f"design {design!r}: an alternating design needs an odd depth")
    return [width] + [width, bottleneck] * ((depth - 1) // 2)


class ShallowNTKNet(nn.Module):
    """One hidden layer in the NTK parameterization: ``f(x) = (1/√m) Σ_i v_i σ(u_i(x))``.

    ``u_i(x) = (σ_w/√d) w_i·x + σ_b b_i`` with ``w_i ∈ R^d``; every trainable parameter starts
    i.i.d. ``N(0, 1)`` from ``generator``.  Stored as two bias-free ``nn.Linear`` layers:
    ``hidden`` ``(m, d + 1)`` holds ``[w_i, b_i]`` and acts on ``[(σ_w/√d) x, σ_b]``;
    ``readout`` ``(1, m)`` holds ``v`` and acts on ``σ(u)/√m``.  As ``m → ∞`` its empirical
    NTK converges to :func:`specinit.measure.kernels.shallow_ntk` with the same ``activation``,
    ``sigma_w`` and ``sigma_b`` (Jacot et al. 2018), and training with a fixed learning rate
    stays in the kernel (lazy) regime.  Input ``(n, d)``, output ``(n, 1)``.
    """

    def __init__(
        self,
        in_features: int,
        width: int,
        activation: ActivationLike = "relu",
        *,
        sigma_w: float = 1.0,
        sigma_b: float = 1.0,
        generator: GeneratorLike = 0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        d, m = check_int(in_features, "in_features"), check_int(width, "width")
        check_positive(sigma_w, "sigma_w")
        check_positive(sigma_b, "sigma_b", allow_zero=True)
        self.activation = activations.get(activation)
        self.sigma_w, self.sigma_b = float(sigma_w), float(sigma_b)
        self.in_features, self.width = d, m
        # skip_init: no draw from PyTorch's global RNG; the weights come from ``generator``
        self.hidden = skip_init(nn.Linear, d + 1, m, bias=False, dtype=dtype)
        self.readout = skip_init(nn.Linear, m, 1, bias=False, dtype=dtype)
        g = as_generator(generator)
        with torch.no_grad():
            for layer in (self.hidden, self.readout):
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=g, dtype=torch.float64))

    def forward(self, x: Tensor) -> Tensor:
        """``f(x)`` in the NTK parameterization (see the class docstring)."""
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"input must have shape (N, {self.in_features}), got {tuple(x.shape)}")
        scaled = torch.cat(
            [(self.sigma_w / math.sqrt(self.in_features)) * x, torch.full_like(x[:, :1], self.sigma_b)], dim=1
        )
        return self.readout(self.activation(self.hidden(scaled)) / math.sqrt(self.width))

    def extra_repr(self) -> str:
        """Sizes, activation and the NTK scales."""
        return (
            f"in_features={self.in_features}, width={self.width}, "
            f"activation={self.activation.describe()}, sigma_w={self.sigma_w:g}, "
            f"sigma_b={self.sigma_b:g}"
        )

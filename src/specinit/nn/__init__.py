"""Building blocks: activations with their properties, the one walk over a model's layers, and
small model definitions (no torchvision needed).
"""

from specinit.nn import activations, layers, models, recording, recurrent
from specinit.nn.activations import Activation, ActivationModule, from_module
from specinit.nn.activations import get as get_activation
from specinit.nn.models import (
    CoordinateMLP,
    ResNetSmall,
    ShallowNTKNet,
    VGGSmall,
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

__all__ = [
    "activations",
    "layers",
    "models",
    "recording",
    "recurrent",
    "Activation",
    "ActivationModule",
    "from_module",
    "get_activation",
    "mlp",
    "coordinate_mlp",
    "CoordinateMLP",
    "vgg_small",
    "VGGSmall",
    "resnet_small",
    "ResNetSmall",
    "vgg11",
    "vgg16",
    "resnet18",
    "ShallowNTKNet",
    "hidden_layers",
    "mlp_widths",
]

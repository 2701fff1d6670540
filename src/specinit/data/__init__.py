"""Data: 1D signals, labelled splits and subsets, and the MNIST / Fashion-MNIST / CIFAR / digits
images.

* :mod:`.signals` — sums of sinusoids sampled on uniform grids (arXiv 2206.08558's regressions);
* :mod:`.splits` — :class:`Split`, stratified train/validation splits, class-balanced subsets,
  shuffled labels, scikit-learn's 8x8 digits;
* :mod:`.images` — MNIST and Fashion-MNIST from their original IDX files: a data folder
  (``data_dir=``, ``$SPECINIT_DATA``) or, by default, the class-balanced subset embedded in the
  package (2000 train / 1000 test images per dataset);
* :mod:`.cifar` — CIFAR-10 and CIFAR-100 from the official python batches in the data folder,
  checked against their published MD5 (no subset ships: a data folder is needed);
* :mod:`.transforms` — standardization and PCA projections fitted on a training part.

Every random choice takes ``generator=`` (an int seed, a ``torch.Generator`` or ``None``).
"""

from specinit.data.cifar import (
    CIFAR_DATASETS,
    CIFAR_FILES,
    CIFAR_FOLDERS,
    CIFAR_MD5,
    CIFAR_SIZES,
    check_cifar,
    cifar10,
    cifar100,
    read_cifar_batch,
)
from specinit.data.images import (
    EMBEDDED_SHA256,
    EMBEDDED_SIZES,
    ENV_VAR,
    IDX_FILES,
    SHA256,
    DataFileError,
    DataSource,
    FullDataRequired,
    data_dir,
    data_source,
    fashion_mnist,
    mnist,
    read_idx,
)
from specinit.data.signals import Sinusoids, between_samples, grid_1d, random_sinusoids, sample_1d, sinusoids
from specinit.data.splits import (
    Split,
    balanced_indices,
    balanced_subset,
    digits,
    random_labels,
    train_val_split,
)
from specinit.data.transforms import pca_project, standardize

__all__ = [
    # 1D signals
    "Sinusoids",
    "sinusoids",
    "random_sinusoids",
    "grid_1d",
    "sample_1d",
    "between_samples",
    # labelled data
    "Split",
    "digits",
    "random_labels",
    "balanced_subset",
    "balanced_indices",
    "train_val_split",
    # image files
    "mnist",
    "fashion_mnist",
    "data_dir",
    "data_source",
    "DataSource",
    "FullDataRequired",
    "DataFileError",
    "read_idx",
    "IDX_FILES",
    "SHA256",
    "EMBEDDED_SHA256",
    "EMBEDDED_SIZES",
    "ENV_VAR",
    "cifar10",
    "cifar100",
    "check_cifar",
    "read_cifar_batch",
    "CIFAR_DATASETS",
    "CIFAR_FOLDERS",
    "CIFAR_FILES",
    "CIFAR_MD5",
    "CIFAR_SIZES",
    # transforms
    "standardize",
    "pca_project",
]

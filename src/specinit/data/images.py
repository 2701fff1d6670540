"""MNIST and Fashion-MNIST from their original gzip IDX files, checked against their SHA-256.

Nothing here touches the network: the files must already be on disk.  The data root is the
``data_dir=`` argument (the CLI's ``--data-dir``), else the environment variable
``SPECINIT_DATA``; it holds one subfolder per dataset with the four official file names::

    <root>/mnist/train-images-idx3-ubyte.gz  ...  <root>/fashion-mnist/t10k-labels-idx1-ubyte.gz

Every file is checked against its published SHA-256 once per process.  Subsets are drawn with
``generator=`` (an int seed, a ``torch.Generator`` or ``None`` for PyTorch's global RNG).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from specinit._core.deprecation import renamed_kwargs
from specinit._core.rng import GeneratorLike, as_generator
from specinit.data.splits import Split, balanced_indices

__all__ = [
    "mnist",
    "fashion_mnist",
    "data_dir",
    "read_idx",
    "IDX_FILES",
    "SHA256",
    "ENV_VAR",
]
# --------------------------------------------------------------------------------------------
# MNIST / Fashion-MNIST: finding, verifying and reading the IDX files
# --------------------------------------------------------------------------------------------

#: The four official file names of each dataset, in (train images, train labels, test images,
#: test labels) order.
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

#: Published SHA-256 of every official file, by dataset subfolder and file name.
SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

ENV_VAR = "SPECINIT_DATA"

# IDX element type codes (third byte of the magic number) and their big-endian dtypes.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _resolve_root(explicit: str | Path | None) -> tuple[Path | None, str]:
    """The data root and a description of where it came from (or why there is none)."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser().resolve(), "given explicitly"
    env = os.environ.get(ENV_VAR, "")
    if env:
        return Path(env).expanduser().resolve(), f"from ${ENV_VAR}"
    return None, f"no data folder given (data_dir= / --data-dir) and ${ENV_VAR} is not set"


def _where_to_put(*datasets: str) -> str:
    """The expected files with their SHA-256, and the ways to point specinit at them."""
    tables = "".join(
        f"Expected these files in <data root>/{dataset}/:\n"
        + "".join(f"  {name}  sha256 {digest}\n" for name, digest in SHA256[dataset].items())
        for dataset in datasets
    )
    return (
        f"{tables}"
        "Point specinit at the data root (the folder holding mnist/ and fashion-mnist/) with "
        f"--data-dir (data_dir= in Python) or the environment variable {ENV_VAR}. Nothing is "
        "downloaded."
    )


def data_dir(explicit: str | Path | None = None) -> Path:
    """The data root folder: ``explicit``, else ``$SPECINIT_DATA``.

    The path is returned as given (resolved), even if it does not exist yet; the loaders name
    any missing file.  Raises ``FileNotFoundError`` when neither is given.
    """
    root, origin = _resolve_root(explicit)
    if root is None:
        raise FileNotFoundError(
            f"MNIST/Fashion-MNIST data: {origin}.\n{_where_to_put(*SHA256)}"
        )
    return root


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed when the name ends in ``.gz``).

    Format: bytes 0-1 are zero, byte 2 the element type (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), byte 3 the number of dimensions ``d``, then ``d``
    big-endian uint32 sizes and the data. Raises ``ValueError`` naming the file on a bad magic
    number, unknown type, a truncated or corrupt gzip stream, or a size that does not match.
    Multi-byte types are returned in native byte order.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot decompress ({exc}); the file is corrupt or truncated") from exc
    if len(raw) < 4:
        raise ValueError(f"{path}: only {len(raw)} bytes, too short for an IDX header")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(f"{path}: bad IDX magic number 0x{raw[:4].hex()} (not an IDX file)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header})")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX header says shape {shape} of {dtype.name} ({expected} bytes) but the "
            f"file holds {len(raw) - header} data bytes"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=16)
def _verified_idx(path: Path, expected_sha256: str, _size: int, _mtime_ns: int) -> np.ndarray:
    """Checksum-verified contents of one file; cached per (resolved path, size, mtime)."""
    actual = _sha256(path)
    if actual != expected_sha256:
        raise ValueError(
            f"{path}: checksum mismatch, SHA-256 is {actual} but the official file has "
            f"{expected_sha256}; the file is corrupt or not the official one, replace it"
        )
    try:
        array = read_idx(path)
    except ValueError as exc:
        raise ValueError(f"{exc} (expected SHA-256 {expected_sha256})") from exc
    array.setflags(write=False)
    return array


def _load_file(dataset: str, folder: Path, name: str) -> np.ndarray:
    path = (folder / name).resolve()
    stat = path.stat()
    return _verified_idx(path, SHA256[dataset][name], stat.st_size, stat.st_mtime_ns)


def _check_pair(images: np.ndarray, labels: np.ndarray, where: Path) -> None:
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"{where}: expected uint8 images of shape (N, 28, 28), got {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0] or labels.max() > 9:
        raise ValueError(f"{where}: expected {images.shape[0]} labels in 0..9, got {labels.shape}")


def _part(
    images: np.ndarray, labels: np.ndarray, limit: int | None, flatten: bool, g: torch.Generator | None
) -> tuple[Tensor, Tensor]:
    """Images as float32 in [0, 1] (optionally a balanced subset of ``limit``), labels int64."""
    y = torch.from_numpy(labels.astype(np.int64))
    if limit is not None:
        index = balanced_indices(y, limit, g)
        y = y[index]
        pixels = torch.from_numpy(images[index.numpy()])
    else:
        pixels = torch.from_numpy(images.copy())
    x = pixels.to(torch.float32).div_(255.0).unsqueeze(1)
    return (x.reshape(len(x), -1) if flatten else x), y


def _load_dataset(
    dataset: str,
    explicit_dir: str | Path | None,
    flatten: bool,
    limit_train: int | None,
    limit_test: int | None,
    generator: GeneratorLike,
) -> Split:
    root, origin = _resolve_root(explicit_dir)
    if root is None:
        raise FileNotFoundError(f"{dataset} data: {origin}.\n{_where_to_put(dataset)}")
    folder = root / dataset
    missing = [name for name in IDX_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{dataset} data: searched {folder} (data root {origin}); missing "
            f"{', '.join(missing)}.\n{_where_to_put(dataset)}"
        )
    arrays = [_load_file(dataset, folder, name) for name in IDX_FILES]
    _check_pair(arrays[0], arrays[1], folder)
    _check_pair(arrays[2], arrays[3], folder)
    # Two sub-seeds drawn up front: the test subset depends on (generator, limit_test) only.
    train_seed, test_seed = torch.randint(2**62, (2,), generator=as_generator(generator)).tolist()
    x_train, y_train = _part(arrays[0], arrays[1], limit_train, flatten, as_generator(train_seed))
    x_test, y_test = _part(arrays[2], arrays[3], limit_test, flatten, as_generator(test_seed))
    return Split(x_train, y_train, x_test, y_test, num_classes=10, name=dataset)


@renamed_kwargs(seed="generator")
def mnist(
    *,
    data_dir: str | Path | None = None,
    flatten: bool = False,
    limit_train: int | None = None,
    limit_test: int | None = None,
    generator: GeneratorLike = 0,
) -> Split:
    """MNIST handwritten digits (LeCun et al. 1998): 60,000 train and 10,000 test images.

    Images are float32 in [0, 1] with shape ``(N, 1, 28, 28)``, or ``(N, 784)`` with
    ``flatten=True``; labels are int64 in 0..9. ``limit_train`` / ``limit_test`` keep a
    class-balanced random subset of that size (:func:`balanced_subset`); each part draws from
    its own sub-seed of ``generator``, so the test subset depends on ``(generator, limit_test)`` only.
    The files are found as described in :func:`data_dir` and checked against their SHA-256
    (once per process); nothing is downloaded.
    """
    return _load_dataset("mnist", data_dir, flatten, limit_train, limit_test, generator)


@renamed_kwargs(seed="generator")
def fashion_mnist(
    *,
    data_dir: str | Path | None = None,
    flatten: bool = False,
    limit_train: int | None = None,
    limit_test: int | None = None,
    generator: GeneratorLike = 0,
) -> Split:
    """Fashion-MNIST (Xiao et al., arXiv 1708.07747): 10 clothing classes, same format as MNIST.

    Classes 0..9: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag,
    Ankle boot. Arguments and outputs as in :func:`mnist`.
    """
    return _load_dataset("fashion-mnist", data_dir, flatten, limit_train, limit_test, generator)

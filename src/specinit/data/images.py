"""MNIST and Fashion-MNIST from their original gzip IDX files, checked against their SHA-256.

Nothing here touches the network.  The data root is the ``data_dir=`` argument (the CLI's
``--data-dir``), else the environment variable ``SPECINIT_DATA``, else the **embedded subset**
that ships inside the package (``specinit/data/embedded/``, the way scikit-learn ships its
digits).  A root holds one subfolder per dataset with the four official file names::

    <root>/mnist/train-images-idx3-ubyte.gz  ...  <root>/fashion-mnist/t10k-labels-idx1-ubyte.gz

A data folder must hold the full official files (60,000 train / 10,000 test images each),
checked against their published SHA-256 (:data:`SHA256`).  The embedded subset is a
class-balanced draw from those files — 200 training and 100 test images of each class, 2000 /
1000 per dataset, in the same IDX format, read by the same code and checked against
:data:`EMBEDDED_SHA256`; ``specinit/data/embedded/README.md`` says how it was drawn
(``tools/make_embedded_data.py`` regenerates it) and under which licences it ships.  Each file is
verified once per process.  A request for more images than the subset holds raises
:class:`FullDataRequired`, naming ``--data-dir`` / ``SPECINIT_DATA``.  Subsets are drawn with
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
from dataclasses import dataclass
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
    "data_source",
    "DataSource",
    "FullDataRequired",
    "DataFileError",
    "read_idx",
    "IDX_FILES",
    "SHA256",
    "FULL_SIZES",
    "EMBEDDED_DIR",
    "EMBEDDED_SHA256",
    "EMBEDDED_SIZES",
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

#: (train, test) images of each full official dataset.
FULL_SIZES: dict[str, tuple[int, int]] = {"mnist": (60000, 10000), "fashion-mnist": (60000, 10000)}

#: The folder of the embedded subset inside the installed package.
EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded"

#: SHA-256 of every embedded subset file (written by ``tools/make_embedded_data.py``).
EMBEDDED_SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "630f103a521ff483e46c927e8c2b078e9084b07c2fbca78d1ab668094d5fb8fc",
        "train-labels-idx1-ubyte.gz": "493116fc1d8f2241bc011a6f2cf6eb66d1975c9add9deb55cf0c4364a413a54f",
        "t10k-images-idx3-ubyte.gz": "4bfb9eced64915fb4a31f55ee88a34997d52be27553760cbe2b9e3b3fb968487",
        "t10k-labels-idx1-ubyte.gz": "c32ec120e82896ed94508ee4aa496a94fe2a552b9ce0112c70ad91fe904de638",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "0968f2abecdbfb3193670a2fc2c99da7cfa11722b957906db6732400f2b5731c",
        "train-labels-idx1-ubyte.gz": "ab285da88987bfb22212a7f3406cb46aa17e0824e0eafa3d5099acce2385242b",
        "t10k-images-idx3-ubyte.gz": "871ba0a76d001b075056f135509bf9e991ab7d682acde99b2c95ab02f4af2ff6",
        "t10k-labels-idx1-ubyte.gz": "522d733dd394a59a07a9a889176cef2730472b6651c5f0fac56293df157b4743",
    },
}

#: (train, test) images of each embedded subset: 200 and 100 of each of the 10 classes.
EMBEDDED_SIZES: dict[str, tuple[int, int]] = {"mnist": (2000, 1000), "fashion-mnist": (2000, 1000)}

ENV_VAR = "SPECINIT_DATA"

# IDX element type codes (third byte of the magic number) and their big-endian dtypes.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataFileError(ValueError):
    """A data file that is there but cannot be used: corrupt, truncated, not the official one
    (a checksum mismatch) or not an IDX file.  The message names the file and what to do.
    """


class FullDataRequired(FileNotFoundError):
    """More images were asked for than the embedded subset holds, and no data folder is given.

    A ``FileNotFoundError``: the full files the request needs are not on this machine (the
    command line reports it in one line).
    """


def _folder_name(dataset: str) -> str:
    """The subfolder of ``dataset`` (``fashion_mnist`` and ``fashion-mnist`` both work)."""
    name = dataset.replace("_", "-")
    if name not in SHA256:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(SHA256)}")
    return name


def _embedded_key() -> str:
    """``embedded:`` and 12 hex digits of the SHA-256 over the subset's checksum table."""
    text = ";".join(
        f"{d}/{n}={h}" for d, files in sorted(EMBEDDED_SHA256.items()) for n, h in sorted(files.items())
    )
    return "embedded:" + hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class DataSource:
    """Where the image loaders read: a data folder with the full official files, or the
    embedded subset.

    ``root`` is the folder holding ``mnist/`` and ``fashion-mnist/``; ``origin`` says how it was
    chosen (``"given explicitly"``, ``"from $SPECINIT_DATA"`` or ``"embedded default"``).
    """

    root: Path
    origin: str
    embedded: bool

    @property
    def key(self) -> str:
        """What results are keyed on: the resolved folder, or ``embedded:<hash>`` for the
        subset (the same on every machine, new when the subset's files change).
        """
        return _embedded_key() if self.embedded else str(self.root)

    def sizes(self, dataset: str) -> tuple[int, int]:
        """``(train, test)`` images this source holds of ``dataset``."""
        name = _folder_name(dataset)
        return EMBEDDED_SIZES[name] if self.embedded else FULL_SIZES[name]

    def checksums(self, dataset: str) -> dict[str, str]:
        """The SHA-256 every file of ``dataset`` must have, by file name."""
        name = _folder_name(dataset)
        return EMBEDDED_SHA256[name] if self.embedded else SHA256[name]

    def describe(self, dataset: str | None = None) -> str:
        """``"embedded subset, 2000 train / 1000 test"`` or ``"official files in <folder>"``."""
        if not self.embedded:
            return f"official files in {self.root / _folder_name(dataset) if dataset else self.root}"
        sizes = {self.sizes(d) for d in ([dataset] if dataset else EMBEDDED_SIZES)}
        if len(sizes) > 1:
            return "embedded subsets: " + ", ".join(
                f"{d} {n:d} train / {m:d} test" for d, (n, m) in EMBEDDED_SIZES.items()
            )
        ((n_train, n_test),) = sizes
        return f"embedded subset, {n_train} train / {n_test} test"

    def check_files(self, dataset: str) -> None:
        """Raise ``FileNotFoundError`` naming the expected files (and their SHA-256) unless the
        four IDX files of ``dataset`` are in this source's folder (their contents are checked
        when they are read).
        """
        dataset = _folder_name(dataset)
        folder = self.root / dataset
        missing = [name for name in IDX_FILES if not (folder / name).is_file()]
        if missing and self.embedded:
            raise FileNotFoundError(
                f"{dataset}: the embedded subset is missing from the installed package ({folder}: no "
                f"{', '.join(missing)}); reinstall specinit, or point --data-dir (data_dir= in "
                f"Python) or ${ENV_VAR} at the full data"
            )
        if missing:
            raise FileNotFoundError(
                f"{dataset} data: searched {folder} (data root {self.origin}); missing "
                f"{', '.join(missing)}.\n{_where_to_put(dataset)}"
            )

    def require(self, dataset: str, n_train: int | None, n_test: int | None) -> None:
        """Raise unless this source holds ``n_train`` training and ``n_test`` test images of
        ``dataset`` (``None``: no need).  The embedded subset raises :class:`FullDataRequired`
        in one line naming ``--data-dir`` / ``$SPECINIT_DATA``; a data folder ``ValueError``.
        """
        name = _folder_name(dataset)
        have = self.sizes(name)
        parts = zip(("training", "test"), (n_train, n_test), have, strict=True)
        short = [(part, need, held) for part, need, held in parts if need is not None and need > held]
        if not short:
            return
        full = dict(zip(("training", "test"), FULL_SIZES[name], strict=True))
        wanted = " and ".join(f"{need:,} {part}" for part, need, _ in short) + " images"
        if all(need == full[part] for part, need, _ in short):
            wanted += " (the full split)" if len(short) == 1 else " (the full splits)"
        if not self.embedded:
            raise ValueError(
                f"{name}: {wanted} asked for, but the full dataset has "
                f"{have[0]:,} training / {have[1]:,} test images"
            )
        raise FullDataRequired(
            f"{name}: {wanted} needed, but only the embedded subset is here ({have[0]} train / "
            f"{have[1]} test images); point --data-dir (data_dir= in Python) or ${ENV_VAR} at "
            f"the folder holding the full {name}/ IDX files"
        )


def data_source(explicit: str | Path | None = None) -> DataSource:
    """Where the loaders read: ``explicit`` (``data_dir=`` / ``--data-dir``), else
    ``$SPECINIT_DATA`` (an empty value counts as unset), else the embedded subset.

    A folder is returned resolved, even if it does not exist yet (the loaders name any missing
    file); the package's own ``embedded`` folder given explicitly is the embedded subset.
    """
    if explicit is not None and str(explicit) != "":
        root, origin = Path(explicit).expanduser().resolve(), "given explicitly"
    elif os.environ.get(ENV_VAR, ""):
        root, origin = Path(os.environ[ENV_VAR]).expanduser().resolve(), f"from ${ENV_VAR}"
    else:
        return DataSource(EMBEDDED_DIR, "embedded default", True)
    return DataSource(root, origin, root == EMBEDDED_DIR)


def data_dir(explicit: str | Path | None = None) -> Path:
    """The data root folder: ``explicit``, else ``$SPECINIT_DATA``, else :data:`EMBEDDED_DIR`
    (see :func:`data_source`, which also says which of them it is).
    """
    return data_source(explicit).root


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
        f"--data-dir (data_dir= in Python) or the environment variable {ENV_VAR}, or give neither "
        "for the embedded subset. Nothing is downloaded."
    )


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
        raise DataFileError(f"{path}: cannot decompress ({exc}); the file is corrupt or truncated") from exc
    if len(raw) < 4:
        raise DataFileError(f"{path}: only {len(raw)} bytes, too short for an IDX header")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise DataFileError(f"{path}: bad IDX magic number 0x{raw[:4].hex()} (not an IDX file)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFileError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header})")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataFileError(
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
def _verified_idx(path: Path, expected_sha256: str, embedded: bool, _size: int, _mtime_ns: int) -> np.ndarray:
    """Checksum-verified contents of one file; cached per (resolved path, size, mtime)."""
    actual = _sha256(path)
    if actual != expected_sha256:
        fix = (
            "the installed package is damaged, reinstall specinit"
            if embedded
            else "the file is corrupt or not the official one, replace it"
        )
        raise DataFileError(
            f"{path}: checksum mismatch, SHA-256 is {actual} but the "
            f"{'embedded subset file' if embedded else 'official file'} has {expected_sha256}; {fix}"
        )
    try:
        array = read_idx(path)
    except DataFileError as exc:
        raise DataFileError(f"{exc} (expected SHA-256 {expected_sha256})") from exc
    array.setflags(write=False)
    return array


def _load_file(source: DataSource, dataset: str, name: str) -> np.ndarray:
    path = (source.root / dataset / name).resolve()
    stat = path.stat()
    return _verified_idx(
        path, source.checksums(dataset)[name], source.embedded, stat.st_size, stat.st_mtime_ns
    )


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
    source = data_source(explicit_dir)
    if source.embedded:  # more than the subset holds: refused before any file is read
        source.require(dataset, limit_train, limit_test)
    source.check_files(dataset)
    folder = source.root / dataset
    arrays = [_load_file(source, dataset, name) for name in IDX_FILES]
    _check_pair(arrays[0], arrays[1], folder)
    _check_pair(arrays[2], arrays[3], folder)
    # Two sub-seeds drawn up front: the test subset depends on (generator, limit_test) only.
    train_seed, test_seed = torch.randint(2**62, (2,), generator=as_generator(generator)).tolist()
    x_train, y_train = _part(arrays[0], arrays[1], limit_train, flatten, as_generator(train_seed))
    x_test, y_test = _part(arrays[2], arrays[3], limit_test, flatten, as_generator(test_seed))
    return Split(
        x_train, y_train, x_test, y_test, num_classes=10, name=dataset, source=source.describe(dataset)
    )


@renamed_kwargs(seed="generator")
def mnist(
    *,
    data_dir: str | Path | None = None,
    flatten: bool = False,
    limit_train: int | None = None,
    limit_test: int | None = None,
    generator: GeneratorLike = 0,
) -> Split:
    """MNIST handwritten digits (LeCun et al. 1998): 60,000 train and 10,000 test images, or
    with no data folder the embedded subset (2000 / 1000, 200 / 100 of each digit).

    Images are float32 in [0, 1] with shape ``(N, 1, 28, 28)``, or ``(N, 784)`` with
    ``flatten=True``; labels are int64 in 0..9. ``limit_train`` / ``limit_test`` keep a
    class-balanced random subset of that size (:func:`balanced_subset`); each part draws from
    its own sub-seed of ``generator``, so the test subset depends on ``(generator, limit_test)`` only.
    The files are found as described in :func:`data_source` and checked against their SHA-256
    (once per process); nothing is downloaded.  ``split.source`` says which data was read
    (``"embedded subset, 2000 train / 1000 test"`` or ``"official files in <folder>"``); a
    limit above the embedded subset's size raises :class:`FullDataRequired`.
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
    Ankle boot. Arguments, outputs and the embedded default as in :func:`mnist`.
    """
    return _load_dataset("fashion-mnist", data_dir, flatten, limit_train, limit_test, generator)

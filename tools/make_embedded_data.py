#!/usr/bin/env python3
"""Regenerate (or check) the MNIST / Fashion-MNIST subsets that ship with specinit.

The subsets live in ``src/specinit/data/embedded/<dataset>/`` under the four official file names
(gzip-compressed IDX, the official format), and are what :func:`specinit.data.mnist` and
:func:`specinit.data.fashion_mnist` read when no data folder is given.  They are drawn from the
official files, checked against their published SHA-256 first:

* class-balanced: ``TRAIN_PER_CLASS`` training and ``TEST_PER_CLASS`` test images of each of the
  10 classes (2000 train / 1000 test per dataset);
* seeded, without a random-number library: of each class, the images whose
  ``SHA-256(f"{SEED}/{dataset}/{part}/{index}")`` (``index`` = position in the official file,
  ``part`` = ``train`` or ``t10k``) is smallest — the same choice with any NumPy or PyTorch;
* in the official order: the chosen images keep their relative order in the official file.

The IDX bytes are fully determined by the official files.  The gzip stream is written with
level 9, no file name and time stamp 0, so it is reproducible with the same zlib; a different
zlib build may compress the same bytes differently, which is why ``--check`` compares the
*decompressed* content of the committed files with a fresh draw (and reports the SHA-256 of
the committed ``.gz`` files against the table in ``specinit/data/images.py``).

Usage (from the repository root; the folder holds ``mnist/`` and ``fashion-mnist/``)::

    python tools/make_embedded_data.py --source /path/to/data           # write the files
    python tools/make_embedded_data.py --source /path/to/data --check   # verify, write nothing

After writing, paste the printed ``EMBEDDED_SHA256`` table into ``specinit/data/images.py`` and
the printed Markdown table into ``src/specinit/data/embedded/README.md``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import struct
import sys
from pathlib import Path

import numpy as np

from specinit.data.images import IDX_FILES, SHA256, read_idx

SEED = 0
TRAIN_PER_CLASS = 200
TEST_PER_CLASS = 100
DATASETS = ("mnist", "fashion-mnist")
OUT = Path(__file__).resolve().parents[1] / "src" / "specinit" / "data" / "embedded"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def chosen_indices(labels: np.ndarray, per_class: int, dataset: str, part: str) -> np.ndarray:
    """Sorted indices: the ``per_class`` images of each class with the smallest seeded hash."""

    def key(index: int) -> bytes:
        return hashlib.sha256(f"{SEED}/{dataset}/{part}/{index}".encode()).digest()

    picked: list[int] = []
    for cls in range(10):
        members = np.flatnonzero(labels == cls).tolist()
        if len(members) < per_class:
            raise ValueError(f"{dataset} {part}: class {cls} has {len(members)} images, need {per_class}")
        picked += sorted(members, key=key)[:per_class]
    return np.array(sorted(picked), dtype=np.int64)


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file: magic ``0x0000 08 <ndim>``, big-endian uint32 sizes, data."""
    if array.dtype != np.uint8:
        raise TypeError(f"expected uint8, got {array.dtype}")
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def draw(source: Path, dataset: str) -> dict[str, bytes]:
    """The uncompressed IDX bytes of the four subset files of ``dataset``, by official name."""
    folder = source / dataset
    arrays = {}
    for name in IDX_FILES:
        path = folder / name
        if not path.is_file():
            sys.exit(f"missing {path}; --source must hold {dataset}/ with the official files")
        digest = sha256_file(path)
        if digest != SHA256[dataset][name]:
            sys.exit(f"{path}: SHA-256 {digest} is not the official {SHA256[dataset][name]}")
        arrays[name] = read_idx(path)
    out = {}
    for part, per_class in (("train", TRAIN_PER_CLASS), ("t10k", TEST_PER_CLASS)):
        images, labels = (arrays[n] for n in IDX_FILES if n.startswith(part))
        keep = chosen_indices(labels, per_class, dataset, part)
        out[f"{part}-images-idx3-ubyte.gz"] = idx_bytes(images[keep])
        out[f"{part}-labels-idx1-ubyte.gz"] = idx_bytes(labels[keep])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source",
        type=Path,
        required=True,
        help="folder holding mnist/ and fashion-mnist/ with the official files",
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    parser.add_argument(
        "--check", action="store_true", help="compare the files in --out with a fresh draw; write nothing"
    )
    args = parser.parse_args()
    table: dict[str, dict[str, str]] = {}
    rows, failures = [], []
    for dataset in DATASETS:
        table[dataset] = {}
        for name, raw in draw(args.source, dataset).items():
            path = args.out / dataset / name
            if args.check:
                if not path.is_file():
                    failures.append(f"{path}: missing")
                    continue
                if gzip.decompress(path.read_bytes()) != raw:
                    failures.append(f"{path}: content differs from a fresh draw")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
            digest = sha256_file(path)
            table[dataset][name] = digest
            count = struct.unpack(">I", raw[4:8])[0]
            rows.append(f"| {dataset}/{name} | {count:,} | {path.stat().st_size:,} | {digest} |")
    print("EMBEDDED_SHA256 = {")
    for dataset, digests in table.items():
        print(f'    "{dataset}": {{')
        for name, digest in digests.items():
            print(f'        "{name}": "{digest}",')
        print("    },")
    print("}\n")
    print("| file | items | bytes | SHA-256 |\n| --- | ---: | ---: | --- |")
    print("\n".join(rows))
    if args.check:
        from specinit.data.images import EMBEDDED_SHA256

        failures += [
            f"{dataset}/{name}: SHA-256 {digest} is not the {EMBEDDED_SHA256[dataset][name]} "
            "recorded in specinit/data/images.py (a different zlib? the content check above "
            "is the one that matters)"
            for dataset, digests in table.items()
            for name, digest in digests.items()
            if EMBEDDED_SHA256[dataset][name] != digest
        ]
        print("\n".join(failures) if failures else "\nOK: the committed subsets match a fresh draw.")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

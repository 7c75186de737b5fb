"""CIFAR-10 as uint8 arrays: where they come from, their cache, their fingerprint and the
class-balanced subsets a run takes from them. No torch: a sweep checks its data, and a run id
is worked out, before torch loads (training/tensors.py puts the arrays on the device).

Sources: `torchvision` (the official pickled batches, optionally downloaded), `folder`
(an ImageFolder tree such as the JPEG re-encoded copy in ../shared/data/cifar10-jpeg) and
`synthetic` (a deterministic, learnable stand-in made in memory, for tests and smoke runs).
Decoded arrays are cached as .npz, keyed by a sha256 of the source files' bytes. The sha256
fingerprint of the decoded arrays is part of every run's identity, and is checked again each
time the cache is read: a damaged cache is set aside and rebuilt, never trusted.
"""
from __future__ import annotations

import hashlib
import logging
import urllib.error
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..files import set_aside, write_atomic

log = logging.getLogger("rectifiers")
LOCAL_COPY = 'make reproduce DATA="data.source=folder data.root=../shared/data/cifar10-jpeg"'
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SOURCES = ("torchvision", "folder", "synthetic")
DESCRIPTIONS = {
    "torchvision": "CIFAR-10, official release (torchvision)",
    "folder": "CIFAR-10 from the ImageFolder copy at {root}, not the official release: "
              "JPEG re-encoded (quality 75), so pixels differ slightly",
    "synthetic": "synthetic stand-in for CIFAR-10 (made in memory)",
}


def source_of(description: str) -> str | None:
    """Which source a data description (summary.json, study.json) was written for."""
    return next((s for s, text in DESCRIPTIONS.items() if description.startswith(text.split("{")[0])), None)


class DataError(RuntimeError):
    """The dataset is missing, incomplete or corrupt; the message says how to fix it."""


def fingerprint(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# --- sources -> uint8 arrays (N, 32, 32, 3) and labels ------------------------------

def _torchvision_arrays(root: Path, download: bool):
    import torchvision
    try:
        splits = [torchvision.datasets.CIFAR10(str(root), train=t, download=download) for t in (True, False)]
    except RuntimeError as e:
        raise DataError(
            f"CIFAR-10 not found under {root} ({e}). Fix: add data.download=true to fetch the "
            f"official release, or use a local copy with data.source=folder data.root=PATH") from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as e:  # what a download raises without a network
        raise DataError(
            f"cannot download CIFAR-10 ({getattr(e, 'reason', e)}): no network? Use a local copy "
            f"instead: {LOCAL_COPY} (one run: python scripts/train.py data.source=folder data.root=PATH)") from None
    return [(s.data, np.asarray(s.targets, dtype=np.int64)) for s in splits]


def _check_folder(root: Path) -> None:
    for split in ("train", "test"):
        d = root / split
        if not d.is_dir():
            raise DataError(f"data.root={root} has no '{split}/' folder. Fix: point data.root at a "
                            "CIFAR-10 ImageFolder tree with train/ and test/, each holding 10 class folders")
        found = sorted(p.name for p in d.iterdir() if p.is_dir())
        if found != sorted(CLASSES):
            raise DataError(f"{d} must hold the 10 CIFAR-10 class folders {', '.join(CLASSES)}; "
                            f"found {len(found)}: {', '.join(found) or 'none'}")


def _source_files(cfg) -> list[Path]:
    """The files a source's arrays are decoded from, in a fixed order."""
    root = Path(cfg.root).expanduser()
    if cfg.source == "folder":
        return sorted(p for split in ("train", "test") for p in (root / split).rglob("*") if p.is_file())
    batches = root / "cifar-10-batches-py"
    return [batches / f for f in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")]


_digests: dict = {}  # (source, root) -> (the files' paths, sizes and mtimes, their digest)


def source_digest(cfg) -> str:
    """sha256 of the source files' names and bytes: the cache key. Unlike a listing of sizes,
    it changes when any image changes. Reading the 60,000 JPEGs takes seconds, so a process
    reads them again only when a file's size or modification time has changed."""
    root = Path(cfg.root).expanduser()
    files = _source_files(cfg)
    stats = tuple((str(p), st.st_size, st.st_mtime_ns) for p in files for st in (p.stat(),))
    known = _digests.get((cfg.source, str(root)))
    if known and known[0] == stats:
        return known[1]
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(root)).encode() + b"\0")
        h.update(p.read_bytes())
    _digests[(cfg.source, str(root))] = (stats, h.hexdigest())
    return h.hexdigest()


def _folder_arrays(root: Path):
    from PIL import Image
    from torchvision.datasets import ImageFolder
    out = []
    for split in ("train", "test"):
        try:
            samples = ImageFolder(str(root / split)).samples  # sorted class folders -> labels 0..9
        except FileNotFoundError as e:
            raise DataError(f"{root / split}: {e}. Fix: every class folder needs its images") from None
        x = np.empty((len(samples), 32, 32, 3), np.uint8)
        log.info("decoding %d %s images under %s (once: then cached)", len(samples), split, root)
        for i, (path, _) in enumerate(samples):
            if i and i % 10_000 == 0:
                log.info("  %s: %d/%d", split, i, len(samples))
            try:
                with Image.open(path) as im:
                    x[i] = np.asarray(im.convert("RGB"))
            except Exception as e:  # PIL raises several types for broken files
                raise DataError(f"cannot decode image {path}: {e}. Fix: replace or delete the file") from None
        out.append((x, np.array([c for _, c in samples], np.int64)))
    return out


@lru_cache(maxsize=2)  # the same arrays for every run of a process (tests, the benchmark)
def _synthetic_arrays(n_train: int, n_test: int, seed: int = 1234):
    """Ten fixed smooth colour templates plus per-image noise and shifts: learnable, and
    hard enough that a network must train for a few epochs to separate the classes."""
    g = np.random.default_rng(seed)
    coarse = g.normal(0, 1, (10, 3, 4, 4))
    templates = coarse.repeat(8, axis=2).repeat(8, axis=3)  # (10, 3, 32, 32)

    def make(n):
        y = np.arange(n) % 10
        img = templates[y] + g.normal(0, 1.0, (n, 3, 32, 32))
        shift = g.integers(-3, 4, (n, 2))  # per image, np.roll by (dy, dx), done for all at once
        rows = (np.arange(32) - shift[:, :1]) % 32                    # (n, 32)
        cols = (np.arange(32) - shift[:, 1:]) % 32                    # (n, 32)
        img = img[np.arange(n)[:, None, None, None], np.arange(3)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]
        x = np.clip(128 + 40 * img, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(x), y.astype(np.int64)
    return [make(n_train), make(n_test)]


def _check_source(cfg) -> Path:
    if cfg.source not in SOURCES:
        raise DataError(f"unknown data.source {cfg.source!r}; use one of {', '.join(SOURCES)}")
    root = Path(cfg.root).expanduser()
    if cfg.source == "folder":
        if not root.is_dir():
            raise DataError(f"data.root={root} does not exist. Fix: set data.root to a CIFAR-10 ImageFolder "
                            "tree (e.g. ../shared/data/cifar10-jpeg) or use data.source=torchvision")
        _check_folder(root)
    elif not all(p.is_file() for p in _source_files(cfg)):
        _torchvision_arrays(root, cfg.download)  # fetches the release, or says how to get it
    return root


def _cache_path(cfg) -> Path:
    return Path(cfg.cache_dir).expanduser() / f"cifar10-{cfg.source}-{source_digest(cfg)[:16]}.npz"


def read_cache(path: Path):
    """(arrays, fingerprint) from a cache file, or None if there is none. One that cannot be
    read, or whose arrays do not match their fingerprint, is set aside to be rebuilt."""
    try:
        with np.load(path) as z:
            arrays = [(z["train_x"], z["train_y"]), (z["test_x"], z["test_y"])]
            fp = str(z["fingerprint"])
    except FileNotFoundError:
        return None
    except Exception as e:  # zipfile, zlib and numpy raise several types for a damaged file
        set_aside(path, e)
        return None
    if fingerprint(*arrays[0], *arrays[1]) != fp:
        set_aside(path, "its arrays do not match the fingerprint stored with them")
        return None
    return arrays, fp


def load_arrays(cfg):
    """(train, test) arrays of the configured source, the sha256 fingerprint of the decoded
    arrays, and a description. Decoded once, then cached under the source's content digest."""
    if cfg.source == "synthetic":
        arrays = _synthetic_arrays(cfg.synthetic_train, cfg.synthetic_test)
        return arrays, fingerprint(*arrays[0], *arrays[1]), DESCRIPTIONS["synthetic"]
    root = _check_source(cfg)
    cache = _cache_path(cfg)
    cached = read_cache(cache)
    if cached:
        arrays, fp = cached
    else:
        arrays = _folder_arrays(root) if cfg.source == "folder" else _torchvision_arrays(root, cfg.download)
        fp = fingerprint(*arrays[0], *arrays[1])
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cache, write=lambda tmp: np.savez(
            tmp, train_x=arrays[0][0], train_y=arrays[0][1], test_x=arrays[1][0], test_y=arrays[1][1],
            fingerprint=np.array(fp)))
    return arrays, fp, DESCRIPTIONS[cfg.source].format(root=root)


def check(cfg) -> str:
    """The data check a sweep does once, before any job starts: the source is there (or is
    downloaded), decoded and cached, and the cache is sound. Returns the fingerprint."""
    return load_arrays(cfg)[1]


def content_fingerprint(cfg) -> str:
    """The fingerprint of the decoded arrays a run would train on: part of its identity, so the
    same data reached by another path gives the same run id, and other data another one."""
    if cfg.source != "synthetic":
        _check_source(cfg)
        cache = _cache_path(cfg)
        try:
            with np.load(cache) as z:
                return str(z["fingerprint"])  # reads only that member; load_arrays checks the rest
        except FileNotFoundError:
            pass
        except Exception as e:  # a damaged cache: rebuilt below
            set_aside(cache, e)
    return load_arrays(cfg)[1]


def sizes(cfg) -> tuple[int, int]:
    """(training images per epoch, test images) of a run: synthetic data has its own sizes."""
    synthetic = cfg.data.source == "synthetic"
    full = (cfg.data.synthetic_train, cfg.data.synthetic_test) if synthetic else (50_000, 10_000)
    return cfg.data.get("train_size") or full[0], full[1]


def _class_orders(y: np.ndarray, seed: int) -> list[np.ndarray]:
    """Each class's image indices in an order fixed by `seed` alone (not the run's seed)."""
    g = np.random.default_rng(seed)
    return [g.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]


def _per_class(y: np.ndarray, n: int, what: str) -> int:
    k = len(np.unique(y))
    if n % k:
        raise DataError(f"{what} size {n} must be a multiple of {k} to be class-balanced")
    return n // k


def balanced_subset(y: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Indices of n images, n/10 per class: the first n/10 of each class's order. Subsets of one
    seed are nested (the 5,000 images lie within the 10,000)."""
    if n is None or n >= len(y):
        return np.arange(len(y))
    k = _per_class(y, n, "subset")
    return np.sort(np.concatenate([order[:k] for order in _class_orders(y, seed)]))


def validation_subset(y: np.ndarray, n: int, train_size: int | None, seed: int) -> np.ndarray:
    """Indices of n held-out images, n/10 per class: the last n/10 of each class's order, so
    disjoint from every training subset of the same seed that leaves room for them."""
    k = _per_class(y, n, "validation")
    orders = _class_orders(y, seed)
    room = min(len(o) for o in orders) - k  # the most training images per class beside them
    if train_size is None or train_size // len(orders) > room:
        raise DataError(f"data.val_size={n} leaves {room * len(orders)} training images, fewer than "
                        f"data.train_size={train_size or len(y)}: lower one of them (the validation "
                        "images are never trained on)")
    return np.sort(np.concatenate([o[len(o) - k:] for o in orders]))

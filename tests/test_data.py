"""Data sources (torchvision batches, ImageFolder, synthetic), subsets, augmentation, bad input."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from conftest import files_under
from rectifiers.experiment import data
from rectifiers.experiment.config import ConfigError, identity, run_id
from rectifiers.experiment.data import CLASSES, DataError, balanced_subset, validation_subset
from rectifiers.training import tensors
from rectifiers.training.tensors import augment
from rectifiers.training.train import train

CPU = torch.device("cpu")


# --- torchvision: the official pickled batches --------------------------------------

def write_fake_cifar(root, n_train_per_batch=3, n_test=4, seed=0):
    """A tiny CIFAR-10 in the official python format: cifar-10-batches-py/{data_batch_1..5,
    test_batch, batches.meta}, each a pickled dict with "data" uint8 (n, 3072) and "labels".
    (The real files are Python 2 pickles whose keys torchvision reads back as str.)"""
    g = np.random.default_rng(seed)
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    batches = {}
    for name, n in [*((f"data_batch_{i}", n_train_per_batch) for i in range(1, 6)), ("test_batch", n_test)]:
        batch = {"data": g.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "labels": [int(v) for v in g.integers(0, 10, n)], "batch_label": name}
        (d / name).write_bytes(pickle.dumps(batch, protocol=2))
        batches[name] = batch
    (d / "batches.meta").write_bytes(pickle.dumps({"label_names": list(CLASSES)}, protocol=2))
    return batches


@pytest.fixture
def trust_fake_cifar(monkeypatch):
    """torchvision checks md5 sums of the official files; accept the fake ones."""
    import torchvision
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    # batches.meta is checked by the module-level function, not the method
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)


def test_torchvision_source(tmp_path, compose, trust_fake_cifar, monkeypatch):
    batches = write_fake_cifar(tmp_path / "cifar")
    cache = tmp_path / "cache"
    cfg = compose(["profile=smoke", "data=cifar10", f"data.root={tmp_path / 'cifar'}",
                   f"data.cache_dir={cache}", "data.download=false", "data.train_size=null",
                   "data.eval_size=null"])
    assert cfg.data.source == "torchvision" and cfg.data.train_size is None
    ds = tensors.load(cfg.data, 5, CPU)

    want_train = np.concatenate([batches[f"data_batch_{i}"]["data"] for i in range(1, 6)])
    want_train_y = sum((batches[f"data_batch_{i}"]["labels"] for i in range(1, 6)), [])
    assert ds.train.x.shape == (15, 3, 32, 32) and ds.train.x.dtype == torch.uint8
    assert ds.test.x.shape == (4, 3, 32, 32) and ds.test.x.dtype == torch.uint8
    assert ds.train.y.dtype == torch.int64
    # channel-major rows of 3072 bytes -> (3, 32, 32) images, unchanged
    assert torch.equal(ds.train.x, torch.from_numpy(want_train.reshape(-1, 3, 32, 32)))
    assert ds.train.y.tolist() == want_train_y
    assert ds.test.y.tolist() == batches["test_batch"]["labels"]
    assert ds.description.startswith("CIFAR-10, official release")
    assert len(ds.eval_idx) == 4 and len(ds.probe_idx) == 5

    cached = list(cache.glob("*.npz"))
    assert len(cached) == 1 and cached[0].name.startswith("cifar10-torchvision-")
    z = np.load(cached[0])
    assert ds.fingerprint == data.fingerprint(z["train_x"], z["train_y"], z["test_x"], z["test_y"])
    assert len(ds.fingerprint) == 64

    # a second load reads the cache, found by the batches' content, and gives the same data
    monkeypatch.setattr(data, "_torchvision_arrays", lambda *a: pytest.fail("decoded again"))
    again = tensors.load(cfg.data, 5, CPU)
    assert again.fingerprint == ds.fingerprint
    assert torch.equal(again.train.x, ds.train.x) and torch.equal(again.test.y, ds.test.y)


def test_torchvision_absent_without_download(tmp_path, compose):
    cfg = compose(["profile=smoke", "data=cifar10", f"data.root={tmp_path / 'nothing'}",
                   f"data.cache_dir={tmp_path / 'cache'}", "data.download=false"])
    with pytest.raises(DataError, match="data.download=true"):
        tensors.load(cfg.data, 4, CPU)
    assert files_under(tmp_path) == []


# --- folder: an ImageFolder tree of JPEGs --------------------------------------------

def colour(split: int, cls: int, i: int) -> tuple[int, int, int]:
    return (20 * cls + 10, 40 + 100 * split + 50 * i, 200 - 15 * cls)


def write_image_folder(root, per_class=2, classes=CLASSES):
    from PIL import Image
    for s, split in enumerate(("train", "test")):
        for c, name in enumerate(classes):
            d = root / split / name
            d.mkdir(parents=True)
            for i in range(per_class):
                Image.new("RGB", (32, 32), colour(s, c, i)).save(d / f"{i:04d}.jpg", quality=95)
    return root


def folder_cfg(compose, root, cache, *extra):
    return compose(["profile=smoke", "data=cifar10", "data.source=folder", f"data.root={root}",
                    f"data.cache_dir={cache}", "data.train_size=null", "data.eval_size=null", *extra])


def test_folder_source(tmp_path, compose):
    root = write_image_folder(tmp_path / "tree")
    cache = tmp_path / "cache"
    ds = tensors.load(folder_cfg(compose, root, cache).data, 4, CPU)
    assert ds.train.x.shape == (20, 3, 32, 32) and ds.train.x.dtype == torch.uint8
    assert ds.test.x.shape == (20, 3, 32, 32)
    # labels follow the sorted class folder names (CLASSES is in that order)
    assert list(CLASSES) == sorted(CLASSES)
    assert ds.train.y.tolist() == [c for c in range(10) for _ in range(2)]
    assert ds.test.y.tolist() == ds.train.y.tolist()
    for split_i, split in enumerate((ds.train, ds.test)):
        for k in range(20):
            c, i = divmod(k, 2)
            mean_rgb = split.x[k].float().mean(dim=(1, 2))
            assert torch.allclose(mean_rgb, torch.tensor(colour(split_i, c, i), dtype=torch.float), atol=3), k
    assert "ImageFolder" in ds.description and str(root) in ds.description
    (npz,) = cache.glob("cifar10-folder-*.npz")

    # same tree -> same cache file and fingerprint; a changed tree -> a new cache key
    again = tensors.load(folder_cfg(compose, root, cache).data, 4, CPU)
    assert again.fingerprint == ds.fingerprint
    from PIL import Image
    Image.new("RGB", (32, 32), (1, 2, 3)).save(root / "train" / "cat" / "extra.jpg")
    changed = tensors.load(folder_cfg(compose, root, cache).data, 4, CPU)
    assert len(changed.train.y) == 21 and changed.fingerprint != ds.fingerprint
    assert len(list(cache.glob("cifar10-folder-*.npz"))) == 2


# --- subsets ------------------------------------------------------------------------

def test_balanced_subset_is_balanced_and_seed_fixed():
    y = np.repeat(np.arange(10), 30)
    np.random.default_rng(1).shuffle(y)
    idx = balanced_subset(y, 50, seed=0)
    assert len(idx) == 50 and len(set(idx.tolist())) == 50
    assert np.bincount(y[idx], minlength=10).tolist() == [5] * 10
    assert np.all(np.diff(idx) > 0)  # sorted
    # independent of any global (run) seed: only `seed` matters
    for s in (0, 1, 123):
        torch.manual_seed(s)
        np.random.seed(s)
        assert np.array_equal(balanced_subset(y, 50, seed=0), idx)
    assert not np.array_equal(balanced_subset(y, 50, seed=1), idx)
    assert np.array_equal(balanced_subset(y, None, seed=0), np.arange(300))
    assert np.array_equal(balanced_subset(y, 1000, seed=0), np.arange(300))
    with pytest.raises(DataError, match="multiple of 10"):
        balanced_subset(y, 55, seed=0)


def test_the_committed_subsets_are_unchanged():
    """The subsets are not in a run id: they must stay the ones the committed runs trained on,
    which this reference (the code that drew them) gives."""
    y = np.repeat(np.arange(10), 5000)
    np.random.default_rng(7).shuffle(y)
    for n in (5000, 10000):
        g = np.random.default_rng(0)
        then = np.sort(np.concatenate([g.permutation(np.flatnonzero(y == c))[: n // 10] for c in range(10)]))
        assert np.array_equal(balanced_subset(y, n, seed=0), then)


def test_the_validation_images_are_balanced_and_never_trained_on():
    """CIFAR-10's shape: 5,000 images per class. The tuned study's 5,000 validation images are
    disjoint from the study's 5,000 and 10,000 training subsets (which are nested)."""
    y = np.repeat(np.arange(10), 5000)
    np.random.default_rng(3).shuffle(y)
    val = validation_subset(y, 5000, train_size=5000, seed=0)
    assert len(set(val.tolist())) == 5000 and np.bincount(y[val]).tolist() == [500] * 10
    small, large = balanced_subset(y, 5000, seed=0), balanced_subset(y, 10000, seed=0)
    assert set(small) <= set(large)
    assert not set(val) & set(large)
    assert np.array_equal(validation_subset(y, 5000, train_size=45000, seed=0), val)  # room for 45,000
    assert not set(val) & set(balanced_subset(y, 45000, seed=0))
    with pytest.raises(DataError, match="val_size=5000 leaves 45000 training images, fewer than data.train_size=50000"):
        validation_subset(y, 5000, train_size=None, seed=0)
    with pytest.raises(DataError, match="val_size=5000 leaves 45000"):
        validation_subset(y, 5000, train_size=45010, seed=0)
    with pytest.raises(DataError, match="validation size 55 must be a multiple of 10"):
        validation_subset(y, 55, train_size=5000, seed=0)


def test_a_run_with_validation_images_scores_them_and_says_so_in_its_id(tiny_cfg):
    sizes = ("optim.epochs=1", "data.synthetic_train=400", "data.train_size=200")
    plain, held = tiny_cfg(*sizes), tiny_cfg(*sizes, "data.val_size=200")
    assert "val_size" not in identity(plain)["data"]  # so every id from before stays valid
    assert identity(held)["data"]["val_size"] == 200 and run_id(held) != run_id(plain)
    ds = tensors.load(held.data, 16, CPU)
    assert len(ds.val.y) == 200 and tensors.load(plain.data, 16, CPU).val is None
    summary = train(held)
    assert 0 <= summary["final_val_acc"] <= 1 and summary["final_val_loss"] > 0
    assert "final_val_acc" not in train(plain)


def test_subsets_do_not_depend_on_the_run_seed(compose):
    loaded = []
    for seed in (0, 5):
        cfg = compose(["profile=smoke", "data.synthetic_train=200", "data.synthetic_test=100",
                       "data.train_size=100", "data.eval_size=50", f"seed={seed}"])
        torch.manual_seed(seed)
        loaded.append(tensors.load(cfg.data, 16, CPU))
    a, b = loaded
    assert len(a.train.y) == 100 and torch.bincount(a.train.y).tolist() == [10] * 10
    assert torch.bincount(a.test.y[a.eval_idx]).tolist() == [5] * 10
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.eval_idx, b.eval_idx)
    assert torch.equal(a.probe_idx, b.probe_idx) and a.fingerprint == b.fingerprint


def test_synthetic_is_deterministic_and_shaped(compose):
    cfg = compose(["profile=smoke", "data.synthetic_train=50", "data.synthetic_test=20"])
    a, b = tensors.load(cfg.data, 8, CPU), tensors.load(cfg.data, 8, CPU)
    assert a.train.x.shape == (50, 3, 32, 32) and a.train.x.dtype == torch.uint8
    assert a.test.x.shape == (20, 3, 32, 32)
    assert torch.equal(a.train.x, b.train.x) and a.fingerprint == b.fingerprint
    assert a.description.startswith("synthetic")
    x = tensors.normalise(a.train.x, a.mean, a.std)
    assert x.dtype == torch.float32
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(x.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-4)


# --- augmentation -------------------------------------------------------------------

def random_images(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)  # no zeros


def crops_of(img, pad):
    """Every (dy, dx, flip) crop of the zero-padded image."""
    h, w = img.shape[1:]
    padded = torch.nn.functional.pad(img, (pad, pad, pad, pad))
    for dy in range(2 * pad + 1):
        for dx in range(2 * pad + 1):
            crop = padded[:, dy:dy + h, dx:dx + w]
            yield (dy, dx, False), crop
            yield (dy, dx, True), crop.flip(-1)


def match(out_img, img, pad):
    return [k for k, crop in crops_of(img, pad) if torch.equal(out_img, crop)]


def test_augment_shape_dtype_and_determinism():
    x = random_images()
    a = augment(x, torch.Generator().manual_seed(3))
    b = augment(x, torch.Generator().manual_seed(3))
    c = augment(x, torch.Generator().manual_seed(4))
    assert a.shape == x.shape and a.dtype == torch.uint8
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert torch.equal(x, random_images())  # the input is not modified


def test_augment_outputs_are_padded_crops_possibly_flipped():
    x = random_images(32)
    out = augment(x, torch.Generator().manual_seed(0), pad=4)
    seen = []
    for k in range(len(x)):
        found = match(out[k], x[k], 4)
        assert found, f"image {k} is not a crop of the zero-padded input"
        seen.append(found[0])
    # crops and flips actually happen (32 images: the chance of none is negligible)
    assert any(flip for _, _, flip in seen) and any(not flip for _, _, flip in seen)
    assert any((dy, dx) != (4, 4) for dy, dx, _ in seen)
    assert (out != x).any(dim=(1, 2, 3)).sum() > 16
    # zero padding shows up as zeros at the border of shifted crops
    assert (out == 0).any()


def test_augment_pad0_only_flips():
    x = random_images(16)
    out = augment(x, torch.Generator().manual_seed(1), pad=0)
    flipped = [torch.equal(out[k], x[k].flip(-1)) for k in range(len(x))]
    for k in range(len(x)):
        assert torch.equal(out[k], x[k]) or flipped[k]
    assert 0 < sum(flipped) < len(x)


# --- bad input: a clear error, and no run directory ------------------------------------

def expect_refusal(cfg, runs, exc, *words):
    with pytest.raises(exc) as e:
        train(cfg)
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    assert files_under(runs) == [], "a refused run must leave nothing behind"
    return str(e.value)


def folder_run_cfg(compose, tmp_path, root):
    return compose(["profile=smoke", "data=cifar10", "data.source=folder", f"data.root={root}",
                    f"data.cache_dir={tmp_path / 'cache'}", f"runs_dir={tmp_path / 'runs'}",
                    "runtime.threads=1", "runtime.progress=false", "model.width=4", "model.depth=4",
                    "monitor.probe_size=4", "optim.batch_size=4", "optim.epochs=1"])


def test_missing_folder(tmp_path, compose):
    cfg = folder_run_cfg(compose, tmp_path, tmp_path / "no-such-dir")
    expect_refusal(cfg, tmp_path / "runs", DataError, "does not exist", "Fix", "data.root")


def test_folder_without_split(tmp_path, compose):
    import shutil
    root = write_image_folder(tmp_path / "tree", per_class=1)
    shutil.rmtree(root / "test")
    cfg = folder_run_cfg(compose, tmp_path, root)
    expect_refusal(cfg, tmp_path / "runs", DataError, "Fix", "no 'test/' folder")


def test_folder_without_ten_classes(tmp_path, compose):
    root = write_image_folder(tmp_path / "tree", per_class=1, classes=CLASSES[:7])
    (root / "train" / "misc").mkdir()
    cfg = folder_run_cfg(compose, tmp_path, root)
    msg = expect_refusal(cfg, tmp_path / "runs", DataError, "found 8", "misc", "airplane", "truck")
    assert "10 CIFAR-10 class folders" in msg


def test_undecodable_image(tmp_path, compose):
    root = write_image_folder(tmp_path / "tree", per_class=1)
    bad = root / "test" / "dog" / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    cfg = folder_run_cfg(compose, tmp_path, root)
    expect_refusal(cfg, tmp_path / "runs", DataError, str(bad), "Fix")


def test_folder_run_trains(tmp_path, compose):
    """The good tree (the counterpart of the refusals above) trains end to end."""
    root = write_image_folder(tmp_path / "tree", per_class=1)
    summary = train(folder_run_cfg(compose, tmp_path, root))
    assert summary["status"] == "ok" and "ImageFolder" in summary["data_description"]


def test_torchvision_absent_through_train(tmp_path, compose):
    cfg = compose(["profile=smoke", "data=cifar10", f"data.root={tmp_path / 'none'}",
                   f"data.cache_dir={tmp_path / 'cache'}", "data.download=false",
                   f"runs_dir={tmp_path / 'runs'}", "runtime.threads=1"])
    expect_refusal(cfg, tmp_path / "runs", DataError, "data.download=true", "data.source=folder")
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("batch_size", [0, -8])
def test_bad_batch_size(tmp_path, tiny_cfg, batch_size):
    cfg = tiny_cfg(f"optim.batch_size={batch_size}")
    expect_refusal(cfg, tmp_path / "runs", ConfigError, f"optim.batch_size={batch_size}", "positive integer")


def test_batch_size_larger_than_data(tmp_path, tiny_cfg):
    cfg = tiny_cfg("optim.batch_size=1000")
    expect_refusal(cfg, tmp_path / "runs", ConfigError, "optim.batch_size=1000", "200 training images")


def test_probe_larger_than_data(tmp_path, tiny_cfg):
    cfg = tiny_cfg("monitor.probe_size=1000")
    expect_refusal(cfg, tmp_path / "runs", DataError, "monitor.probe_size=1000")


def test_unknown_activation_through_train(tmp_path, tiny_cfg):
    cfg = tiny_cfg("activation.name=swish")
    expect_refusal(cfg, tmp_path / "runs", ConfigError, "swish", "relu", "leaky_relu", "prelu")


def test_unknown_model_through_train(tmp_path, tiny_cfg):
    cfg = tiny_cfg("model.name=vgg")
    expect_refusal(cfg, tmp_path / "runs", ConfigError, "vgg", "plain", "resnet")


@pytest.mark.parametrize("override, words", [
    ("optim.lr=0", "optim.lr=0"),
    ("optim.epochs=0", "optim.epochs=0"),
    ("optim.schedule=step", "cosine or constant"),
    ("optim.warmup_epochs=5", "optim.warmup_epochs=5"),
    ("runtime.device=tpu", "runtime.device=tpu"),
    ("data.source=imagenet", "data.source"),
])
def test_other_bad_settings(tmp_path, tiny_cfg, override, words):
    expect_refusal(tiny_cfg(override), tmp_path / "runs", (ConfigError, DataError), words)

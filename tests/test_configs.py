"""Every option of every config group in conf/ composes through Hydra, with the right values."""
from __future__ import annotations

import importlib

import hydra
import pytest
from omegaconf import OmegaConf

from conftest import CONF
from rectifiers.experiment.config import ConfigError, check_config, check_overrides, identity, run_id, variants_with

GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir())
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))]
APPENDED = {"study", "grid"}  # not in train.yaml's defaults list: selected with +study=NAME (a study names its grid)


def select(group: str, option: str) -> str:
    return f"{'+' if group in APPENDED else ''}{group}={option}"


def test_expected_groups_exist():
    assert {"data", "model", "activation", "optim", "profile", "regime"} <= set(GROUPS)


@pytest.mark.parametrize("group, option", OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes_and_resolves(compose, group, option):
    cfg = compose([select(group, option)])
    c = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    for key in ("data", "model", "activation", "optim", "profile", "monitor", "runtime", "seed", "runs_dir"):
        assert key in c
    check_config(cfg)  # every single option is a runnable config, and fits the schema in config.py


@pytest.mark.parametrize("overrides, expect", [
    (["regime=standard"], {"optim.lr": 0.02, "optim.batch_size": 32, "model.depth": 8, "model.init.bias": 0.0}),
    (["regime=high_lr"], {"optim.lr": 0.1, "optim.batch_size": 32}),
    (["regime=small_batch"], {"optim.batch_size": 4, "optim.lr": 0.02}),
    (["regime=deep"], {"model.depth": 20, "model.name": "plain"}),
    (["regime=bad_init"], {"model.init.bias": -0.5}),
    (["profile=smoke"], {"data.source": "synthetic", "profile.name": "smoke", "optim.epochs": 2,
                         "model.width": 8, "monitor.probe_size": 64}),
    (["profile=cpu"], {"data.source": "torchvision", "data.train_size": 5000, "data.eval_size": 1000,
                       "optim.epochs": 5, "model.width": 16, "monitor.probe_size": 512}),
    (["profile=full"], {"data.train_size": None, "optim.epochs": 30, "model.width": 32}),
    (["data=synthetic"], {"data.source": "synthetic", "data.train_size": None}),
    (["data=cifar10"], {"data.source": "torchvision", "data.download": False, "data.subset_seed": 0}),
    (["model=resnet"], {"model.name": "resnet", "model.depth": 20, "model.batchnorm": True}),
    (["model=plain"], {"model.name": "plain", "model.batchnorm": False, "model.init.scheme": "kaiming"}),
    (["activation=relu"], {"activation.name": "relu"}),
    (["activation=leaky_relu"], {"activation.name": "leaky_relu", "activation.negative_slope": 0.01}),
    (["activation=leaky_relu_0.1"], {"activation.name": "leaky_relu", "activation.negative_slope": 0.1}),
    (["activation=leaky_relu_0.2"], {"activation.name": "leaky_relu", "activation.negative_slope": 0.2}),
    (["activation=leaky_relu_0.3"], {"activation.name": "leaky_relu", "activation.negative_slope": 0.3}),
    (["activation=prelu"], {"activation.name": "prelu", "activation.mode": "channel",
                            "activation.init": 0.25, "activation.weight_decay": 0.0}),
    (["activation=prelu_shared"], {"activation.name": "prelu", "activation.mode": "shared",
                                   "activation.init": 0.25, "activation.weight_decay": 0.0}),
    (["optim=sgd"], {"optim.momentum": 0.9, "optim.schedule": "cosine", "optim.warmup_epochs": 0}),
])
def test_key_values(compose, overrides, expect):
    cfg = compose(overrides)
    for key, value in expect.items():
        assert OmegaConf.select(cfg, key) == value, key


def test_defaults(compose):
    cfg = compose([])
    assert (cfg.data.source, cfg.model.name, cfg.activation.name, cfg.profile.name) == \
        ("torchvision", "plain", "relu", "cpu")
    assert cfg.seed == 0 and cfg.monitor.every == 1 and cfg.runtime.device == "auto"
    check_config(cfg)


@pytest.mark.parametrize("overrides, expect", [
    (["activation=leaky_relu", "activation.negative_slope=0.2", "regime=high_lr", "seed=3"],
     {"activation.name": "leaky_relu", "activation.negative_slope": 0.2, "optim.lr": 0.1, "seed": 3}),
    (["model=resnet", "model.depth=56"], {"model.name": "resnet", "model.depth": 56}),
    (["data.source=folder", "data.root=X", "data.train_size=5000", "optim.epochs=3"],
     {"data.source": "folder", "data.root": "X", "data.train_size": 5000, "optim.epochs": 3}),
    (["profile=smoke", "data=cifar10"], {"data.source": "torchvision", "data.train_size": None}),
    (["regime=high_lr", "optim.lr=0.1"], {"optim.lr": 0.1}),  # the command line wins over a regime
])
def test_common_cli_overrides(compose, overrides, expect):
    cfg = compose(overrides)
    for key, value in expect.items():
        assert OmegaConf.select(cfg, key) == value, key
    check_config(cfg)


def leaves(c: dict, path=""):
    for k, v in c.items():
        yield from leaves(v, f"{path}{k}.") if isinstance(v, dict) else [(f"{path}{k}", v)]


@pytest.mark.parametrize("option", ["data=cifar10", "data=synthetic", "activation=leaky_relu", "activation=prelu",
                                    "profile=smoke", "+study=plain_long"])
def test_the_command_line_check_accepts_every_key_of_conf_with_its_own_value(compose, option):
    """The schema knows every key conf/ has: giving any key its own value is never refused."""
    c = OmegaConf.to_container(compose([option]), resolve=True)
    overrides = [f"{k}={'null' if v is None else str(v).lower() if isinstance(v, bool) else v}"
                 for k, v in leaves(c)]
    check_overrides(overrides)


def test_a_study_is_added_to_the_config_not_chosen_in_it():
    """Hydra would say "No match in the defaults list" over two lines; a study also needs -m."""
    with pytest.raises(ConfigError, match=r"^study=lr: a study is added .*: use \+study=lr with -m"):
        check_overrides(["study=lr"])
    check_overrides(["+study=lr", "++grid=stress", "~study"])


def test_the_schema_says_which_option_has_a_key():
    assert variants_with("activation.negative_slope") == ("name", ["leaky_relu"])
    assert variants_with("data.root") == ("source", ["torchvision", "folder"])
    assert variants_with("optim.lr") is None


def test_unknown_option_lists_available_options(compose):
    with pytest.raises(hydra.errors.MissingConfigException) as e:
        compose(["activation=swish"])
    for name in ("relu", "leaky_relu", "prelu"):
        assert name in str(e.value)


# --- studies: sweeps over the options above ---------------------------------------

def test_the_callbacks_and_the_sweeper_are_importable():
    """conf/train.yaml names CheckStudy for every multirun (tests/test_study.py runs it) and
    CheckRun for every single run (tests/test_hydra.py); its sweeper leaves out Hydra's own
    composition of every job, which it may only because CheckStudy composes and checks them
    (tests/test_faults.py: a bad job of a sweep is refused before any job starts)."""
    with hydra.initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = hydra.compose("train", return_hydra_config=True)
    targets = sorted(cb._target_ for cb in cfg.hydra.callbacks.values())
    assert targets == ["rectifiers.experiment.launch.CheckRun", "rectifiers.experiment.study.CheckStudy"]
    assert cfg.hydra.sweeper._target_ == "hydra_plugins.rectifiers_sweeper.CheckedSweeper"
    for target in [*targets, cfg.hydra.sweeper._target_]:
        module, _, attr = target.rpartition(".")
        assert hasattr(importlib.import_module(module), attr), target


def test_run_id_ignores_runtime_and_runs_dir(compose):
    a = compose(["profile=smoke", "runs_dir=/a", "runtime.threads=1", "runtime.progress=false"])
    b = compose(["profile=smoke", "runs_dir=/b", "runtime.threads=2"])
    assert identity(a) == identity(b) and run_id(a) == run_id(b)
    c = compose(["profile=smoke", "seed=1"])
    d = compose(["profile=smoke", "activation=leaky_relu"])
    assert len({run_id(a), run_id(c), run_id(d)}) == 3
    assert run_id(c).endswith("-s1") and "-leaky_relu-" in run_id(d)


def test_keep_weights_is_a_runtime_setting_outside_the_run_id(compose):
    """runtime.keep_weights (default false) keeps a run's final weights; like every runtime key it
    changes no result, so every existing run id stays valid."""
    a, b = compose(["profile=smoke"]), compose(["profile=smoke", "runtime.keep_weights=true"])
    assert a.runtime.keep_weights is False and b.runtime.keep_weights is True
    check_config(b)
    assert identity(a) == identity(b) and run_id(a) == run_id(b)
    with pytest.raises(ConfigError, match=r"^runtime\.keep_weights=yes is invalid: expected true or false$"):
        check_overrides(["runtime.keep_weights=yes"])
    old = OmegaConf.to_container(a)
    del old["runtime"]["keep_weights"]
    check_config(OmegaConf.create(old))  # a record's config.yaml from before the key still passes

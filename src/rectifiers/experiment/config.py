"""What a config may hold, what makes two runs the same, and the errors a user can fix
(docs/design.md section 3).

A composed config is checked against the schema (schema.py) before anything is loaded or
written, and every refusal is one line naming the key and the fix. No torch at import: the
command line, a study's grid and the run identities are all worked out before torch loads.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import typing
from pathlib import Path

from omegaconf import OmegaConf

from .schema import Train


class ConfigError(ValueError):
    """An impossible or unknown setting; the message names it and the fix."""


EXPECTED = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _is(value, kind) -> bool:
    if kind is bool or isinstance(value, bool):  # bool is an int to Python, not to a config
        return kind is bool and isinstance(value, bool)
    return isinstance(value, (int, float) if kind is float else kind)


def _optional(kind) -> tuple[type, bool]:
    """Optional[X] -> (X, True); X -> (X, False)."""
    if typing.get_origin(kind) is typing.Union:
        return next(k for k in typing.get_args(kind) if k is not type(None)), True
    return kind, False


def _fields(schema) -> dict:
    """{name: (type, dataclasses.Field)} of a schema dataclass."""
    hints = typing.get_type_hints(schema)
    return {f.name: (hints[f.name], f) for f in dataclasses.fields(schema)}


def _section_fields(kind, f) -> dict | None:
    """The fields a section may hold: its dataclass's, or those of all its variants."""
    if "variants" in f.metadata:
        return {k: v for option in f.metadata["variants"][1].values() for k, v in _fields(option).items()}
    kind = _optional(kind)[0]
    return _fields(kind) if dataclasses.is_dataclass(kind) else None


def _unknown(key: str, path: str, known) -> ConfigError:
    near = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {path}{near[0]}? " if near else ""
    return ConfigError(f"unknown key {path}{key}: {hint}{path.rstrip('.') or 'the config'} has {', '.join(known)}")


def check_value(value, kind, key: str, f: dataclasses.Field | None = None) -> None:
    """Refuse a value of the wrong type, or a section with unknown or missing keys."""
    kind, optional = _optional(kind)
    if value is None and optional:
        return
    if f is not None and "variants" in f.metadata and isinstance(value, dict):
        by, options = f.metadata["variants"]
        if value.get(by) not in options:
            return  # an unknown activation name or data source: check_config names the options
        kind = options[value[by]]
    if dataclasses.is_dataclass(kind) or kind is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}={value} is invalid: {key} is a group of settings, not one value")
        check_section(value, kind, f"{key}.")
    elif not _is(value, kind):
        quote = f" (quote it: {key}='{value}')" if kind is str else ""
        raise ConfigError(f"{key}={value} is invalid: expected {EXPECTED[kind]}{quote}")


def check_section(values: dict, schema, path: str = "") -> None:
    fields = _fields(schema)
    for key in values:
        if key not in fields:
            raise _unknown(key, path, list(fields))
    for name, (kind, f) in fields.items():
        if name in values:
            check_value(values[name], kind, path + name, f)
        elif f.default is dataclasses.MISSING:
            raise ConfigError(f"{path}{name} is missing: set it in its config file or with +{path}{name}=VALUE")


def schema_type(key: str) -> tuple:
    """(type, dataclasses.Field) of a dotted key, e.g. optim.lr -> float. A key of any variant
    of a section counts (activation.negative_slope). Raises ConfigError for an unknown key."""
    fields, path = _fields(Train), ""
    *sections, last = key.split(".")
    for part in sections:
        if part not in fields:
            raise _unknown(part, path, list(fields))
        fields, path = _section_fields(*fields[part]), f"{path}{part}."
        if fields is None:
            raise ConfigError(f"unknown key {key}: {path.rstrip('.')} is one value, not a group of settings")
    if last not in fields:
        raise _unknown(last, path, list(fields))
    return fields[last]


def variants_with(key: str) -> tuple[str, list[str]] | None:
    """For a key of a section whose keys depend on one of its values: that value's key and the
    values whose section has it (activation.negative_slope -> ("name", ["leaky_relu"])); else None."""
    section, _, rest = key.partition(".")
    _, f = _fields(Train).get(section, (None, None))
    if f is None or "variants" not in f.metadata:
        return None
    by, options = f.metadata["variants"]
    return by, [name for name, option in options.items() if rest.split(".")[0] in _fields(option)]


LEVELS = "levels"  # conf/levels.yaml: the stress knobs' levels, which settings read; itself no setting


def resolved(cfg) -> dict:
    """The composed config as plain values, without Hydra's own node and the levels (LEVELS):
    what a run's config.yaml holds."""
    c = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)
    return {k: v for k, v in c.items() if k != LEVELS}


# --- checks ---------------------------------------------------------------------------

GROUPS = ("data", "model", "activation", "optim", "profile", "regime", "study", "grid", "logger")  # conf/ folders
ADDED = ("study", "grid")  # not in train.yaml's defaults: selected with +study=NAME


def check_overrides(args) -> None:
    """Check command-line overrides (and each value of a sweep) against the schema before Hydra
    composes them, so that `seed=abc` or `optim.lrr=0.1` is refused in one line."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    parser = OverridesParser.create()
    for arg in args:
        if arg.startswith("-") or "=" not in arg:
            continue  # a flag (-m, --config-name ...) or its value
        try:
            ov = parser.parse_override(arg)
        except HydraException:
            continue  # Hydra reports its own syntax errors
        key = ov.key_or_group
        if key in ADDED and not (ov.is_add() or ov.is_force_add() or ov.is_delete()):  # Hydra: "No match in..."
            raise ConfigError(f"{arg}: a {key} is added to the config, not chosen in it: use +{arg}"
                              + (" with -m (a study is a sweep)" if key == "study" else ""))
        if ov.is_delete() or ov.package or key.split(".")[0] in ("hydra", LEVELS) or "/" in key or key in GROUPS:
            continue  # Hydra checks these itself
        kind, f = schema_type(key)
        if ov.is_sweep_override():
            try:
                values = list(ov.sweep_iterator())
            except HydraException:
                continue  # an interval sweep: not for the basic sweeper
        else:
            values = [ov.value()]
        for v in values:
            if not (isinstance(v, str) and "${" in v):  # interpolations are checked once resolved
                check_value(v, kind, key, f)


MODELS = ("plain", "resnet")  # training/models.py builds them


def check_model(cfg) -> None:
    """Raise a ValueError naming the problem if the model config is impossible."""
    if cfg.name not in MODELS:
        raise ValueError(f"unknown model {cfg.name!r}; valid names are {', '.join(MODELS)}")
    if cfg.width < 1:
        raise ValueError(f"model.width={cfg.width} must be a positive integer")
    if cfg.name == "plain" and cfg.depth < 4:
        raise ValueError(f"model.depth={cfg.depth} is too shallow for the plain CNN: use depth >= 4 "
                         "(three conv stages plus the classifier)")
    if cfg.name == "resnet" and ((cfg.depth - 2) % 6 != 0 or cfg.depth < 8):
        raise ValueError(f"model.depth={cfg.depth} is not a CIFAR ResNet depth: use 6n+2, "
                         "e.g. 20, 56 or 110")
    if cfg.name == "resnet" and not cfg.batchnorm:
        raise ValueError("model.batchnorm=false is not supported for the ResNet; use model=plain for "
                         "networks without BatchNorm")
    if cfg.init.scheme not in ("kaiming", "pytorch"):
        raise ValueError(f"unknown model.init.scheme {cfg.init.scheme!r}; use kaiming or pytorch")


def check_config(cfg) -> None:
    """Refuse a config that cannot run, before anything is loaded or written: unknown keys and
    wrong types against the schema, then impossible values."""
    from .. import activations
    from .data import SOURCES
    c = resolved(cfg)
    check_section(c, Train)
    if c["data"]["source"] not in SOURCES:
        raise ConfigError(f"unknown data.source {c['data']['source']!r}; use one of {', '.join(SOURCES)}")
    try:
        activations.check(cfg.activation)
        check_model(cfg.model)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    o = cfg.optim
    for key, ok, fix in [
        ("batch_size", o.batch_size > 0, "a positive integer, e.g. optim.batch_size=128"),
        ("lr", o.lr > 0, "a positive number, e.g. optim.lr=0.05"),
        ("epochs", o.epochs >= 1, "at least 1"),
        ("warmup_epochs", 0 <= o.warmup_epochs <= o.epochs, "between 0 and optim.epochs"),
        ("schedule", o.schedule in ("cosine", "constant"), "cosine or constant"),
    ]:
        if not ok:
            raise ConfigError(f"optim.{key}={o[key]} is invalid: use {fix}")
    if cfg.monitor.probe_size < 1 or cfg.monitor.every < 1:
        raise ConfigError("monitor.probe_size and monitor.every must be positive integers")
    if cfg.runtime.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"runtime.device={cfg.runtime.device} is invalid: use auto, cpu or cuda")


# --- identity -------------------------------------------------------------------------

# labels and settings that do not change a result; the levels enter by the settings that read them
NOT_IDENTITY = ("runtime", "runs_dir", "profile", "study", "logger", "hydra", LEVELS)
DATA_IDENTITY = ("train_size", "eval_size", "subset_seed")  # with the fingerprint, what data a run sees
SET_DATA_IDENTITY = ("val_size",)  # what data a run sees too, but only when set: older ids stay valid


def identity(cfg, fingerprint: str | None = None) -> dict:
    """The resolved settings that determine a run's result (and so its id). The data enter by
    the fingerprint of their decoded arrays, not by where they are: the same data reached by a
    relative or an absolute path, or through another cache, give the same id."""
    c = OmegaConf.to_container(cfg, resolve=True)
    ident = {k: v for k, v in c.items() if k not in NOT_IDENTITY}
    if fingerprint is None:
        from . import data
        fingerprint = data.content_fingerprint(cfg.data)
    ident["data"] = {"fingerprint": fingerprint, **{k: c["data"][k] for k in DATA_IDENTITY},
                     **{k: c["data"][k] for k in SET_DATA_IDENTITY if c["data"].get(k) is not None}}
    ident["monitor"] = {k: v for k, v in c["monitor"].items() if k != "chunk"}  # chunking changes no result
    return ident


def cell_of(ident: dict) -> str:
    """A run's identity without the data fingerprint: the study cell it fills, whatever the data."""
    return json.dumps({**ident, "data": {k: v for k, v in ident["data"].items() if k != "fingerprint"}},
                      sort_keys=True)


def run_id(cfg, fingerprint: str | None = None) -> str:
    ident = identity(cfg, fingerprint)
    h = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:10]
    return f"{cfg.model.name}{cfg.model.depth}-{cfg.activation.name}-{h}-s{cfg.seed}"


def run_dir(cfg, fingerprint: str | None = None) -> Path:
    return Path(cfg.runs_dir) / cfg.profile.name / run_id(cfg, fingerprint)


def record_dir(cfg, fingerprint: str | None = None) -> Path | None:
    """Where a finished run's record is kept (make train: results/<profile>/runs/<run-id>/)."""
    if not cfg.runtime.record_dir:
        return None
    return Path(cfg.runtime.record_dir) / run_id(cfg, fingerprint)

"""pyproject.toml and environment.yml pin the same packages."""
import re
import tomllib

from conftest import ROOT


def test_conda_environment_pins_match_pyproject():
    pins = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    conda = set(re.findall(r"^\s+- ([\w.-]+==[\w.]+)$", (ROOT / "environment.yml").read_text(), re.M))
    assert pins == conda and "torch==2.14.1" in pins and "torchvision==0.29.1" in pins

"""A backend that is not installed fails at its stage's first import, naming the extra that installs it."""

import tomllib
from pathlib import Path

import pytest

from dqguard.lines import EXTRAS
from dqguard.stages import extras

REPO = Path(__file__).resolve().parents[1]


def test_a_missing_module_names_the_extra() -> None:
    with pytest.raises(ModuleNotFoundError) as raised:
        extras.load("arm", "ethosu.vela", "ethosu.no_such_compiler")
    assert str(raised.value) == (
        "No module named 'ethosu.no_such_compiler': install the Arm backend: "
        "pip install 'dqguard[arm]' (executorch==1.5.1, tosa-tools==2026.8.0, ethos-u-vela==5.2.0)")
    assert isinstance(raised.value.__cause__, ModuleNotFoundError)
    assert raised.value.name is None  # so the stage loop adds no second, ExecuTorch-only hint


def test_a_half_installed_backend_is_an_import_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "half_installed_backend.py").write_text("from os import no_such_function\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError) as raised:
        extras.load("openvino", "half_installed_backend")
    assert type(raised.value) is ImportError
    assert str(raised.value).startswith("cannot import name 'no_such_function' from 'os'")
    assert str(raised.value).endswith(": install the OpenVINO backend: pip install 'dqguard[openvino]' "
                                      "(executorch==1.5.1, nncf==3.4.0, openvino==2026.4.1)")


def test_installed_modules_are_returned_in_order() -> None:
    assert [m.__name__ for m in extras.load("executorch", "json", "os.path")] == ["json", "posixpath"]


def test_the_pins_are_pyprojects() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {name: list(extra.requires) for name, extra in EXTRAS.items()} == {
        name: declared[name] for name in EXTRAS}

"""The wheel `pip wheel .` builds: every package, the catalog data, the dependencies, no warnings."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_ROOTS = {
    "switchboard": ROOT / "layers/common/switchboard",
    "switchboard_local": ROOT / "local/switchboard_local",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[zipfile.ZipFile, str]:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (path,) = out.glob("switchboard-*.whl")
    return zipfile.ZipFile(path), build.stdout + build.stderr


def source_files(package: str) -> set[str]:
    root = PACKAGE_ROOTS[package]
    return {
        f"{package}/{path.relative_to(root).as_posix()}"
        for path in root.rglob("*")
        if path.suffix in (".py", ".json") and "__pycache__" not in path.parts
    }


@pytest.mark.parametrize("package", sorted(PACKAGE_ROOTS))
def test_the_wheel_holds_every_module_and_data_file(wheel, package):
    archive, _ = wheel
    names = set(archive.namelist())
    missing = source_files(package) - names
    assert not missing, f"left out of the wheel: {sorted(missing)}"


def test_the_wheel_holds_the_catalog(wheel):
    archive, _ = wheel
    assert "switchboard/events/catalog.json" in archive.namelist()


def test_the_wheel_declares_the_runtime_dependencies_and_the_command(wheel):
    archive, _ = wheel
    metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(archive.read(metadata_name).decode())
    required = {re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0].lower() for r in metadata.get_all("Requires-Dist") or []}
    layer = {
        re.split(r"[<>=!~\[]", line, maxsplit=1)[0].strip().lower()
        for line in (ROOT / "layers/common/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert layer <= required, f"layer requirements not declared: {layer - required}"
    assert {"moto", "pyyaml", "standardwebhooks"} <= required
    assert metadata["License-Expression"] == "Apache-2.0"
    entry_points = archive.read(metadata_name.replace("METADATA", "entry_points.txt")).decode()
    assert "switchboard = switchboard_local.cli:main" in entry_points


def test_building_prints_no_setuptools_warning(wheel):
    _, output = wheel
    warnings = [
        line
        for line in output.splitlines()
        if re.search(r"Warning|!!", line) and "byte-compiling is disabled" not in line
    ]
    assert not warnings, "\n".join(warnings)


def test_every_declared_dependency_is_pinned_in_constraints(wheel):
    archive, _ = wheel
    metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(archive.read(metadata_name).decode())
    pinned = {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for requirement in metadata.get_all("Requires-Dist") or []:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{name} is declared but not pinned in constraints.txt"

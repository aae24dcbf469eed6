"""The package people depend on: an sdist and a wheel that build, pass `twine check`, and carry their tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from conftest import PROJECT
from tiergate import __version__

pytest.importorskip("build")
pytest.importorskip("twine")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: build with the installed setuptools, so nothing is fetched from an index
    done = subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--no-isolation", "--outdir", str(out), str(PROJECT)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def test_twine_check_is_clean(dist):
    files = sorted(str(p) for p in dist.iterdir())
    assert any(f.endswith(".tar.gz") for f in files) and any(f.endswith(".whl") for f in files)
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_one_version_source(dist):
    names = {p.name for p in dist.iterdir()}
    assert f"tiergate-{__version__}.tar.gz" in names and f"tiergate-{__version__}-py3-none-any.whl" in names


def test_sdist_carries_the_license_tests_and_fixtures_and_passes_them(dist, tmp_path):
    sdist = next(dist.glob("*.tar.gz"))
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    root = tmp_path / f"tiergate-{__version__}"
    for part in ("LICENSE", "tests/conftest.py", "tests/unit", "policy/tiers.yaml", "evals/datasets", "schemas", "CODEOWNERS"):
        assert (root / part).exists(), part
    with tarfile.open(sdist) as archive:
        pkg_info = archive.extractfile(f"tiergate-{__version__}/PKG-INFO").read().decode()
    assert "License-Expression: Apache-2.0" in pkg_info
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(root / "src")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit", "tests/e2e/test_validate.py"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "[100%]" in done.stdout and "failed" not in done.stdout
    where = subprocess.run([sys.executable, "-c", "import tiergate; print(tiergate.__file__)"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=60)
    assert where.stdout.strip().startswith(str(root / "src")), "the tests must run against the unpacked sdist"

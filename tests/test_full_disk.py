"""A full disk costs the user a sentence, not a traceback, and loses nothing: an import says how
much room it needs before it starts, and an upload that fills the disk is dropped whole.

The disks are real: small tmpfs mounts (the tests run as root here, as CI does)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import small_world
from tests.conftest import bearer, make_users

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def small_disk(tmp_path):
    """A folder on its own 8 MB disk (a write to a store needs twice its size and 16 MB)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], capture_output=True
    )
    assert done.returncode == 0, f"cannot mount a tmpfs (root needed): {done.stderr.decode()}"
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_import_refuses_before_starting_when_the_disk_lacks_room(small_disk, tmp_path):
    from exchange.formats import write_file
    from store import open_store

    built = open_store(str(tmp_path / "built" / "amayesh.gpkg"))
    small_world.write(built)
    make_users(str(built.path))
    for made in built.path.parent.iterdir():
        shutil.copyfile(made, small_disk / made.name)
    store = open_store(str(small_disk / "amayesh.gpkg"))
    before = digest(store.path)
    frame = store.read_layer("settlements")
    frame["population"] = frame["population"] + 1
    write_file(frame, tmp_path / "settlements.csv", layer="settlements")
    command = ["-m", "cli", "--store", str(store.path), "import", "settlements"]
    done = subprocess.run(
        [sys.executable, *command, str(tmp_path / "settlements.csv"), "--user", "t_planner"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    # The figures the user needs: what the write needs and what is free, and that nothing changed.
    assert (
        "needs about" in done.stderr and "MB free in" in done.stderr and "nothing was written" in done.stderr
    )
    assert digest(store.path) == before
    assert not list(small_disk.glob(".amayesh.*.tmp.gpkg"))  # no working copy left on the disk


def test_an_upload_that_fills_the_disk_is_dropped_with_a_507(small_disk, tmp_path):
    from api.app import create_app
    from services.settings import Settings
    from store import open_store

    store = open_store(str(tmp_path / "w.gpkg"))
    small_world.write(store)
    app = create_app(Settings(store=str(store.path), prepare_tiles=False, imports_dir=small_disk))
    with TestClient(
        app, raise_server_exceptions=False, headers=bearer(make_users(str(store.path))["admin"])
    ) as c:
        r = c.post("/imports?layer=ngos", files={"file": ("registry.csv", b"x" * (12 * 2**20))})
        assert r.status_code == 507, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "nothing was kept" in r.json()["detail"]
        assert c.get("/imports").json()["open"] == []  # no half job left behind
    assert sum(p.stat().st_size for p in small_disk.rglob("*") if p.is_file()) == 0  # the part is deleted

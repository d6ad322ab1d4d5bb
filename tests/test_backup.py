"""``amayesh backup`` / ``amayesh restore`` on both stores: every layer and the audit trail come back."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from store.accounts import Accounts
from store.backup import BackupError, manifest
from tests.conftest import ROOT, make_users

pytestmark = pytest.mark.realdata


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=ROOT)


def test_geopackage_backup_restores_into_a_fresh_store(demo, demo_tokens, tmp_path):
    source = str(demo["store"].path)
    done = cli("--store", source, "backup", str(tmp_path / "backup"))
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "backup" / "manifest.json").read_text())["tables"]
    assert set(saved) == {*demo["layers"], "amayesh_audit", "licence_applications", "programme_activities"}
    assert saved["programme_activities"]["rows"] == len(demo["store"].list_activities()) > 0
    assert saved["amayesh_audit"]["rows"] > 0  # the test users' creation, at least
    assert saved["licence_applications"]["rows"] == len(demo["store"].list_applications()) > 0
    target = str(tmp_path / "restored" / "amayesh.gpkg")
    restored = cli("--store", target, "restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stderr
    again = manifest(target)
    assert again == saved
    for name, frame in demo["layers"].items():
        assert again[name]["rows"] == len(frame)
    # The accounts came back too: the test users can sign in to the restored store.
    accounts = Accounts(target)
    assert accounts.get("t_admin").role == "admin"
    accounts.close()
    # A restore over a store with layers needs --force; a non-empty backup folder is refused.
    assert cli("--store", target, "restore", str(tmp_path / "backup")).returncode == 2
    assert cli("--store", source, "backup", str(tmp_path / "backup")).returncode == 2


def test_a_tampered_backup_is_refused(demo, tmp_path):
    from store.backup import backup, restore

    backup(str(demo["store"].path), tmp_path / "b")
    info = json.loads((tmp_path / "b" / "manifest.json").read_text())
    info["tables"]["ngos"]["sha256"] = "0" * 64
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(info))
    with pytest.raises(BackupError, match="ngos"):
        restore(tmp_path / "b", str(tmp_path / "r.gpkg"))


@pytest.mark.postgis
def test_postgis_backup_restores_into_a_fresh_database(demo, postgis_store, postgis_url, tmp_path):
    with postgis_store.transaction() as tx:
        for name, frame in demo["layers"].items():
            tx.write_layer(name, frame)
    postgis_store.add_applications(demo["store"].list_applications())
    make_users(postgis_url)
    done = cli("--store", postgis_url, "backup", str(tmp_path / "pg"))
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "pg" / "manifest.json").read_text())["tables"]
    fresh = postgis_url.rsplit("/", 1)[0] + "/amayesh_auth_restore"
    admin = sa.create_engine(
        postgis_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS amayesh_auth_restore"))
        conn.execute(sa.text("CREATE DATABASE amayesh_auth_restore"))
    try:
        fresh_engine = sa.create_engine(fresh.replace("postgresql://", "postgresql+psycopg://", 1))
        with fresh_engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        fresh_engine.dispose()
        restored = cli("--store", fresh, "restore", str(tmp_path / "pg"))
        assert restored.returncode == 0, restored.stderr
        again = manifest(fresh)
        assert again == saved
        assert again["ngos"]["rows"] == len(demo["layers"]["ngos"]) and again["amayesh_audit"]["rows"] > 0
        assert again["licence_applications"]["rows"] == len(demo["store"].list_applications())
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS amayesh_auth_restore WITH (FORCE)"))
        admin.dispose()

"""Imports are audited, update by key by default, need an admin to replace, and can be undone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from exchange.exports import export_layer
from store import open_store
from store.accounts import Accounts
from tests.conftest import ROOT, TEST_PASSWORD, TEST_USERS

pytestmark = pytest.mark.realdata


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=ROOT, input=stdin
    )


def test_imports_are_audited_and_undoable(demo, demo_tokens, tmp_path):
    path = tmp_path / "store" / "amayesh.gpkg"
    path.parent.mkdir()
    shutil.copyfile(demo["store"].path, path)
    shutil.copyfile(
        demo["store"].path.with_name("amayesh.accounts.sqlite"), path.with_name("amayesh.accounts.sqlite")
    )
    store = open_store(str(path))
    before = store.read_layer("ngos")
    rows = pd.read_csv(export_layer(store, "ngos", tmp_path / "all.csv"), dtype=str, encoding="utf-8-sig")
    changed = rows[rows["province_code"] == "23"].head(2).copy()
    changed["capacity"] = "777"
    new = changed.head(1).copy()
    new["licence_no"] = "SYN-99-NEW-0001"
    new["name_fa"] = "مرکز تازه آزمون"  # another centre: the same name in the same place is a duplicate
    pd.concat([changed, new]).to_csv(tmp_path / "edit.csv", index=False, encoding="utf-8-sig")

    done = cli("--store", str(path), "import", "ngos", str(tmp_path / "edit.csv"), "--user", "t_planner")
    assert done.returncode == 0, done.stderr
    assert "1 added, 2 updated by key" in done.stdout
    after = store.read_layer("ngos").set_index("licence_no")
    assert len(after) == len(before) + 1
    assert (after.loc[changed["licence_no"], "capacity"] == 777).all()
    saved = sorted((path.parent / "versions").glob("ngos-*.gpkg"))
    assert len(saved) == 1

    # Replacing needs an admin and their password.
    refused = cli("--store", str(path), "import", "ngos", str(tmp_path / "edit.csv"), "--replace")
    assert refused.returncode != 0 and "admin" in refused.stderr
    not_admin = cli(
        "--store",
        str(path),
        "import",
        "ngos",
        str(saved[0]),
        "--replace",
        "--user",
        TEST_USERS["planner"][0],
        "--password-stdin",
        stdin=TEST_PASSWORD + "\n",
    )
    assert not_admin.returncode != 0 and len(store.read_layer("ngos")) == len(before) + 1
    restored = cli(
        "--store",
        str(path),
        "import",
        "ngos",
        str(saved[0]),
        "--replace",
        "--user",
        TEST_USERS["admin"][0],
        "--password-stdin",
        stdin=TEST_PASSWORD + "\n",
    )
    assert restored.returncode == 0, restored.stderr
    pd.testing.assert_frame_equal(
        pd.DataFrame(store.read_layer("ngos").drop(columns="geometry")),
        pd.DataFrame(before.drop(columns="geometry")),
    )

    audit = [r for r in Accounts(str(path)).audit_rows() if r["action"].startswith("import")]
    assert [(r["actor"], r["action"]) for r in audit] == [
        ("t_planner", "import.update"),
        ("t_admin", "import.replace"),
    ]
    first_old, first_new = json.loads(audit[0]["old_value"]), json.loads(audit[0]["new_value"])
    assert first_old["rows"] == len(before) and first_new["rows"] == len(before) + 1
    assert first_new["added"] == 1 and first_new["updated"] == 2 and first_old["saved_as"] == str(saved[0])
    assert json.loads(audit[1]["new_value"])["sha256"] == first_old["sha256"]  # back to where it was

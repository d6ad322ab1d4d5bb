"""PostGIS: the service's own role, forced row-level security by province, an insert-only audit."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from services.settings import Settings
from store.accounts import Accounts
from store.policy import PROVINCE_OF
from tests.conftest import SERVICE_ROLE, bearer, make_users

pytestmark = [pytest.mark.realdata, pytest.mark.postgis]


def test_the_service_role_owns_nothing_and_cannot_bypass_security(postgis_demo):
    engine = sa.create_engine(postgis_demo.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        me = conn.execute(
            sa.text(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
            )
        ).one()
        assert tuple(me) == (False, False, False, False)
        owned = conn.execute(
            sa.text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        ).scalar()
        assert owned == 0
        forced = dict(
            conn.execute(
                sa.text(
                    "SELECT relname, relforcerowsecurity AND relrowsecurity FROM pg_class WHERE relname = ANY(:t)"
                ),
                {"t": list(PROVINCE_OF)},
            ).all()
        )
        assert forced and all(forced.values()), forced
    engine.dispose()


def test_rows_are_visible_only_in_the_transactions_provinces(postgis_demo, demo):
    engine = sa.create_engine(postgis_demo.replace("postgresql://", "postgresql+psycopg://", 1))
    ngos = demo["layers"]["ngos"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ngos")).scalar() == 0  # nothing unset
    for setting, expected in (
        ("11", (ngos["province_code"] == "11").sum()),
        ("07,23", ngos["province_code"].isin(["07", "23"]).sum()),
        ("*", len(ngos)),
    ):
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT set_config('amayesh.provinces', :p, true)"), {"p": setting})
            assert conn.execute(sa.text("SELECT count(*) FROM ngos")).scalar() == expected
            where = conn.execute(sa.text("SELECT DISTINCT province_code FROM settlements")).scalars().all()
            assert setting == "*" or set(where) == set(setting.split(","))
            county_needs = (
                conn.execute(sa.text("SELECT DISTINCT left(county_code, 2) FROM county_needs"))
                .scalars()
                .all()
            )
            assert setting == "*" or set(county_needs) == set(setting.split(","))
    with engine.connect() as conn:  # a setting lasts one transaction
        assert conn.execute(sa.text("SELECT count(*) FROM ngos")).scalar() == 0
    # NGO rows may be deleted (a browser import, an undo), but only those of the transaction's
    # provinces: the policy holds DELETE as it holds SELECT.
    in_11 = int((ngos["province_code"] == "11").sum())
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(sa.text("SELECT set_config('amayesh.provinces', '11', true)"))
        assert conn.execute(sa.text("DELETE FROM ngos")).rowcount == in_11
        conn.execute(sa.text("SELECT set_config('amayesh.provinces', '*', true)"))
        assert conn.execute(sa.text("SELECT count(*) FROM ngos")).scalar() == len(ngos) - in_11
        tx.rollback()
    # The reference layers stay read-only to the service.
    with engine.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        conn.execute(sa.text("SELECT set_config('amayesh.provinces', '*', true)"))
        conn.execute(sa.text("DELETE FROM settlements"))
    engine.dispose()


def test_the_audit_table_is_insert_only(postgis_demo, postgis_demo_owner, tmp_path):
    service = Accounts(postgis_demo)
    service.record(None, "tests", "test.insert", "audit", None, {"n": 1})  # the service may insert
    engine = service.engine
    for statement in (
        "UPDATE amayesh_audit SET actor = 'x'",
        "DELETE FROM amayesh_audit",
        "TRUNCATE amayesh_audit",
    ):
        with engine.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(statement))
    # Not even the owner can change it: a trigger refuses.
    owner = Accounts(postgis_demo_owner)
    for statement in ("UPDATE amayesh_audit SET actor = 'x'", "DELETE FROM amayesh_audit"):
        with owner.engine.begin() as conn, pytest.raises(sa.exc.DBAPIError, match="insert-only"):
            conn.execute(sa.text(statement))
    assert owner.audit_rows()[-1]["action"] == "test.insert"
    # The GeoPackage store's accounts file: the same, by SQLite triggers.
    gpkg = Accounts(str(tmp_path / "s.gpkg"))
    gpkg.record(None, "tests", "test.insert", "audit")
    path = gpkg.url.removeprefix("sqlite:///")
    for statement in ("UPDATE amayesh_audit SET actor = 'x'", "DELETE FROM amayesh_audit"):
        with pytest.raises(sqlite3.IntegrityError, match="insert-only"), sqlite3.connect(path) as raw:
            raw.execute(statement)
    for a in (service, owner, gpkg):
        a.close()


def test_the_service_runs_as_its_role_and_the_database_scopes_it(postgis_demo, demo):
    tokens = make_users(postgis_demo)
    app = create_app(Settings(store=postgis_demo, prepare_tiles=False))
    ngos = demo["layers"]["ngos"]
    with TestClient(app, raise_server_exceptions=False) as client:

        def matched(role, url):
            return client.get(url, headers=bearer(tokens[role])).json()["numberMatched"]

        assert matched("admin", "/collections/ngos/items?limit=1") == len(ngos)
        assert (
            matched("provincial_director", "/collections/ngos/items?limit=1")
            == (ngos["province_code"] == "11").sum()
        )
        assert matched("licensing_officer", "/collections/settlements/items?province=07&limit=1") == 0
        store = app.state.snapshots.store
        assert sa.inspect(store.engine).get_table_names()  # connected
        assert store.engine.url.username == SERVICE_ROLE
        frame = store.read_layer_in_provinces("ngos", ["11"])
        assert set(frame["province_code"]) == {"11"}

"""The database role the service connects as, and row-level security on the layer tables (PostGIS).

``amayesh db setup-roles --role amayesh_service`` (run once by the database owner, and again after
new layer tables are created) makes a login role that is neither superuser nor owner of anything
and cannot bypass row-level security, and grants it:

* ``SELECT`` on the layer tables and the commit counter; imports run from the command line as
  the owner. The layer writes of the service are an approved licence application and an import
  of NGO rows through the browser: ``INSERT`` and ``DELETE`` on ``ngos`` (held by row-level
  security to the transaction's provinces) and a commit counted; likewise ``INSERT`` and ``DELETE``
  on ``ngo_evaluations`` (evaluations of centres imported through the browser; the table is made
  here if no evaluation was written yet) and on ``volunteer_groups`` (the volunteer network,
  imported the same way; made here too);
* ``SELECT, INSERT, UPDATE`` on ``licence_applications`` (row-level security by province);
* ``INSERT`` on the division versions' tables (``hierarchy_*``, and ``DELETE`` on
  ``hierarchy_versions``): reference tables without row-level security, which an administrator
  extends with a new version through the browser;
* ``SELECT, INSERT, UPDATE`` on the users and tokens, ``SELECT`` on the secrets;
* ``SELECT, INSERT`` on the audit table, and explicitly **not** ``UPDATE``, ``DELETE`` or
  ``TRUNCATE`` (a trigger refuses those to everybody, owner included).

Every layer table with a province (all but ``layer_info`` and the division versions' reference
tables, ``store.policy.REFERENCE_TABLES``) has row-level security enabled and
*forced* (the owner is held to it too; only a superuser is not): a row is visible only when its
province is in the transaction's ``amayesh.provinces`` setting (a comma-separated list of codes,
or ``*`` for all), set with ``set_config(…, true)`` so that it lasts one transaction. Unset, no
row is visible.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from geo.schema import LAYERS
from store.policy import PROVINCE_OF, policy_sql


def setup_roles(owner_url: str, role: str, password: str) -> list[str]:
    """Create or update the service's role and its grants; return what was done."""
    from store.accounts import Accounts
    from store.postgis import PostGISStore

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError("a role name is lower-case letters, digits and '_'")
    store = PostGISStore(owner_url)
    accounts = Accounts(owner_url)
    accounts.ensure()
    accounts.secret("session")  # made now: the service may read it but not write it
    done = []
    with store.engine.begin() as conn:
        store.meta.create(conn, checkfirst=True)
        exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
        quoted = conn.exec_driver_sql("SELECT quote_literal(%s)", (password,)).scalar()
        verb = "ALTER" if exists else "CREATE"
        conn.exec_driver_sql(
            f"{verb} ROLE {role} LOGIN PASSWORD {quoted} NOSUPERUSER NOCREATEDB NOCREATEROLE "
            "NOBYPASSRLS NOINHERIT"
        )
        done.append(f"{verb.lower()}d role {role} (login, not superuser, cannot bypass row-level security)")
        database = conn.execute(sa.text("SELECT current_database()")).scalar()
        conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        # Evaluations of centres are imported through the browser: their table must exist for
        # the service (which creates nothing) to write it; made with its row-level security.
        if "ngos" in set(sa.inspect(conn).get_table_names()):
            from store.postgis import _PgTransaction

            _PgTransaction(conn, store)._ensure(LAYERS["ngo_evaluations"])
            # volunteer groups too (imported through the browser the same way), the norms'
            # versions (a catalogue imported by an administrator), and the registry brought up
            # to its layer (a column added since: ``store.postgis._upgrade``)
            _PgTransaction(conn, store)._ensure(LAYERS["volunteer_groups"])
            _PgTransaction(conn, store)._ensure(LAYERS["norms_versions"])
            _PgTransaction(conn, store)._ensure(LAYERS["ngos"])
            _PgTransaction(conn, store)._ensure(LAYERS["county_needs"])
        present = set(sa.inspect(conn).get_table_names())
        for name in LAYERS:
            if name not in present:
                continue
            conn.exec_driver_sql(f'REVOKE ALL ON "{name}" FROM {role}')
            conn.exec_driver_sql(f'GRANT SELECT ON "{name}" TO {role}')
            if name in PROVINCE_OF:
                for sql in policy_sql(name):
                    conn.exec_driver_sql(sql)
                done.append(f"{name}: SELECT; row-level security forced, by province")
            else:
                done.append(f"{name}: SELECT")
        conn.exec_driver_sql(f"GRANT SELECT ON amayesh_meta, spatial_ref_sys TO {role}")
        # An approval adds the licence to ``ngos`` and counts a commit, in the officer's provinces
        # only (the policy's WITH CHECK); nothing else of the layers is written by the service.
        # An import through the browser (services.intake) rewrites ``ngos`` in one transaction
        # and an administrator's undo restores it: DELETE as well, held by the same policy.
        if "ngos" in present:
            conn.exec_driver_sql(f'GRANT INSERT, DELETE ON "ngos" TO {role}')
            done.append("ngos: INSERT, DELETE (approved licences and imports, within the caller's provinces)")
        if "ngo_evaluations" in present:
            conn.exec_driver_sql(f'GRANT INSERT, DELETE ON "ngo_evaluations" TO {role}')
            done.append(
                "ngo_evaluations: INSERT, DELETE (imported evaluations, within the caller's provinces)"
            )
        if "volunteer_groups" in present:
            conn.exec_driver_sql(f'GRANT INSERT, DELETE ON "volunteer_groups" TO {role}')
            done.append(
                "volunteer_groups: INSERT, DELETE (imported volunteer groups, within the caller's provinces)"
            )
        if "norms_versions" in present:
            conn.exec_driver_sql(f'GRANT INSERT ON "norms_versions" TO {role}')
            done.append("norms_versions: INSERT (a catalogue imported by an administrator)")
        # A new division version imported by an administrator through the browser: its units and
        # changes added, the versions' list rewritten (its base closed); the service checks the role.
        for name, grant in (
            ("hierarchy_versions", "INSERT, DELETE"),
            ("hierarchy_units", "INSERT"),
            ("hierarchy_changes", "INSERT"),
        ):
            if name in present:
                conn.exec_driver_sql(f'GRANT {grant} ON "{name}" TO {role}')
                done.append(f"{name}: {grant} (division versions, imported by administrators)")
        conn.exec_driver_sql(f"GRANT INSERT, UPDATE ON amayesh_meta TO {role}")
        applications = store.applications
        store._ensure_applications(conn)
        conn.exec_driver_sql(f'REVOKE ALL ON "{applications.name}" FROM {role}')
        conn.exec_driver_sql(f'GRANT SELECT, INSERT, UPDATE ON "{applications.name}" TO {role}')
        for sql in policy_sql(applications.name):
            conn.exec_driver_sql(sql)
        done.append(f"{applications.name}: SELECT, INSERT, UPDATE; row-level security forced, by province")
        activities = store.activities
        store._ensure_activities(conn)
        conn.exec_driver_sql(f'REVOKE ALL ON "{activities.name}" FROM {role}')
        conn.exec_driver_sql(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{activities.name}" TO {role}')
        for sql in policy_sql(activities.name):
            conn.exec_driver_sql(sql)
        done.append(
            f"{activities.name}: SELECT, INSERT, UPDATE, DELETE; row-level security forced, by province"
        )
        scenarios = getattr(store, "scenarios", None)  # saved planning scenarios, if this version has them
        if scenarios is not None:
            scenarios.create(conn, checkfirst=True)
            conn.exec_driver_sql(f'GRANT SELECT, INSERT, DELETE ON "{scenarios.name}" TO {role}')
            done.append(f"{scenarios.name}: SELECT, INSERT, DELETE")
        conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE ON amayesh_users, amayesh_tokens TO {role}")
        # sessions: DELETE only prunes those ended over a month ago (store.accounts.SESSION_HISTORY)
        conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON amayesh_sessions TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON amayesh_secrets TO {role}")
        conn.exec_driver_sql(f"REVOKE ALL ON amayesh_audit FROM {role}, PUBLIC")
        conn.exec_driver_sql(f"GRANT SELECT, INSERT ON amayesh_audit TO {role}")
        conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE amayesh_audit_audit_id_seq TO {role}")
        done.append("amayesh_audit: SELECT, INSERT only (UPDATE, DELETE, TRUNCATE refused)")
    store.close()
    accounts.close()
    return done

"""The PostGIS store, for a multi-user deployment: PostgreSQL + PostGIS through SQLAlchemy and GeoAlchemy2.

Each layer is a table with typed columns, a primary key on the layer's key, ``NOT NULL`` and
``CHECK`` constraints for what the schema forbids (unknown service types, statuses or kinds,
negative counts, invalid geometries) and a geometry column with SRID 4326 and a GiST index. A
transaction is a database transaction: a failure or a killed process leaves the tables as they
were.
"""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import geopandas as gpd
import pandas as pd
import psycopg
import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, make_url

from geo import filtering as F
from geo.errors import AlreadyExists, ScenarioNotFound, SchemaError, StoreError
from geo.schema import LAYERS, Layer, conform, layer
from store.base import (
    SCENARIO_FIELDS,
    Frame,
    Store,
    Transaction,
    decode_activity,
    decode_application,
    encode_activity,
    encode_application,
    validate_frame,
)
from store.policy import PROVINCE_OF, policy_sql, provinces_setting

_TYPES: dict[str, Callable[[], sa.types.TypeEngine]] = {
    "str": sa.Text,
    "int": sa.BigInteger,
    "float": sa.Float,
    "bool": sa.Boolean,
    "date": sa.Date,
    "datetime": lambda: sa.DateTime(timezone=True),
}


def _checks(spec: Layer) -> list[tuple[str, str]]:
    """The schema's value rules (``geo.schema.check_values``) as SQL conditions."""
    out = []
    for col in spec.columns:
        if col.choices is not None:
            allowed = ", ".join(f"'{v}'" for v in col.choices)
            out.append((f"{col.name}_known", f'"{col.name}" IN ({allowed})'))
        if col.minimum is not None:
            out.append((f"{col.name}_min", f'"{col.name}" >= {int(col.minimum)}'))
        if col.pattern is not None:
            out.append((f"{col.name}_format", f"\"{col.name}\" ~ '^{col.pattern}$'"))
    return out


def table_for(spec: Layer, metadata: sa.MetaData) -> sa.Table:
    """The SQLAlchemy table of a layer."""
    keys = spec.key.split(",")
    columns: list[sa.Column] = [
        sa.Column(
            c.name, _TYPES[c.dtype](), nullable=c.nullable, primary_key=c.name in keys, comment=c.description
        )
        for c in spec.columns
    ]
    constraints = [sa.CheckConstraint(sql, name=f"{spec.name}_{name}") for name, sql in _checks(spec)]
    if spec.geometry_type:
        columns.append(
            sa.Column(
                "geometry",
                Geometry(spec.geometry_type.upper(), srid=4326, spatial_index=True),
                nullable=False,
            )
        )
        constraints.append(sa.CheckConstraint("ST_IsValid(geometry)", name=f"{spec.name}_geometry_valid"))
    return sa.Table(spec.name, metadata, *columns, *constraints, comment=spec.title_en)


class _PgTransaction(Transaction):
    def __init__(self, conn: Connection, store: PostGISStore) -> None:
        self.conn = conn
        self.store = store

    def _ensure(self, spec: Layer) -> sa.Table:
        table = self.store.tables[spec.name]
        if not sa.inspect(self.conn).has_table(spec.name):
            table.create(self.conn)
            if spec.name in PROVINCE_OF:  # row-level security from the start (store/roles.py)
                for sql in policy_sql(spec.name):
                    self.conn.exec_driver_sql(sql)
        else:
            _upgrade(self.conn, spec)
        return table

    def write_layer(self, name: str, frame: Frame) -> None:
        out = validate_frame(name, frame)
        table = self._ensure(layer(name))
        self.conn.execute(table.delete())
        self._copy(layer(name), out)

    def append(self, name: str, frame: Frame) -> None:
        out = validate_frame(name, frame)
        self._ensure(layer(name))
        self._copy(layer(name), out)

    def _copy(self, spec: Layer, frame: Frame) -> None:
        """Bulk-load rows with COPY; the table's constraints check every row. Where row-level
        security holds the connection's role (the service's, importing through the browser),
        COPY is refused by PostgreSQL: the rows go in by INSERT, checked by the policy."""
        if frame.empty:
            return
        if self.conn.execute(sa.text("SELECT row_security_active(:t)"), {"t": spec.name}).scalar():
            self.store._insert_rows(self.conn, spec.name, frame)
            return
        cols = spec.column_names + (["geometry"] if spec.geometry_type else [])
        data = pd.DataFrame(frame[spec.column_names])
        if spec.geometry_type:
            data["geometry"] = shapely.to_wkb(
                shapely.set_srid(frame.geometry.to_numpy(), 4326), hex=True, include_srid=True
            )
        for col in spec.columns:
            if col.dtype == "date":
                data[col.name] = data[col.name].dt.strftime("%Y-%m-%d")
            elif col.dtype == "datetime":
                data[col.name] = data[col.name].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
        buffer = io.StringIO()
        data.to_csv(buffer, index=False, header=False, na_rep="\\N")
        raw = self.conn.connection.driver_connection
        assert raw is not None  # an open psycopg connection
        quoted = ", ".join(f'"{c}"' for c in cols)
        try:
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY \"{spec.name}\" ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy,
            ):
                copy.write(buffer.getvalue())
        except psycopg.errors.UniqueViolation as err:
            raise StoreError(f"{spec.name}: duplicate {spec.key} values ({_first_line(err)})") from err
        except psycopg.Error as err:  # constraint and type violations
            raise StoreError(f"{spec.name}: the database refused the rows: {_first_line(err)}") from err


def _upgrade(conn: Connection, spec: Layer) -> None:
    """Bring a table an earlier release made up to its layer: a nullable column added since is
    added (empty), and the service type's fixed list of eight (``service_type_known``) gives way
    to the catalogue's code format (the catalogue, not the database, says which services exist)."""
    have = {c["name"] for c in sa.inspect(conn).get_columns(spec.name)}
    for col in spec.columns:
        if col.name not in have and col.nullable:
            kind = _TYPES[col.dtype]().compile(dialect=conn.dialect)
            conn.exec_driver_sql(f'ALTER TABLE "{spec.name}" ADD COLUMN IF NOT EXISTS "{col.name}" {kind}')
            for name, sql in _checks(spec):
                if name.startswith(f"{col.name}_"):
                    conn.exec_driver_sql(
                        f'ALTER TABLE "{spec.name}" ADD CONSTRAINT "{spec.name}_{name}" CHECK ({sql})'
                    )
    if "service_type" in have:
        old = f"{spec.name}_service_type_known"
        found = conn.exec_driver_sql(
            "SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
            (old, f'"{spec.name}"'),
        ).first()
        if found is not None:
            conn.exec_driver_sql(f'ALTER TABLE "{spec.name}" DROP CONSTRAINT "{old}"')
            sql = dict(_checks(spec))["service_type_format"]
            conn.exec_driver_sql(
                f'ALTER TABLE "{spec.name}" ADD CONSTRAINT "{spec.name}_service_type_format" CHECK ({sql})'
            )


def _see(conn: Connection, provinces) -> None:
    """The provinces this transaction may see (``amayesh.provinces``; None: all)."""
    conn.exec_driver_sql("SELECT set_config('amayesh.provinces', %s, true)", (provinces_setting(provinces),))


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


class PostGISStore(Store):
    """Layers as tables in a PostgreSQL/PostGIS database given by a SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed
        self.engine = sa.create_engine(parsed, pool_pre_ping=True)
        self.metadata = sa.MetaData()
        self.tables = {name: table_for(spec, self.metadata) for name, spec in LAYERS.items()}
        #: per layer: the columns its table has, once it has all its layer's
        self._have: dict[str, frozenset[str]] = {}
        self.meta = sa.Table(
            "amayesh_meta",
            self.metadata,
            sa.Column("key", sa.Text, primary_key=True),
            sa.Column("value", sa.BigInteger, nullable=False),
            comment="bookkeeping of Amayesh: the commit counter",
        )
        self.scenarios = sa.Table(
            "scenarios",
            self.metadata,
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("owner", sa.Text, nullable=False, comment="user name; sign-in will tie it to users"),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("description", sa.Text),
            sa.Column("copied_from", sa.Text),
            sa.Column("payload", JSONB, nullable=False, comment="the changes (see geo.scenarios)"),
            sa.CheckConstraint("name <> ''", name="scenarios_name_given"),
            comment="saved planning scenarios",
        )
        self.applications = sa.Table(
            "licence_applications",
            self.metadata,
            sa.Column("application_id", sa.Text, primary_key=True),
            sa.Column("applicant", sa.Text, nullable=False),
            sa.Column("service_type", sa.Text, nullable=False),
            sa.Column("capacity", sa.BigInteger, sa.CheckConstraint("capacity > 0"), nullable=False),
            sa.Column("lon", sa.Float, nullable=False),
            sa.Column("lat", sa.Float, nullable=False),
            sa.Column("county_code", sa.Text, nullable=False),
            sa.Column("province_code", sa.Text, nullable=False, index=True),
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("decided_at", sa.DateTime(timezone=True)),
            sa.Column("status", sa.Text, nullable=False),
            sa.Column("check_verdict", sa.Text),
            sa.Column("check_result", JSONB),
            sa.Column("decision_reason", sa.Text),
            sa.Column("decided_by", sa.Text),
            sa.Column("created_by", sa.Text, nullable=False),
            sa.Column("licence_no", sa.Text),
            sa.Column("synthetic", sa.Boolean, nullable=False),
            sa.Column("version", sa.BigInteger, nullable=False),
            sa.CheckConstraint(
                "status IN ('received', 'checked', 'approved', 'refused', 'withdrawn')",
                name="licence_applications_status_known",
            ),
            comment="licence applications and their decisions (row-level security by province)",
        )
        self.activities = sa.Table(
            "programme_activities",
            self.metadata,
            sa.Column("activity_id", sa.Text, primary_key=True),
            sa.Column("organisation", sa.Text, sa.CheckConstraint("organisation <> ''"), nullable=False),
            sa.Column("organisation_kind", sa.Text, nullable=False),
            sa.Column("licence_no", sa.Text),
            sa.Column("service_type", sa.Text, nullable=False),
            sa.Column("place_kind", sa.Text, nullable=False),
            sa.Column("place_code", sa.Text, nullable=False),
            sa.Column("target_code", sa.Text, index=True),
            sa.Column("county_code", sa.Text, nullable=False),
            sa.Column("province_code", sa.Text, nullable=False, index=True),
            sa.Column("start_date", sa.Date, nullable=False),
            sa.Column("end_date", sa.Date),
            sa.Column("households", sa.BigInteger, sa.CheckConstraint("households >= 0"), nullable=False),
            sa.Column("persons", sa.BigInteger, sa.CheckConstraint("persons >= 0"), nullable=False),
            sa.Column("status", sa.Text, nullable=False),
            sa.Column("notes", sa.Text),
            sa.Column("created_by", sa.Text, nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("synthetic", sa.Boolean, nullable=False),
            sa.Column("version", sa.BigInteger, nullable=False),
            sa.CheckConstraint(
                "status IN ('planned', 'ongoing', 'completed', 'suspended', 'cancelled')",
                name="programme_activities_status_known",
            ),
            sa.CheckConstraint(
                "organisation_kind IN ('ngo', 'partner', 'campaign')", name="programme_activities_kind_known"
            ),
            sa.CheckConstraint(
                "place_kind IN ('target_area', 'settlement', 'county')",
                name="programme_activities_place_known",
            ),
            sa.CheckConstraint(
                "end_date IS NULL OR end_date >= start_date", name="programme_activities_dates_in_order"
            ),
            sa.CheckConstraint(
                "organisation_kind <> 'ngo' OR licence_no IS NOT NULL",
                name="programme_activities_ngo_licence",
            ),
            comment="activities of the capacity-building programme, 3W (row-level security by province)",
        )
        try:
            with self.engine.connect() as conn:
                has_postgis = conn.execute(
                    sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
                ).scalar()
        except sa.exc.OperationalError as err:
            raise StoreError(
                f"cannot connect to PostgreSQL at {parsed.render_as_string(hide_password=True)}: "
                f"{_first_line(err.orig or err)}"
            ) from err
        if not has_postgis:
            raise StoreError("the database has no PostGIS extension; run CREATE EXTENSION postgis")

    def __repr__(self) -> str:
        return f"PostGISStore({self.url.render_as_string(hide_password=True)!r})"

    def list_layers(self) -> list[str]:
        present = set(sa.inspect(self.engine).get_table_names())
        return [name for name in LAYERS if name in present]

    def count(self, name: str) -> int:
        layer(name)
        if name not in self.list_layers():
            raise StoreError(f"layer {name!r} is not in the store")
        with self.engine.connect() as conn:
            _see(conn, None)
            return int(conn.execute(sa.select(sa.func.count()).select_from(self.tables[name])).scalar_one())

    def read_layer_in_provinces(self, name: str, provinces) -> Frame:
        """Layer ``name`` as the database shows a user of ``provinces`` (row-level security)."""
        spec = layer(name)
        if name not in self.list_layers():
            raise StoreError(f"layer {name!r} is not in the store")
        out = conform(self._read(spec, None, provinces=provinces), spec)
        return out.sort_values(spec.key.split(","), ignore_index=True)

    def _read(self, spec: Layer, bbox: tuple[float, float, float, float] | None, provinces=None) -> Frame:
        table = self.tables[spec.name]
        with self.engine.connect() as conn:
            # A table an earlier release made may lack a nullable column added since (until
            # ``amayesh db setup-roles`` upgrades it): read what it has; it reads as empty.
            have = self._columns(conn, spec)
            cols = [table.c[c.name] for c in spec.columns if c.name in have or not c.nullable]
            _see(conn, provinces)
            if spec.geometry_type is None:
                return pd.read_sql(sa.select(*cols), conn)
            query = sa.select(*cols, sa.func.ST_AsBinary(table.c.geometry).label("geometry"))
            if bbox is not None:
                envelope = sa.func.ST_MakeEnvelope(*bbox, 4326)
                query = query.where(table.c.geometry.op("&&")(envelope)).where(
                    sa.func.ST_Intersects(table.c.geometry, envelope)
                )
            frame = pd.read_sql(query, conn)
        geometry = shapely.from_wkb(frame.pop("geometry").map(bytes).to_numpy()) if len(frame) else []
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=4326)

    def _columns(self, conn: Connection, spec: Layer) -> frozenset[str]:
        """The columns the table of ``spec`` has (asked once per table and process, until a
        table lacks one of its layer's: then asked again, as an upgrade may add it)."""
        known = self._have.get(spec.name)
        if known is not None:
            return known
        have = frozenset(c["name"] for c in sa.inspect(conn).get_columns(spec.name))
        if set(spec.column_names) <= have:
            self._have[spec.name] = have
        return have

    def select_keys(
        self,
        name: str,
        where: F.Filter | None,
        sortby: tuple[tuple[str, bool], ...] = (),
        provinces=None,
    ) -> list:
        """The keys of the rows of ``name`` where ``where`` is true, in ``sortby`` order, then by key.

        The filter becomes SQL with every value a bound parameter; property names come from
        the table's own columns. Row-level security shows the rows of ``provinces`` (None: all).
        """
        spec = layer(name)
        table = self.tables[name]
        key = table.c[spec.key]
        query = sa.select(key)
        if where is not None:
            query = query.where(sql_from_filter(table, where))
        order = []
        for prop, ascending in sortby:
            column = _sortable(table.c[prop])
            order.append((column.asc() if ascending else column.desc()).nulls_last())
        query = query.order_by(*order, _sortable(key).asc())
        with self.engine.begin() as conn:
            _see(conn, provinces)
            return list(conn.execute(query).scalars())

    def version(self) -> str:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("amayesh_meta"):
                return "0"
            value = conn.execute(sa.select(self.meta.c.value).where(self.meta.c.key == "commits")).scalar()
        return str(value or 0)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.engine.begin() as conn:
            _see(conn, None)  # a writer works on every province (row-level security)
            yield _PgTransaction(conn, self)
            # Count commits, so that readers know when their cached layers are stale.
            self._bump(conn)

    def close(self) -> None:
        self.engine.dispose()

    # ---- scenarios (outside ``transaction()``: saving one is not a layer commit) ---------------

    @staticmethod
    def _scenario_dict(row) -> dict:
        out = dict(row._mapping)
        created = out["created_at"]
        out["created_at"] = created.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {f: out.get(f) for f in SCENARIO_FIELDS}

    def save_scenario(self, scenario: dict) -> None:
        values = {f: scenario.get(f) for f in SCENARIO_FIELDS}
        values["created_at"] = datetime.datetime.fromisoformat(
            str(values["created_at"]).replace("Z", "+00:00")
        )
        with self.engine.begin() as conn:
            self.scenarios.create(conn, checkfirst=True)
            try:
                conn.execute(sa.insert(self.scenarios).values(**values))
            except sa.exc.IntegrityError as err:
                raise AlreadyExists(f"a scenario with id {scenario.get('id')!r} exists already") from err

    def _has_scenarios(self, conn) -> bool:
        return sa.inspect(conn).has_table("scenarios")

    def scenario(self, scenario_id: str) -> dict:
        with self.engine.connect() as conn:
            row = None
            if self._has_scenarios(conn):
                row = conn.execute(
                    sa.select(self.scenarios).where(self.scenarios.c.id == scenario_id)
                ).first()
        if row is None:
            raise ScenarioNotFound(f"no scenario {scenario_id!r}")
        return self._scenario_dict(row)

    def list_scenarios(self, owner: str | None = None) -> list[dict]:
        with self.engine.connect() as conn:
            if not self._has_scenarios(conn):
                return []
            query = sa.select(self.scenarios).order_by(
                self.scenarios.c.created_at.desc(), self.scenarios.c.id
            )
            if owner is not None:
                query = query.where(self.scenarios.c.owner == owner)
            return [self._scenario_dict(r) for r in conn.execute(query)]

    def delete_scenario(self, scenario_id: str) -> None:
        with self.engine.begin() as conn:
            gone = 0
            if self._has_scenarios(conn):
                gone = conn.execute(
                    sa.delete(self.scenarios).where(self.scenarios.c.id == scenario_id)
                ).rowcount
        if not gone:
            raise ScenarioNotFound(f"no scenario {scenario_id!r}")

    # ---- licence applications (row-level security by province, as the layers) ----------------

    def _ensure_applications(self, conn: Connection) -> None:
        if not sa.inspect(conn).has_table("licence_applications"):
            self.applications.create(conn)
            for sql in policy_sql("licence_applications"):
                conn.exec_driver_sql(sql)

    @staticmethod
    def _to_row(values: dict) -> dict:
        out = encode_application(values)
        out["check_result"] = None if out["check_result"] is None else json.loads(out["check_result"])
        for f in ("received_at", "decided_at"):
            if out[f] is not None:
                out[f] = datetime.datetime.fromisoformat(str(out[f]).replace("Z", "+00:00"))
        return out

    @staticmethod
    def _from_row(row) -> dict:
        out = dict(row._mapping)
        for f in ("received_at", "decided_at"):
            if out[f] is not None:
                out[f] = out[f].astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return decode_application(out)

    def add_applications(self, rows: list[dict]) -> None:
        if not rows:
            return
        with self.engine.begin() as conn:
            self._ensure_applications(conn)
            _see(conn, None)
            try:
                conn.execute(sa.insert(self.applications), [self._to_row(r) for r in rows])
            except sa.exc.IntegrityError as err:
                raise AlreadyExists(
                    f"an application with one of these ids exists already ({_first_line(err.orig or err)})"
                ) from err

    def _select_applications(self, conn: Connection, provinces, application_id: str | None = None):
        if not sa.inspect(conn).has_table("licence_applications"):
            return []
        _see(conn, provinces)  # row-level security: only the caller's provinces
        t = self.applications
        query = sa.select(t).order_by(t.c.received_at.desc(), t.c.application_id)
        if provinces is not None:
            # The same in the query: a connection that bypasses row-level security (a superuser,
            # a role with BYPASSRLS) still sees only the caller's provinces.
            query = query.where(t.c.province_code.in_(sorted(provinces)))
        if application_id is not None:
            query = query.where(t.c.application_id == application_id)
        return [self._from_row(r) for r in conn.execute(query)]

    def _reading_applications(self) -> AbstractContextManager[Connection]:
        return self.engine.begin()

    @contextmanager
    def _writing_application(self, licence: gpd.GeoDataFrame | None) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn
            if licence is not None:
                self._insert_rows(conn, "ngos", licence)
                self._bump(conn)

    def _set_application(self, conn: Connection, row: dict, version: int) -> bool:
        t = self.applications
        values = {k: v for k, v in self._to_row(row).items() if k != "application_id"}
        done = conn.execute(
            sa.update(t)
            .where(t.c.application_id == row["application_id"], t.c.version == version)
            .values(**values)
        ).rowcount
        return bool(done)

    # ---- programme activities (row-level security by province, as the applications) ---------

    def _ensure_activities(self, conn: Connection) -> None:
        if not sa.inspect(conn).has_table("programme_activities"):
            self.activities.create(conn)
            for sql in policy_sql("programme_activities"):
                conn.exec_driver_sql(sql)

    @staticmethod
    def _activity_row(values: dict) -> dict:
        out = encode_activity(values)
        for f in ("start_date", "end_date"):
            if out[f] is not None:
                out[f] = datetime.date.fromisoformat(out[f])
        out["updated_at"] = datetime.datetime.fromisoformat(str(out["updated_at"]).replace("Z", "+00:00"))
        return out

    @staticmethod
    def _activity_from_row(row) -> dict:
        out = dict(row._mapping)
        for f in ("start_date", "end_date"):
            if out[f] is not None:
                out[f] = out[f].isoformat()
        out["updated_at"] = out["updated_at"].astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return decode_activity(out)

    def add_activities(self, rows: list[dict]) -> None:
        if not rows:
            return
        with self.engine.begin() as conn:
            self._ensure_activities(conn)
            _see(conn, None)
            try:
                conn.execute(sa.insert(self.activities), [self._activity_row(r) for r in rows])
            except sa.exc.IntegrityError as err:
                if "unique" in str(err.orig or err).lower() or "duplicate" in str(err.orig or err).lower():
                    raise AlreadyExists(
                        f"an activity with one of these ids exists already ({_first_line(err.orig or err)})"
                    ) from err
                raise SchemaError(
                    f"an activity breaks a rule of the register ({_first_line(err.orig or err)})"
                ) from err

    def _activities_where(self, query, provinces, activity_id: str | None):
        t = self.activities
        if provinces is not None:
            # As for the applications: the query holds the provinces too, whatever the role's rights.
            query = query.where(t.c.province_code.in_(sorted(provinces)))
        if activity_id is not None:
            query = query.where(t.c.activity_id == activity_id)
        return query

    def _select_activities(self, provinces, activity_id: str | None = None) -> list[dict]:
        with self.engine.begin() as conn:
            if not sa.inspect(conn).has_table("programme_activities"):
                return []
            _see(conn, provinces)
            t = self.activities
            query = self._activities_where(
                sa.select(t).order_by(t.c.start_date.desc(), t.c.activity_id), provinces, activity_id
            )
            return [self._activity_from_row(r) for r in conn.execute(query)]

    def _set_activity(self, row: dict, version: int, provinces) -> bool:
        t = self.activities
        values = {k: v for k, v in self._activity_row(row).items() if k != "activity_id"}
        with self.engine.begin() as conn:
            _see(conn, provinces)
            query = self._activities_where(sa.update(t), provinces, row["activity_id"])
            try:
                return bool(conn.execute(query.where(t.c.version == version).values(**values)).rowcount)
            except sa.exc.IntegrityError as err:
                raise SchemaError(
                    f"the activity breaks a rule of the register ({_first_line(err.orig or err)})"
                ) from err

    def _delete_activity(self, activity_id: str, version: int, provinces) -> bool:
        t = self.activities
        with self.engine.begin() as conn:
            _see(conn, provinces)
            query = self._activities_where(sa.delete(t), provinces, activity_id)
            return bool(conn.execute(query.where(t.c.version == version)).rowcount)

    def _insert_rows(self, conn: Connection, name: str, frame: Frame) -> None:
        """A few rows by INSERT (COPY is refused on tables under row-level security); a layer
        without geometry (evaluations) has none to convert."""
        from geoalchemy2.shape import from_shape

        spec = layer(name)
        out = validate_frame(name, frame)
        rows = []
        for i in range(len(out)):
            row = {}
            for col in spec.columns:
                value = out[col.name].iloc[i]
                if pd.isna(value):
                    value = None
                elif col.dtype == "date":
                    value = pd.Timestamp(value).date()
                elif hasattr(value, "item"):
                    value = value.item()
                row[col.name] = value
            if spec.geometry_type:
                row["geometry"] = from_shape(out.geometry.iloc[i], srid=4326)
            rows.append(row)
        try:
            conn.execute(sa.insert(self.tables[name]), rows)
        except sa.exc.IntegrityError as err:
            raise AlreadyExists(f"{name}: {_first_line(err.orig or err)}") from err

    def _bump(self, conn: Connection) -> None:
        self.meta.create(conn, checkfirst=True)
        bumped = conn.execute(
            sa.update(self.meta).where(self.meta.c.key == "commits").values(value=self.meta.c.value + 1)
        ).rowcount
        if not bumped:
            conn.execute(sa.insert(self.meta).values(key="commits", value=1))

    def drop_all(self) -> None:
        """Drop every layer table (tests and resets)."""
        with self.engine.begin() as conn:
            self.metadata.drop_all(conn, checkfirst=True)


def _sortable(column: sa.ColumnElement) -> sa.ColumnElement:
    # Text compares by code point, as Python does, whatever the database's collation.
    return column.collate("C") if isinstance(column.type, sa.Text) else column


def _operand(table: sa.Table, operand: F.Operand) -> sa.ColumnElement:
    if isinstance(operand, F.Prop):
        column = _sortable(table.c[operand.name])
        return sa.func.lower(table.c[operand.name]) if operand.casei else column
    value = operand.value.lower() if operand.casei and isinstance(operand.value, str) else operand.value
    return sa.literal(value)


def sql_from_filter(table: sa.Table, node: F.Filter) -> sa.ColumnElement[bool]:
    """A ``geo.filtering`` tree as a SQLAlchemy condition on ``table``; every value is bound."""
    if isinstance(node, F.And):
        return sa.and_(*(sql_from_filter(table, p) for p in node.parts))
    if isinstance(node, F.Or):
        return sa.or_(*(sql_from_filter(table, p) for p in node.parts))
    if isinstance(node, F.Not):
        return sa.not_(sql_from_filter(table, node.part))
    if isinstance(node, F.Compare):
        left, right = _operand(table, node.left), _operand(table, node.right)
        return {
            "=": left == right,
            "<>": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[node.op]
    if isinstance(node, F.Between):
        column = _operand(table, node.prop)
        out = column.between(_operand(table, node.low), _operand(table, node.high))
        return sa.not_(out) if node.negate else out
    if isinstance(node, F.Like):
        column = _operand(table, node.prop)
        pattern = node.pattern.lower() if node.prop.casei else node.pattern
        out = column.like(sa.literal(pattern), escape="\\")
        return sa.not_(out) if node.negate else out
    if isinstance(node, F.In):
        column = _operand(table, node.prop)
        out = column.in_([_operand(table, v) for v in node.values])
        return sa.not_(out) if node.negate else out
    if isinstance(node, F.IsNull):
        column = table.c[node.prop.name]
        return column.is_not(None) if node.negate else column.is_(None)
    if isinstance(node, F.Spatial):
        literal = sa.func.ST_GeomFromWKB(sa.literal(shapely.to_wkb(node.geometry), sa.LargeBinary), 4326)
        function = getattr(sa.func, f"ST_{node.op.capitalize()}")
        return function(table.c.geometry, literal)
    raise TypeError(f"not a filter node: {node!r}")  # pragma: no cover - the edge builds the tree

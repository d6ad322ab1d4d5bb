#!/usr/bin/env bash
# Start a throw-away PostgreSQL + PostGIS cluster on 127.0.0.1 for the PostGIS store tests, and
# print the database URL to use (AMAYESH_TEST_DATABASE_URL). Needs Debian's postgresql and
# postgresql-*-postgis-3 packages; run as root (the server itself runs as user postgres).
set -euo pipefail
PORT="${PGPORT:-55432}"
DIR="${PGDATA_DIR:-/tmp/amayesh-pg-$PORT}"
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

if ! runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
    rm -rf "$DIR"
    mkdir -p "$DIR"
    chown postgres:postgres "$DIR"
    runuser -u postgres -- "$BIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR -c fsync=off" start >/dev/null
fi
runuser -u postgres -- psql -h 127.0.0.1 -p "$PORT" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='amayesh_test'" | grep -q 1 \
    || runuser -u postgres -- createdb -h 127.0.0.1 -p "$PORT" -U postgres amayesh_test
runuser -u postgres -- psql -h 127.0.0.1 -p "$PORT" -U postgres -d amayesh_test -qc \
    "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
echo "postgresql://postgres@127.0.0.1:$PORT/amayesh_test"

#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL cluster: initdb in a temporary folder, a free port on 127.0.0.1,
# owned by the `postgres` user when run as root (PostgreSQL refuses to run as root). The command sees the cluster
# as $SHELFTAG_TEST_POSTGRES_URL; the cluster is stopped and removed whatever the command's outcome.
#   Tests/with-postgres.sh swift test --skip-build
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "with-postgres: PostgreSQL's server programs are missing (apt-get install postgresql)" >&2
    exit 2
fi

folder=$(mktemp -d /tmp/shelftag-postgres.XXXXXX)
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then chown postgres "$folder"; fi

stop() {
    as_owner "$bin/pg_ctl" -D "$folder/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$folder"
}
trap stop EXIT

# A free port: the kernel picks one for a socket we close at once.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

as_owner "$bin/initdb" -D "$folder/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$folder/initdb.log" 2>&1 \
    || { cat "$folder/initdb.log" >&2; exit 2; }
# Durability off: the cluster lives for one test run. Enough connections for parallel tests and two resolvers each.
as_owner "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 30 start \
    -o "-p $port -k $folder -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    >/dev/null || { cat "$folder/server.log" >&2; exit 2; }

export SHELFTAG_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable"
export SHELFTAG_TEST_POSTGRES_BIN="$bin"
export SHELFTAG_TEST_POSTGRES_DATA="$folder/data"
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"

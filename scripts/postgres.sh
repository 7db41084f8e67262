#!/usr/bin/env bash
# Install PostgreSQL from Debian's packages if needed, start a private server on 127.0.0.1
# for the API tests, and print its SQLAlchemy URL. Idempotent: a running server is reused.
#   MATCHER_PG_PORT (default 54329), MATCHER_PG_DATA (default /tmp/matcher-pg)
set -euo pipefail
port=${MATCHER_PG_PORT:-54329}
data=${MATCHER_PG_DATA:-/tmp/matcher-pg}

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  echo "installing postgresql from Debian's packages" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

# PostgreSQL refuses to run as root; use the postgres user Debian's package created.
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ ! -f "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres "$data"
  # trust on loopback only: a throwaway server for tests, never reachable from outside
  as_owner "$bin/initdb" -D "$data" -U matcher -A trust --encoding=UTF8 --locale=C.UTF-8 >&2
fi
if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off" start >&2
fi
echo "postgresql+psycopg://matcher@127.0.0.1:$port/postgres"

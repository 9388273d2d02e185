#!/usr/bin/env bash
# Make a local PostgreSQL available for the test suite and print its URL.
# Installs Debian's package when missing (needs root); prints nothing when it cannot.
set -euo pipefail

have_server() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null; }

if ! have_server; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL (Debian package)..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  else
    echo "PostgreSQL is not installed and this user cannot install it; SQLite only" >&2
    exit 0
  fi
fi

cluster=$(pg_lsclusters -h 2>/dev/null | head -n 1 || true)
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_createcluster "$version" main >&2
  cluster=$(pg_lsclusters -h | head -n 1)
fi
read -r version name port status _rest <<<"$cluster"
if [ "$status" != "online" ]; then
  pg_ctlcluster "$version" "$name" start >&2
fi
for _ in $(seq 1 30); do
  if su postgres -c "psql -p $port -Atqc 'select 1'" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
su postgres -c "psql -p $port -qc \"ALTER USER postgres PASSWORD 'korttid-test'\"" >/dev/null
echo "postgresql+asyncpg://postgres:korttid-test@127.0.0.1:$port/postgres"

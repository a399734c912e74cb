#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with trust auth for user postgres:
# starts the cluster if it is stopped, installs Debian's package if it is missing.
set -euo pipefail

ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if command -v pg_isready >/dev/null && ready; then
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  echo "ensure-postgres: installing PostgreSQL from Debian's packages" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

ver=$(ls /etc/postgresql | sort -V | tail -n 1)
hba="/etc/postgresql/$ver/main/pg_hba.conf"
# Trust local TCP connections (test machines only; this script is for CI and development).
if ! grep -Eq '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
  $SUDO sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  grep -Eq '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba" \
    || echo "host all all 127.0.0.1/32 trust" | $SUDO tee -a "$hba" >/dev/null
fi
conf="/etc/postgresql/$ver/main/postgresql.conf"
grep -Eq "^listen_addresses" "$conf" || echo "listen_addresses = '127.0.0.1'" | $SUDO tee -a "$conf" >/dev/null

$SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null \
  || $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main reload 2>/dev/null || true

for _ in $(seq 1 60); do
  if ready; then
    echo "ensure-postgres: PostgreSQL $ver is ready on 127.0.0.1:5432" >&2
    exit 0
  fi
  sleep 1
done
echo "ensure-postgres: PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 1

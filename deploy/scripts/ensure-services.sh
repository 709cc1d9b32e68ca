#!/usr/bin/env bash
# Idempotently make sure the servers the test suite needs are installed and running on this machine
# (loopback only). Safe to run repeatedly; on a fresh Debian machine it installs what is missing.
#   PostgreSQL 127.0.0.1:5432 (trust auth, database `test`)   NATS + JetStream 127.0.0.1:4222
# ClickHouse and S3 join this script with the projector / results-gateway issues.
set -euo pipefail
log() { echo "[ensure-services] $*" >&2; }
need_apt=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
command -v nats-server >/dev/null 2>&1 || need_apt+=(nats-server)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null
fi

# PostgreSQL
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  log "starting PostgreSQL $ver"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { log "PostgreSQL is not reachable on 127.0.0.1:5432"; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d test -qAtc 'select 1' >/dev/null 2>&1; then
  log "creating database test"
  su postgres -c "psql -qc 'CREATE DATABASE test'" >/dev/null 2>&1 || psql -h 127.0.0.1 -U postgres -qc 'CREATE DATABASE test' || true
fi

# NATS with JetStream
if ! (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then
  log "starting nats-server with JetStream"
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null && break; sleep 0.5; done
fi
(exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null || { log "NATS is not reachable on 127.0.0.1:4222"; exit 1; }
log "PostgreSQL and NATS are up"

#!/usr/bin/env bash
# Runs every test of the workspace. Tests that need PostgreSQL use SESSIONS_TEST_PG_URL
# (default postgres://postgres@127.0.0.1:5432/postgres) and fail when it is unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
bash scripts/ensure-browser.sh
export SESSIONS_TEST_PG_URL="${SESSIONS_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cargo test --workspace --locked
# The server's HTTP tests again, unchanged, on PostgreSQL (a fresh database per server).
SESSIONS_TEST_BACKEND=postgres cargo test -p sessions-server --test it --locked
# Fuzz targets (fuzz/: argument parsing, cursor decoding), 30 s each.
bash scripts/fuzz.sh
# Schema-driven fuzzing (schemathesis) of a real server against its /openapi.json: no 5xx, no
# answer outside the schema.
bash scripts/schemathesis.sh
# The official SDKs (Python slack_sdk sync/async, Node @slack/web-api) against a real server.
bash compat/run.sh
# The web console in a real browser (Debian's Chromium via playwright-core, axe-core).
bash crates/sessions-console/browser/run.sh

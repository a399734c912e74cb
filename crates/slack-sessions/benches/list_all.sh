#!/bin/sh
# `list --all --format ndjson` and the org scan over N sessions (default 1,000,000) on our server,
# against Python slack_sdk paging the same org, measured in one run.
# Usage: crates/slack-sessions/benches/list_all.sh [N]
# Prints the bare-HTTP baseline, the CLI's sessions/s and peak RSS, the org scan's sessions/s and
# CPU per session, slack_sdk's CPU per session and the ratio. slack_sdk (compat/'s pinned version)
# is installed into a venv under the target dir. LIST_ALL_DATA_DIR=DIR keeps the seeded database
# in DIR for the next run (one DIR per N).
set -e
cd "$(dirname "$0")/../../.."
dir="${CARGO_TARGET_DIR:-target}"
venv="$dir/bench-py"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import slack_sdk' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r compat/python/requirements.txt
fi
cargo build --locked --release -p slack-sessions --bin slack-sessions --example list_all_bench
BENCH_PYTHON="$venv/bin/python" exec "$dir/release/examples/list_all_bench" "${1:-1000000}"

#!/bin/sh
# `list --all --format ndjson` over N sessions (default 1,000,000) on our server.
# Usage: crates/slack-sessions/benches/list_all.sh [N]
# Prints the bare-HTTP baseline and the CLI's sessions/s and peak RSS, measured in one run.
set -e
cd "$(dirname "$0")/../../.."
cargo build --release -p slack-sessions --bin slack-sessions --example list_all_bench
dir="${CARGO_TARGET_DIR:-target}"
exec "$dir/release/examples/list_all_bench" "${1:-1000000}"

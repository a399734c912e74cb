#!/usr/bin/env bash
# Official SDK compatibility suite: starts `slack-sessions serve` with compat/fixture.json and drives
# it with Python slack_sdk (sync and async clients) and Node @slack/web-api, installed from the
# registries at pinned versions. Each SDK also makes one call that is rate limited (a tiny limit set
# through the emulator control API) and retried by the SDK's own 429 handling.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -q -p slack-sessions
BIN="${CARGO_TARGET_DIR:-target}/debug/slack-sessions"

python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -r compat/python/requirements.txt
(cd compat/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
"$BIN" serve --listen "127.0.0.1:$port" --data-dir "$dir" --fixtures compat/fixture.json \
  --control-token compat-control-token >"$dir/server.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/control/health" -H "Authorization: Bearer compat-control-token" >/dev/null 2>&1 && break
  sleep 0.1
done

export SLACK_API_URL="http://127.0.0.1:$port/api/"
export CONTROL_URL="http://127.0.0.1:$port/control"
export CONTROL_TOKEN=compat-control-token
export FIXTURE=compat/fixture.json
status=0
python3 compat/python/test_sdk.py || status=1
node compat/node/test.mjs || status=1
if [ "$status" -ne 0 ]; then
  echo "--- server log"; tail -n 50 "$dir/server.log"
fi
exit "$status"

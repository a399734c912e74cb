#!/usr/bin/env bash
# Browser tests of the web console (see test.mjs): builds the binary, installs the pinned npm
# packages (playwright-core, axe-core) with `npm ci`, and runs them in Debian's Chromium, which
# scripts/ensure-browser.sh installs. UPDATE_SCREENSHOTS=1 refreshes docs/console/*.png.
set -euo pipefail
cd "$(dirname "$0")"
(cd ../../.. && cargo build --locked -q -p slack-sessions)
npm ci --no-audit --no-fund --loglevel=error >/dev/null
export SLACK_SESSIONS_BIN="${SLACK_SESSIONS_BIN:-$(cd ../../.. && pwd)/${CARGO_TARGET_DIR:-target}/debug/slack-sessions}"
node --test --test-concurrency=1 test.mjs

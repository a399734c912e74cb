#!/usr/bin/env bash
# Makes sure Debian's Chromium (and its driver) is installed for the console's browser tests:
# installs the packages chromium and chromium-driver when /usr/bin/chromium is missing. Browsers
# downloaded by test tools (`npx playwright install`) are never used.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "ensure-browser: installing Debian's chromium and chromium-driver" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
/usr/bin/chromium --version >&2

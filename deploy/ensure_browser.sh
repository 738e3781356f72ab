#!/usr/bin/env bash
# Make sure the headless browser the console's tests drive is installed: Debian's chromium,
# its chromium-driver (tests/e2e/test_console.py) and a Chinese font, so the screenshots show
# the console's text rather than empty boxes. Browser builds cannot be downloaded
# at run time here, so the distribution's packages are the browser.
#
#   bash deploy/ensure_browser.sh
#
# Idempotent: when both commands are there it prints one line and changes nothing. Needs
# root (or sudo) only when something is missing.
set -u

present() {
    command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 &&
        fc-list :lang=zh 2>/dev/null | grep -q .
}

if present; then
    echo "browser: chromium, chromedriver and a Chinese font present"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "browser: chromium, chromedriver or a Chinese font missing and no apt-get here; install Chromium and its driver" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
echo "browser: installing chromium, chromium-driver and fonts-wqy-microhei"
export DEBIAN_FRONTEND=noninteractive
# a fresh machine's package lists may be empty or stale: update once, then install
if ! $SUDO apt-get install -y --no-install-recommends chromium chromium-driver fonts-wqy-microhei >/dev/null 2>&1; then
    $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y --no-install-recommends chromium chromium-driver fonts-wqy-microhei >/dev/null
fi
if present; then
    echo "browser: installed $(chromium --version 2>/dev/null)"
    exit 0
fi
echo "browser: could not install chromium and chromium-driver (apt-get install -y chromium chromium-driver fonts-wqy-microhei)" >&2
exit 1

#!/usr/bin/env bash
# Make sure Debian's PgBouncer is installed: tests/integration/test_pgbouncer.py runs the money
# path through a PgBouncer in transaction mode (the pooler CloudNativePG's Pooler runs in
# production), started by the test itself on a free port with its own configuration.
#
#   bash deploy/ensure_pgbouncer.sh
#
# Idempotent: when the program is there it prints one line and changes nothing. Needs root
# (or sudo) only when it is missing. Debian's package also enables a system service on port
# 6432; it is stopped and disabled here, since nothing of ours uses it.
set -u

binary() {
    command -v pgbouncer 2>/dev/null || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; }
}

if [ -n "$(binary)" ]; then
    echo "pgbouncer: $("$(binary)" --version 2>/dev/null | head -1) present"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "pgbouncer: missing and no apt-get here; install PgBouncer (Debian: apt-get install -y pgbouncer)" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
echo "pgbouncer: installing Debian's pgbouncer"
export DEBIAN_FRONTEND=noninteractive
# a fresh machine's package lists may be empty or stale: update once, then install
if ! $SUDO apt-get install -y --no-install-recommends pgbouncer >/dev/null 2>&1; then
    $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y --no-install-recommends pgbouncer >/dev/null
fi
# the package's own instance (port 6432, /etc/pgbouncer) is not ours to run
$SUDO systemctl disable --now pgbouncer >/dev/null 2>&1 || $SUDO service pgbouncer stop >/dev/null 2>&1 || true
if [ -n "$(binary)" ]; then
    echo "pgbouncer: installed $("$(binary)" --version 2>/dev/null | head -1)"
    exit 0
fi
echo "pgbouncer: could not install it (apt-get install -y pgbouncer)" >&2
exit 1

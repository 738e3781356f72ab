#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ answer before anything of Huiyuan starts.
#
#   bash deploy/ensure_servers.sh
#
# For each server: if its port answers, say so and move on. Otherwise, if it is
# installed locally, start it and wait (up to HUIYUAN_SERVER_WAIT seconds, 60 by
# default) until it accepts connections. If it is not installed, say what to
# install and exit 1. A server on another host is only checked, never started:
# we cannot start what is not ours.
#
# Idempotent: running it again when everything is up prints one line per
# server and changes nothing.
#
# Overrides: HUIYUAN_DB_HOST, HUIYUAN_DB_PORT (PostgreSQL), HUIYUAN_AMQP_HOST,
# HUIYUAN_AMQP_PORT (RabbitMQ), HUIYUAN_SERVER_WAIT.
set -u

DB_HOST="${HUIYUAN_DB_HOST:-127.0.0.1}"
DB_PORT="${HUIYUAN_DB_PORT:-5432}"
AMQP_HOST="${HUIYUAN_AMQP_HOST:-127.0.0.1}"
AMQP_PORT="${HUIYUAN_AMQP_PORT:-5672}"
WAIT="${HUIYUAN_SERVER_WAIT:-60}"

INSTALL_HINT="install them with:  apt-get install -y postgresql rabbitmq-server
or run them in containers:  docker compose up -d postgres rabbitmq
  (from the repo root; compose needs the keys: python deploy/ensure_env.py, then
   docker compose --env-file var/huiyuan.env up -d postgres rabbitmq)"

# True when something accepts TCP connections on host:port (bash's /dev/tcp, so
# no netcat is needed). The subshell keeps the descriptor from leaking.
port_open() {
    local host=$1 port=$2
    if command -v timeout >/dev/null 2>&1; then
        timeout 3 bash -c "exec 3<>/dev/tcp/${host}/${port}" 2>/dev/null
    else
        (exec 3<>"/dev/tcp/${host}/${port}") 2>/dev/null
    fi
}

is_local() {
    case "$1" in
        127.*|localhost|::1|"$(hostname 2>/dev/null)") return 0 ;;
        *) return 1 ;;
    esac
}

# Run a command as the postgres user when we are root (pg_ctlcluster refuses to
# start a cluster as root only on some versions; as its owner it always works).
as_postgres() {
    if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_ready() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$DB_HOST" -p "$DB_PORT"
    else
        port_open "$DB_HOST" "$DB_PORT"
    fi
}

# Wait until "$@" succeeds, at most $WAIT seconds.
wait_for() {
    local deadline=$((SECONDS + WAIT))
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            return 1
        fi
        sleep 1
    done
}

ensure_postgresql() {
    if pg_ready; then
        echo "postgresql: up ($DB_HOST:$DB_PORT)"
        return 0
    fi
    if ! is_local "$DB_HOST"; then
        echo "postgresql: not answering on $DB_HOST:$DB_PORT (a remote host: not starting it)" >&2
        return 1
    fi
    if ! command -v pg_lsclusters >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1; then
        echo "postgresql: not installed; $INSTALL_HINT" >&2
        return 1
    fi
    # Pick the cluster configured for our port (pg_lsclusters -h prints
    # "version name port status ..."), so the version is never hardcoded.
    local cluster version name
    cluster=$(pg_lsclusters -h 2>/dev/null | awk -v p="$DB_PORT" '$3 == p {print $1, $2; exit}')
    if [ -z "$cluster" ]; then
        echo "postgresql: installed but no cluster listens on port $DB_PORT (see pg_lsclusters);" \
            "create one with: pg_createcluster --start --port $DB_PORT <version> main" >&2
        return 1
    fi
    read -r version name <<<"$cluster"
    echo "postgresql: starting cluster $version/$name"
    if ! pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start >/dev/null 2>&1; then
        as_postgres pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start || true
    fi
    if wait_for pg_ready; then
        echo "postgresql: up ($DB_HOST:$DB_PORT)"
        return 0
    fi
    echo "postgresql: did not answer on $DB_HOST:$DB_PORT within ${WAIT}s; see /var/log/postgresql/" >&2
    return 1
}

amqp_open() { port_open "$AMQP_HOST" "$AMQP_PORT"; }

ensure_rabbitmq() {
    if amqp_open; then
        echo "rabbitmq: up ($AMQP_HOST:$AMQP_PORT)"
        return 0
    fi
    if ! is_local "$AMQP_HOST"; then
        echo "rabbitmq: not answering on $AMQP_HOST:$AMQP_PORT (a remote host: not starting it)" >&2
        return 1
    fi
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        echo "rabbitmq: not installed; $INSTALL_HINT" >&2
        return 1
    fi
    echo "rabbitmq: starting"
    # -detached returns at once; a node that is already booting just complains.
    rabbitmq-server -detached >/dev/null 2>&1 || true
    if ! wait_for amqp_open; then
        echo "rabbitmq: did not answer on $AMQP_HOST:$AMQP_PORT within ${WAIT}s; see /var/log/rabbitmq/" >&2
        return 1
    fi
    # The port opens before every plugin and vhost is ready; await_startup
    # returns once the node is fully booted.
    if command -v rabbitmqctl >/dev/null 2>&1; then
        rabbitmqctl -q await_startup --timeout "$WAIT" >/dev/null 2>&1 || true
    fi
    echo "rabbitmq: up ($AMQP_HOST:$AMQP_PORT)"
}

status=0
ensure_postgresql || status=1
ensure_rabbitmq || status=1
exit "$status"

#!/usr/bin/env bash
# Ensure what LabBook needs on this machine. Idempotent; safe to run again and again.
#
#   scripts/ensure_services.sh [STEP...]
#
# Steps (default: packages mariadb redis):
#   packages  Debian packages to build the venv and draw graphs: python3-venv, python3-dev
#             (only when this python3 lacks them), build-essential, pkg-config,
#             libmariadb-dev, graphviz.
#   mariadb   Use the MariaDB/MySQL server at DJ_HOST (default 127.0.0.1:3306) with
#             DJ_USER/DJ_PASS if it answers; otherwise, if DJ_HOST is loopback, start a private
#             MariaDB in ./var/mysql on that port. Then create the Django database named in
#             DATABASE_URL (default: "labbook" on the DJ_HOST server) if absent.
#   redis     Use the Redis at REDIS_URL (default redis://127.0.0.1:6379/0) if it answers PING;
#             otherwise, if loopback, start a private redis-server with data in ./var/redis.
#   browser   Debian's chromium (for the browser tests).
#   compose   docker-compose (to validate docker-compose.yml in CI).
#
# Packages are installed with apt-get only when missing ('apt-get update' runs once, and only
# if something must be installed). Servers that already answer are used, never restarted.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
VAR="$ROOT/var"
export DEBIAN_FRONTEND=noninteractive

log() { printf '%s\n' "$*"; }
die() { printf 'ensure_services: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------
# apt helpers
# ---------------------------------------------------------------------------------------
APT_UPDATED=0
POLICY_RC_CREATED=0

cleanup() {
    if [ "$POLICY_RC_CREATED" = 1 ]; then
        rm -f /usr/sbin/policy-rc.d
    fi
}
trap cleanup EXIT

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (run as root, or install the packages yourself)"
    fi
}

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# apt_install [--no-autostart] PACKAGE...: install the packages that are missing.
# --no-autostart keeps Debian's maintainer scripts from starting system services (we start
# private instances ourselves, so a fresh machine does not get a root-only system server).
apt_install() {
    local no_autostart=0
    if [ "${1:-}" = "--no-autostart" ]; then
        no_autostart=1
        shift
    fi
    local missing=() pkg
    for pkg in "$@"; do
        pkg_installed "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get on this machine"
    log "apt: installing ${missing[*]}"
    if [ "$APT_UPDATED" = 0 ]; then
        as_root apt-get update -qq || die "apt-get update failed"
        APT_UPDATED=1
    fi
    if [ "$no_autostart" = 1 ] && [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
    if [ "$POLICY_RC_CREATED" = 1 ]; then
        rm -f /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=0
    fi
}

# ---------------------------------------------------------------------------------------
# small parsers (python3 is always present: the project needs it)
# ---------------------------------------------------------------------------------------

# parse_host_port VALUE DEFAULT_PORT -> prints "host port" (IPv6 without brackets). The one
# host:port parser of the project (stdlib only, so it runs before the venv exists); on bad
# input it prints why on stderr and fails (status 2).
parse_host_port() {
    python3 -I "$ROOT/pipeline_core/datamodel/hostport.py" "$1" "$2"
}

# url_host HOST -> HOST as written in a URL (IPv6 addresses in brackets)
url_host() {
    case "$1" in
        *:*) printf '[%s]' "$1" ;;
        *) printf '%s' "$1" ;;
    esac
}

# parse_url URL -> prints scheme, host, port, user, password, path (decoded), separated by the
# ASCII unit separator (not IFS whitespace, so empty fields survive 'read')
parse_url() {
    python3 - "$1" <<'PY'
import sys
from urllib.parse import unquote, urlsplit
u = urlsplit(sys.argv[1])
try:
    port = u.port or ""
except ValueError:
    sys.exit(f"ensure_services: ERROR: bad port in URL {sys.argv[1]!r}")
fields = [u.scheme, u.hostname or "", str(port), unquote(u.username or ""),
          unquote(u.password or ""), unquote(u.path.lstrip("/"))]
if any("\x1f" in f or "\n" in f for f in fields):
    sys.exit("ensure_services: ERROR: URL parts must not contain control characters")
print("\x1f".join(fields))
PY
}

# sql_str VALUE -> a single-quoted SQL string literal
sql_str() {
    python3 - "$1" <<'PY'
import sys
print("'" + sys.argv[1].replace("\\", "\\\\").replace("'", "''") + "'")
PY
}

is_loopback() {
    case "$1" in
        localhost | 127.* | ::1 | "[::1]") return 0 ;;
        *) return 1 ;;
    esac
}

# bind address for a private server on loopback host $1
bind_address() {
    case "$1" in
        ::1 | "[::1]") printf '::1' ;;
        localhost) printf '127.0.0.1' ;;
        *) printf '%s' "$1" ;;
    esac
}

# tcp_greets HOST PORT: true if something accepts a TCP connection and sends a greeting
# (MySQL servers speak first). Needs no client package.
tcp_greets() {
    python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as s:
        s.settimeout(3)
        sys.exit(0 if s.recv(1) else 1)
except OSError:
    sys.exit(1)
PY
}

# ---------------------------------------------------------------------------------------
# steps
# ---------------------------------------------------------------------------------------

step_packages() {
    local pkgs=(build-essential pkg-config libmariadb-dev graphviz)
    command -v python3 >/dev/null 2>&1 || die "python3 is required"
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        pkgs+=(python3-venv)
    fi
    if ! python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' >/dev/null 2>&1; then
        pkgs+=(python3-dev)
    fi
    apt_install "${pkgs[@]}"
    command -v dot >/dev/null 2>&1 || die "graphviz 'dot' is still missing after installing graphviz"
    log "Build packages and Graphviz: ok ($(command -v dot))"
}

# mysql_q HOST PORT USER PASS SQL -> runs SQL over TCP, prints tab-separated rows
mysql_q() {
    local host="$1" port="$2" user="$3" pass="$4" sql="$5"
    MYSQL_PWD="$pass" mariadb --no-defaults --protocol=TCP --connect-timeout=5 \
        -h "$host" -P "$port" -u "$user" -N -B -e "$sql"
}

ensure_mariadb_client() {
    command -v mariadb >/dev/null 2>&1 || apt_install mariadb-client
}

# Start (initialising it if needed) a private MariaDB in ./var/mysql on HOST:PORT.
start_private_mariadb() {
    local host="$1" port="$2" user="$3" pass="$4"
    local datadir="$VAR/mysql" pidfile="$VAR/mysqld.pid" logfile="$VAR/mysqld.log"
    local sock="$VAR/mysql/mysqld.sock"
    if [ "${#sock}" -gt 100 ]; then # unix socket paths are limited to ~107 bytes
        sock="/tmp/labbook-mysqld-$(printf '%s' "$ROOT" | md5sum | cut -c1-12).sock"
    fi

    if ! command -v mariadbd >/dev/null 2>&1 || ! command -v mariadb-install-db >/dev/null 2>&1; then
        apt_install --no-autostart mariadb-server mariadb-client
    fi
    ensure_mariadb_client
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        die "a private MariaDB (pid $(cat "$pidfile"), data in $datadir) is running but does not answer at $host:$port; it may be on another port: stop it with 'kill $(cat "$pidfile")' or set DJ_HOST to its port"
    fi
    mkdir -p "$VAR"
    local run_as=()
    [ "$(id -u)" -eq 0 ] && run_as=(--user=root)

    if [ ! -d "$datadir/mysql" ]; then
        log "MariaDB: initialising a private data directory in $datadir"
        mkdir -p "$datadir"
        mariadb-install-db --no-defaults --datadir="$datadir" "${run_as[@]}" \
            --auth-root-authentication-method=normal --skip-test-db \
            >"$VAR/mysql-install.log" 2>&1 ||
            die "mariadb-install-db failed; see $VAR/mysql-install.log:
$(tail -n 20 "$VAR/mysql-install.log")"
    fi

    local bind
    bind="$(bind_address "$host")"
    # setsid: survives Ctrl-C in 'make run'; all output to the log so no pipe is held open.
    setsid mariadbd --no-defaults --datadir="$datadir" "${run_as[@]}" \
        --bind-address="$bind" --port="$port" --socket="$sock" \
        --pid-file="$pidfile" --log-error="$logfile" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --max-connections=500 --innodb-buffer-pool-size=256M --max-allowed-packet=1G \
        </dev/null >>"$logfile" 2>&1 &
    local pid=$! waited=0
    until MYSQL_PWD="" mariadb-admin --no-defaults --socket="$sock" -u root --connect-timeout=2 \
        ping >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            die "private MariaDB exited during start-up; last lines of $logfile:
$(tail -n 25 "$logfile" 2>/dev/null)"
        fi
        waited=$((waited + 1))
        if [ "$waited" -ge 60 ]; then
            die "private MariaDB did not answer within 60 s on $host:$port; see $logfile:
$(tail -n 25 "$logfile" 2>/dev/null)"
        fi
        sleep 1
    done

    # Make the configured account work (root with an empty password works out of the box).
    if ! mysql_q "$host" "$port" "$user" "$pass" "SELECT 1" >/dev/null 2>&1; then
        local u p
        u="$(sql_str "$user")"
        p="$(sql_str "$pass")"
        local sql
        if [ "$user" = root ]; then
            sql="ALTER USER 'root'@'localhost' IDENTIFIED BY $p;
                 CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY $p;
                 ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY $p;
                 GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
        else
            sql="CREATE USER IF NOT EXISTS $u@'%' IDENTIFIED BY $p;
                 CREATE USER IF NOT EXISTS $u@'localhost' IDENTIFIED BY $p;
                 ALTER USER $u@'%' IDENTIFIED BY $p;
                 ALTER USER $u@'localhost' IDENTIFIED BY $p;
                 GRANT ALL PRIVILEGES ON *.* TO $u@'%' WITH GRANT OPTION;
                 GRANT ALL PRIVILEGES ON *.* TO $u@'localhost' WITH GRANT OPTION;"
        fi
        MYSQL_PWD="" mariadb --no-defaults --socket="$sock" -u root -e "$sql" 2>"$VAR/mysql-provision.log" ||
            die "could not create MariaDB user '$user' in the private instance: $(cat "$VAR/mysql-provision.log")"
    fi
    log "MariaDB: started a private instance at $host:$port (data $datadir, log $logfile, pid $(cat "$pidfile" 2>/dev/null || echo "$pid"))"
}

step_mariadb() {
    local host port user pass hp
    hp="$(parse_host_port "${DJ_HOST:-127.0.0.1:3306}" 3306)" ||
        die "DJ_HOST='${DJ_HOST:-}' is not host, host:port, [ipv6] or [ipv6]:port (see above)"
    read -r host port <<<"$hp"
    user="${DJ_USER-root}"
    pass="${DJ_PASS-}"

    if tcp_greets "$host" "$port"; then
        ensure_mariadb_client
        local err
        if ! err="$(mysql_q "$host" "$port" "$user" "$pass" "SELECT 1" 2>&1 >/dev/null)"; then
            die "a database server answers at $host:$port but rejects DJ_USER='$user' with DJ_PASS: $err
Set DJ_USER/DJ_PASS to an account with CREATE/DROP DATABASE rights, or point DJ_HOST elsewhere."
        fi
        log "MariaDB: using the server already running at $host:$port (user $user)"
    elif is_loopback "$host"; then
        start_private_mariadb "$host" "$port" "$user" "$pass"
    else
        die "no database server answers at DJ_HOST=$host:$port. Start it, or unset DJ_HOST to use a private MariaDB on 127.0.0.1:3306."
    fi

    # Django's own database (DATABASE_URL; default: 'labbook' on the DJ_HOST server).
    local url="${DATABASE_URL:-}"
    if [ -z "$url" ]; then
        url="mysql://x@$(url_host "$host"):$port/labbook"
    fi
    local scheme dhost dport duser dpass dname parsed
    parsed="$(parse_url "$url")" || exit 1
    IFS=$'\x1f' read -r scheme dhost dport duser dpass dname <<<"$parsed"
    case "$scheme" in
        mysql* | mariadb*) ;;
        *)
            log "Django database: $scheme (not MySQL/MariaDB; nothing to create)"
            return 0
            ;;
    esac
    if [ -z "${DATABASE_URL:-}" ]; then
        duser="$user"
        dpass="$pass"
    fi
    dport="${dport:-3306}"
    [ -n "$dname" ] || die "DATABASE_URL has no database name: $url"
    if [ "$dhost:$dport" != "$host:$port" ] && ! tcp_greets "$dhost" "$dport"; then
        die "DATABASE_URL points at $dhost:$dport, where no database server answers"
    fi
    local ident="\`${dname//\`/\`\`}\`" err
    if ! err="$(mysql_q "$dhost" "$dport" "$duser" "$dpass" \
        "CREATE DATABASE IF NOT EXISTS $ident CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" 2>&1)"; then
        die "could not create the Django database '$dname' on $dhost:$dport as '$duser': $err"
    fi
    log "Django database: '$dname' on $dhost:$dport (user $duser)"
}

step_redis() {
    local url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
    local scheme host port user pass path parsed
    parsed="$(parse_url "$url")" || exit 1
    IFS=$'\x1f' read -r scheme host port user pass path <<<"$parsed"
    host="${host:-127.0.0.1}"
    port="${port:-6379}"
    command -v redis-cli >/dev/null 2>&1 || apt_install redis-tools

    redis_ping() { [ "$(redis-cli --no-auth-warning -u "$url" ping 2>/dev/null)" = PONG ]; }

    if redis_ping; then
        log "Redis: using the server already running at $host:$port"
        return 0
    fi
    is_loopback "$host" ||
        die "Redis does not answer PING at REDIS_URL ($host:$port). Start it, or unset REDIS_URL to use a private Redis on 127.0.0.1:6379."
    command -v redis-server >/dev/null 2>&1 || apt_install --no-autostart redis-server
    mkdir -p "$VAR/redis"
    local extra=()
    [ -n "$pass" ] && extra+=(--requirepass "$pass")
    redis-server --daemonize yes --bind "$(bind_address "$host")" --port "$port" \
        --dir "$VAR/redis" --save '' --appendonly no \
        --logfile "$VAR/redis.log" --pidfile "$VAR/redis.pid" "${extra[@]}" </dev/null >/dev/null ||
        die "redis-server failed to start; see $VAR/redis.log"
    local waited=0
    until redis_ping; do
        waited=$((waited + 1))
        [ "$waited" -ge 30 ] && die "private Redis did not answer within 30 s at $host:$port; last lines of $VAR/redis.log:
$(tail -n 20 "$VAR/redis.log" 2>/dev/null)"
        sleep 1
    done
    log "Redis: started a private instance at $host:$port (log $VAR/redis.log, pid $(cat "$VAR/redis.pid" 2>/dev/null || echo '?'))"
}

step_browser() {
    if [ ! -x /usr/bin/chromium ]; then
        apt_install chromium
    fi
    [ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing after installing Debian's chromium"
    log "Chromium: /usr/bin/chromium"
}

step_compose() {
    command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
    log "docker-compose: $(command -v docker-compose)"
}

main() {
    local steps=("$@")
    [ "${#steps[@]}" -eq 0 ] && steps=(packages mariadb redis)
    local step
    for step in "${steps[@]}"; do
        case "$step" in
            packages | mariadb | redis | browser | compose) "step_$step" ;;
            *) die "unknown step '$step' (known: packages mariadb redis browser compose)" ;;
        esac
    done
}

# Run the steps when executed; when sourced (tests), only define the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi

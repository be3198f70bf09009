#!/bin/sh
# fengqiao container entrypoint (installed as /usr/local/bin/fengqiao-entrypoint).
#
#   fengqiao-entrypoint [serve]            run the daemon (the default CMD)
#   fengqiao-entrypoint healthcheck        exit 0 when GET /healthz answers 200 (the HEALTHCHECK)
#   fengqiao-entrypoint COMMAND ARGS...    any other fengqiao command (backup, restore, roster,
#                                          cases, report, check-config), e.g.
#     docker compose exec fengqiao fengqiao-entrypoint backup /var/lib/fengqiao/backup.db
#
# Configuration: $FENGQIAO_CONF (default /etc/fengqiao/fengqiao.conf) when that file exists,
# else the built-in defaults; in both cases FENGQIAO_<SECTION>_<KEY> variables override, and
# secrets come from files: FENGQIAO_CHAT_SECRET_FILE=/run/secrets/chat_secret and so on. The
# daemon itself reads the variables and the secret files; this script only picks the file and
# execs, so the daemon is PID 1's direct replacement and gets SIGTERM/SIGHUP itself.
#
# Health check: the runtime image has no curl. The port comes from the effective configuration
# (`fengqiao check-config -v`, so file and variables count exactly as for the daemon) and bash's
# /dev/tcp sends a plain HTTP/1.0 GET /healthz.
set -eu

BIN=${FENGQIAO_BIN:-fengqiao}
CONF=${FENGQIAO_CONF:-/etc/fengqiao/fengqiao.conf}

with_conf() {   # command args...: exec it, with -c CONF when the file exists
    if [ -f "$CONF" ]; then
        exec "$BIN" "$@" -c "$CONF"
    fi
    exec "$BIN" "$@"
}

healthcheck() {
    if [ -f "$CONF" ]; then
        eff=$("$BIN" check-config -v -c "$CONF") || return 1
    else
        eff=$("$BIN" check-config -v) || return 1
    fi
    listen=$(printf '%s\n' "$eff" | sed -n 's/^listen = //p' | head -n 1)
    port=${listen##*:}
    host=${listen%:*}
    host=${host#[}
    host=${host%]}
    case "$host" in
        ""|0.0.0.0|"*") host=127.0.0.1 ;;
        ::) host=::1 ;;
    esac
    # shellcheck disable=SC2016  # expanded by bash, not here
    timeout 5 bash -c '
        exec 3<>"/dev/tcp/$1/$2" || exit 1
        printf "GET /healthz HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" >&3
        IFS= read -r status <&3 || exit 1
        case "$status" in "HTTP/1."?" 200"*) exit 0 ;; esac
        exit 1' healthcheck "$host" "$port"
}

cmd=${1:-serve}
[ $# -gt 0 ] && shift
case "$cmd" in
    healthcheck) healthcheck ;;
    serve|roster|cases|report|backup|restore|check-config|chat) with_conf "$cmd" "$@" ;;
    *) exec "$BIN" "$cmd" "$@" ;;
esac

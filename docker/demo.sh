#!/bin/sh
# The fengqiao demo (`make run`): a private mosquitto on a free loopback port (config and data in
# var/demo-mqtt/), the demo roster (docker/demo-roster.json) imported, and the daemon in the
# foreground with docker/demo.conf. The broker port reaches the daemon through
# FENGQIAO_MQTT_PORT, so the config file is never edited. Ctrl-C (or any exit) stops both.
#
# Environment: FQ_BIN (default bin/fengqiao); FENGQIAO_SERVER_LISTEN to move off 127.0.0.1:8080.
set -eu
cd "$(dirname "$0")/.."

BIN=${FQ_BIN:-bin/fengqiao}
CONF=docker/demo.conf
ROSTER=docker/demo-roster.json
MQDIR=$(pwd)/var/demo-mqtt

die() { echo "demo: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "$BIN is not built: run make"
command -v mosquitto >/dev/null 2>&1 || die "mosquitto is not installed: run make deps"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to pick a free port"

port_open() {
    python3 -c 'import socket,sys
try: socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
except OSError: sys.exit(1)' "$1"
}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

mq_pid=""
fq_pid=""
# shellcheck disable=SC2317  # called from the trap
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$fq_pid" ] && kill -0 "$fq_pid" 2>/dev/null; then
        kill -TERM "$fq_pid" 2>/dev/null || true
        wait "$fq_pid" 2>/dev/null || true
    fi
    if [ -n "$mq_pid" ] && kill -0 "$mq_pid" 2>/dev/null; then
        kill -TERM "$mq_pid" 2>/dev/null || true
        wait "$mq_pid" 2>/dev/null || true
    fi
    echo "demo: stopped" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p var "$MQDIR"
chmod 700 var
cat > "$MQDIR/mosquitto.conf" <<EOF
# written by docker/demo.sh
listener $PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $MQDIR/
user $(id -un)
EOF
mosquitto -c "$MQDIR/mosquitto.conf" >"$MQDIR/mosquitto.log" 2>&1 &
mq_pid=$!
i=0
until port_open "$PORT"; do
    i=$((i + 1))
    [ $i -lt 50 ] || die "mosquitto did not start; see $MQDIR/mosquitto.log"
    kill -0 "$mq_pid" 2>/dev/null || die "mosquitto exited; see $MQDIR/mosquitto.log"
    sleep 0.1
done

export FENGQIAO_MQTT_PORT="$PORT"
"$BIN" roster import "$ROSTER" -c "$CONF" || die "roster import failed"

"$BIN" serve -c "$CONF" &
fq_pid=$!

LISTEN=${FENGQIAO_SERVER_LISTEN:-127.0.0.1:8080}
cat <<EOF

fengqiao demo running (daemon pid $fq_pid, mosquitto pid $mq_pid on port $PORT).

  Report a dispute as a resident (in another terminal, from $(pwd)):
    $BIN chat --url http://$LISTEN --user me -c $CONF
  Act as the grid worker 王建国 (m-wang):
    $BIN chat --url http://$LISTEN --user m-wang -c $CONF
  Watch the events, assignments and alerts:
    mosquitto_sub -h 127.0.0.1 -p $PORT -t 'fq/v1/#' -v
  The case ledger (admin token demo-admin):
    curl -s -H 'Authorization: Bearer demo-admin' http://$LISTEN/api/v1/cases

Ctrl-C stops the daemon and the broker.
EOF

# Returns when the daemon exits (or the trap above runs on Ctrl-C).
status=0
wait "$fq_pid" || status=$?
fq_pid=""
exit $status

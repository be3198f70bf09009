#!/bin/sh
# Checks the deployment files with the tools CI installs (scripts/deps.sh ci): the compose files
# parse and validate (Debian's docker-compose), the systemd unit verifies once installed, the
# shell scripts parse and shellcheck finds nothing in them, the man page formats without warnings. Unlike
# tests/integration/test_deploy.py, which skips what the machine lacks, a missing tool fails here.
# The image itself needs a Docker engine: `docker build -f docker/Dockerfile .` where there is one.
set -eu
cd "$(dirname "$0")/.."
fail() { echo "check-deploy: $*" >&2; exit 1; }
for t in docker-compose systemd-analyze groff shellcheck; do
    command -v "$t" >/dev/null 2>&1 || fail "$t is not installed (sh scripts/deps.sh ci)"
done
for f in docker/compose.yaml docker/compose.scale.yaml; do
    docker-compose -f "$f" config -q || fail "$f does not validate"
done
for f in docker/entrypoint.sh docker/mosquitto/make-passwd.sh scripts/deps.sh; do
    sh -n "$f" || fail "$f: syntax error"
done
shellcheck scripts/*.sh docker/*.sh docker/mosquitto/*.sh tests/*/*.sh || fail "shellcheck found problems"
out=$(groff -man -Tutf8 -ww -z docs/fengqiao.8 2>&1) || fail "docs/fengqiao.8: groff failed"
[ -z "$out" ] || fail "docs/fengqiao.8: $out"
[ -x bin/fengqiao ] || make --no-print-directory all
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make --no-print-directory -s -o bin/fengqiao install PREFIX="$tmp/usr" DESTDIR= >/dev/null
MANPATH="$tmp/usr/share/man:" systemd-analyze verify "$tmp/usr/lib/systemd/system/fengqiao.service" \
    || fail "the installed unit does not verify"
echo "check-deploy: ok"

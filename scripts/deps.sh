#!/bin/sh
# Installs, with apt-get, whatever fengqiao needs to build, test and run and is not yet present.
# One list for `make deps`, CI and the container build, so they cannot drift.
# Usage: scripts/deps.sh [build|runtime]   (default: build, which includes the test tools)
set -eu
mode=${1:-build}
runtime="libmicrohttpd12 libcurl4 libjansson4 libmosquitto1 libsqlite3-0 libexpat1 libssl3 libinih1 mosquitto"
build="build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libmosquitto-dev libsqlite3-dev libexpat1-dev libssl-dev libinih-dev libcriterion-dev libxlsxwriter-dev mosquitto mosquitto-clients sqlite3 python3 curl valgrind"
case "$mode" in
  runtime) pkgs=$runtime ;;
  build) pkgs=$build ;;
  *) echo "usage: $0 [build|runtime]" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

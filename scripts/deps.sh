#!/bin/sh
# Installs, with apt-get, whatever fengqiao needs to build, test and run and is not yet present.
# One list for `make deps`, CI and the container build, so they cannot drift.
# Usage: scripts/deps.sh [build|runtime|ci|--list MODE]   (default: build, with the test tools)
# `make deps` (and so `make test`) uses ci, so every test has its tools on a fresh machine.
#   runtime: only the shared libraries bin/fengqiao links against, plus CA certificates and the
#            time zone database (tzdata: server.timezone is resolved in it) (the
#            container's runtime stage; tests/integration/test_deploy.py checks it against the
#            binary's NEEDED entries); ci: build plus the tools that check the deployment files
#            (docker-compose, systemd-analyze); --list MODE prints a list without installing.
set -eu
mode=${1:-build}
runtime="libmicrohttpd12 libcurl4 libjansson4 libmosquitto1 libsqlite3-0 libexpat1 libssl3 libinih1 libxlsxwriter4 zlib1g ca-certificates tzdata"
build="build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libmosquitto-dev libsqlite3-dev libexpat1-dev libssl-dev libinih-dev libcriterion-dev libxlsxwriter-dev mosquitto mosquitto-clients sqlite3 python3 python3-yaml curl valgrind tzdata"
ci="$build docker-compose systemd groff-base"
list=0
if [ "$mode" = --list ]; then list=1; mode=${2:-build}; fi
case "$mode" in
  runtime) pkgs=$runtime ;;
  build) pkgs=$build ;;
  ci) pkgs=$ci ;;
  *) echo "usage: $0 [build|runtime|ci|--list MODE]" >&2; exit 2 ;;
esac
if [ $list -eq 1 ]; then echo "$pkgs"; exit 0; fi
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

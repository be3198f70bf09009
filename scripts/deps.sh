#!/bin/sh
# Installs, with apt-get, whatever fengqiao needs to build, test and run and is not yet present.
# One list for `make deps`, CI and the container build, so they cannot drift.
# Usage: scripts/deps.sh [build|runtime|ci|model|--list MODE]   (default: build, with the test tools)
# `make deps` (and so `make test`) uses ci, so every test has its tools on a fresh machine.
#   runtime: only the shared libraries bin/fengqiao links against, plus CA certificates and the
#            time zone database (tzdata: server.timezone is resolved in it) (the
#            container's runtime stage; tests/integration/test_deploy.py checks it against the
#            binary's NEEDED entries); ci: build plus the tools that check the deployment files
#            (docker-compose, systemd-analyze, shellcheck); model: what `make model` trains with
#            (python3-sklearn; the opencc command for checking conversions); --list MODE prints a list without
#            installing.
#
# The runtime packages are not named here but derived from the -dev packages: each library's
# package is the one its -dev package depends on at its own version. So the list is right on
# Debian 12 and 13 alike, where the 64-bit time_t transition renamed several of them
# (libcurl4 -> libcurl4t64, libssl3 -> libssl3t64, libmicrohttpd12 -> libmicrohttpd12t64, ...).
# That needs apt's package lists; without them the script runs apt-get update first.
set -eu
mode=${1:-build}
libdev="libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libmosquitto-dev libsqlite3-dev libexpat1-dev libssl-dev libxlsxwriter-dev zlib1g-dev libopencc-dev libargon2-dev"
build="build-essential pkg-config $libdev libcriterion-dev mosquitto mosquitto-clients sqlite3 python3 python3-yaml curl valgrind tzdata chromium chromium-driver python3-selenium fonts-wqy-zenhei"
ci="$build docker-compose systemd groff-base shellcheck"
# `make model` (retraining data/model/category.model); neither `make test` nor CI needs it.
model="python3-sklearn opencc"
# The workbench's charts: Debian's Chart.js, whose minified build make embeds with the other
# assets (the file at the package's version, no download at build or run time).
build="$build libjs-chart.js"
ci="$ci libjs-chart.js"
list=0
if [ "$mode" = --list ]; then list=1; mode=${2:-build}; fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# For each -dev package, the shared-library package of the same source and version: the
# dependency whose version constraint names the -dev package's own version. One apt-cache call
# for all of them (each call reads apt's whole cache).
runtime_list() {
    # shellcheck disable=SC2086 # one word per package
    libs=$(apt-cache show --no-all-versions $libdev 2>/dev/null | awk '
        /^Package: / { pkg = $2 }
        /^Version: / { ver = $2 }
        /^Depends: / { dep = substr($0, 10) }
        /^$/ { emit() }
        END { emit() }
        function emit(   n, i, d, a) {
            if (pkg == "") return
            n = split(dep, a, ",")
            for (i = 1; i <= n; i++) {
                d = a[i]; sub(/\|.*/, "", d)
                if (index(d, ver ")") && d !~ /-dev[ (]/) {
                    sub(/^ +/, "", d); sub(/[ (].*/, "", d); print d; break
                }
            }
            pkg = ""; ver = ""; dep = ""
        }') || return 1
    [ "$(echo "$libs" | grep -c .)" -eq "$(echo "$libdev" | wc -w)" ] || return 1
    echo "$(echo "$libs" | tr '\n' ' ')ca-certificates tzdata"
}

case "$mode" in
  runtime)
    if ! pkgs=$(runtime_list); then
        if [ $list -eq 1 ] && [ "$(id -u)" -ne 0 ]; then
            echo "deps: apt knows no package lists (run apt-get update)" >&2
            exit 1
        fi
        $SUDO apt-get update -qq
        pkgs=$(runtime_list) || { echo "deps: cannot derive the runtime packages from: $libdev" >&2; exit 1; }
    fi
    ;;
  build) pkgs=$build ;;
  ci) pkgs=$ci ;;
  model) pkgs=$model ;;
  *) echo "usage: $0 [build|runtime|ci|model|--list MODE]" >&2; exit 2 ;;
esac
if [ $list -eq 1 ]; then echo "$pkgs"; exit 0; fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # one word per package
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

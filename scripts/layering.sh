#!/bin/sh
# Fails when a layer depends on one above it (docs/ARCHITECTURE.md 3.1).
#
# Usage: sh scripts/layering.sh [BUILD_DIR]    (default: $LAYERING_BUILD, else build)
#
# Two checks:
# - includes, on the sources: what a layer's files may #include;
# - symbols, on the built objects BUILD_DIR/<layer>/*.o: every symbol an object uses (nm -u)
#   that another object defines (nm --defined-only) must be defined in its own layer or one
#   below. An include check cannot see this: a file may declare a function itself and call it.
#   Layers from the bottom: common < store < handlers < bot. Objects of other folders
#   (BUILD_DIR/gen, tests) are neither checked nor counted as a layer.
#
# An object whose source is gone (left in the build tree by a rename) is skipped; sources are
# looked for under $LAYERING_SRC (default: this checkout). LAYERING_SRC= (empty) checks every
# object found.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${LAYERING_BUILD:-build}}
src=${LAYERING_SRC-$root}
layers="common store handlers bot"
bad=0

# ---- includes ---------------------------------------------------------------------------------
check() { # pattern, why, files...
  pat=$1 why=$2
  shift 2
  hits=$(grep -nE "$pat" "$@" 2>/dev/null)
  if [ -n "$hits" ]; then printf '%s\n%s\n' "layering: $why" "$hits" >&2; bad=1; fi
}
(
  cd "$root" || exit 1
  bad=0
  lib='#include *[<"](microhttpd|curl/|jansson|mosquitto|sqlite3|expat|openssl/|ini\.h|sys/socket|netinet/|arpa/|xlsxwriter)'
  check "$lib" "handlers/ and common/ stay free of I/O and parser libraries" handlers/*.c handlers/*.h common/*.c common/*.h
  check '#include *[<"]sqlite3\.h' "only store/ includes sqlite3.h" bot/*.c bot/*.h
  not_crypto=""
  for f in bot/*.c bot/*.h store/*.c store/*.h; do
    [ "$f" = bot/crypto.c ] || not_crypto="$not_crypto $f"
  done
  # shellcheck disable=SC2086 # file names without spaces, one word each
  check '#include *[<"]openssl/' "only bot/crypto.c includes OpenSSL" $not_crypto
  check '#include *"\.\./bot/' "store/, handlers/ and common/ do not depend on bot/" store/*.c store/*.h handlers/*.c handlers/*.h common/*.c common/*.h
  check '#include *"\.\./handlers/' "store/ and common/ do not depend on handlers/" store/*.c store/*.h common/*.c common/*.h
  check '#include *"\.\./store/' "common/ does not depend on store/" common/*.c common/*.h
  exit $bad
) || bad=1

# ---- symbols ----------------------------------------------------------------------------------
# One line per symbol, "rank layer object symbol": definitions in $defs, uses in $uses.
if ! command -v nm >/dev/null 2>&1; then
  echo "layering: nm is missing (binutils)" >&2
  exit 1
fi
defs=$(mktemp) || exit 1
uses=$(mktemp) || { rm -f "$defs"; exit 1; }
trap 'rm -f "$defs" "$uses" "$defs.one" "$uses.one"' EXIT
rank=0 n=0
for layer in $layers; do
  objs=""
  for o in "$build/$layer"/*.o; do
    [ -f "$o" ] || continue
    if [ -n "$src" ]; then
      base=$(basename "$o" .o)
      [ -f "$src/$layer/$base.c" ] || continue
    fi
    case $o in *[[:space:]]*) echo "layering: skipping \"$o\" (a space in the name)" >&2; continue ;; esac
    objs="$objs $o"
    n=$((n + 1))
  done
  if [ -n "$objs" ]; then
    # nm -A -P: "object: symbol type [value size]", one line per symbol
    # shellcheck disable=SC2086 # one word per object (names with spaces are skipped above)
    nm -A -P -g --defined-only $objs >"$defs.one" || bad=1
    # shellcheck disable=SC2086
    nm -A -P -u $objs >"$uses.one" || bad=1
    awk -v r="$rank" -v l="$layer" '{ sub(/:$/, "", $1); print r, l, $1, $2 }' "$defs.one" >>"$defs"
    awk -v r="$rank" -v l="$layer" '{ sub(/:$/, "", $1); print r, l, $1, $2 }' "$uses.one" >>"$uses"
  fi
  rank=$((rank + 1))
done
rm -f "$defs.one" "$uses.one"
if [ "$n" -eq 0 ]; then
  echo "layering: no objects under $build/common, store, handlers or bot (build first: make)" >&2
  exit 1
fi
# The lowest layer wins when a symbol is defined twice; each (object, symbol) is named once.
up=$(awk 'NR == FNR { if (!($4 in def) || $1 < def[$4]) { def[$4] = $1; lay[$4] = $2; obj[$4] = $3 } next }
          ($4 in def) && def[$4] > $1 && !seen[$3 " " $4]++ {
            printf "  %s uses %s, defined in %s/ (%s)\n", $3, $4, lay[$4], obj[$4] }' "$defs" "$uses")
if [ -n "$up" ]; then
  printf '%s\n%s\n' "layering: a layer uses a symbol defined in a layer above it (common < store < handlers < bot)" "$up" >&2
  bad=1
fi

[ $bad -eq 0 ] && echo "layering: ok ($n objects)"
exit $bad

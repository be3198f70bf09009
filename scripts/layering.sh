#!/bin/sh
# Fails when a layer depends on one above it (docs/ARCHITECTURE.md 3.1).
#
# Usage: sh scripts/layering.sh [BUILD_DIR]    (default: $LAYERING_BUILD, else build)
#
# Three checks:
# - includes, on the sources (every folder of a layer, bot/'s rooms too): what a layer's files may
#   #include, and that includes name their file from the top of the tree;
# - names: no two source files share a base name;
# - symbols, on the built objects BUILD_DIR/<layer>/**/*.o: every symbol an object uses (nm -u)
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
  # Sources of a layer, its rooms (bot/core/, bot/chan/wecom/, ...) included; one word each.
  files() { find "$@" -name '*.[ch]' | sort; }
  common=$(files common) store=$(files store) handlers=$(files handlers) bot=$(files bot)
  lib='#include *[<"](microhttpd|curl/|jansson|mosquitto|sqlite3|expat|openssl/|ini\.h|sys/socket|netinet/|arpa/|xlsxwriter)'
  # shellcheck disable=SC2046,SC2086 # file names without spaces, one word each
  {
    check "$lib" "handlers/ and common/ stay free of I/O and parser libraries" $handlers $common
    check '#include *[<"]sqlite3\.h' "only store/ includes sqlite3.h" $bot
    check '#include *[<"]openssl/' "only bot/sys/crypto.c includes OpenSSL" \
      $(printf '%s\n' $bot $store | grep -vx bot/sys/crypto.c)
    check '#include *"bot/' "store/, handlers/ and common/ do not depend on bot/" $store $handlers $common
    check '#include *"handlers/' "store/ and common/ do not depend on handlers/" $store $common
    check '#include *"store/' "common/ does not depend on store/" $common
    check '#include *"store/stmt\.h' "store/stmt.h (the connection, sqlite3.h) is store/'s own" \
      $common $handlers $bot
    check '#include *"\.' "includes name their file from the top of the tree (\"store/store.h\")" \
      $common $store $handlers $bot
  }
  # No two source files share a base name, wherever they are (a name says which file it is).
  # shellcheck disable=SC2086 # as above
  dup=$(printf '%s\n' $common $store $handlers $bot | sed 's,.*/,,' | sort | uniq -d)
  if [ -n "$dup" ]; then
    printf 'layering: two source files share a base name:\n' >&2
    # shellcheck disable=SC2086 # as above
    for d in $dup; do printf '%s\n' $common $store $handlers $bot | grep "/$d\$" >&2; done
    bad=1
  fi
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
  for o in $(find "$build/$layer" -name '*.o' 2>/dev/null | sort); do
    [ -f "$o" ] || continue
    if [ -n "$src" ]; then
      rel=${o#"$build"/}
      [ -f "$src/${rel%.o}.c" ] || continue
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

#!/bin/sh
# Fails when a file includes what its layer must not (DESIGN.md, "Boundaries worth keeping").
set -u
bad=0
check() { # pattern, why, files...
  pat=$1 why=$2
  shift 2
  hits=$(grep -nE "$pat" "$@" 2>/dev/null)
  if [ -n "$hits" ]; then printf '%s\n%s\n' "layering: $why" "$hits" >&2; bad=1; fi
}
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
[ $bad -eq 0 ] && echo "layering: ok"
exit $bad

#!/bin/sh
# Fails when a file includes what its layer must not (DESIGN.md, "Boundaries worth keeping").
set -u
bad=0
check() { # pattern, files, why
  hits=$(grep -nE "$1" $2 2>/dev/null)
  if [ -n "$hits" ]; then printf '%s\n%s\n' "layering: $3" "$hits" >&2; bad=1; fi
}
lib='#include *[<"](microhttpd|curl/|jansson|mosquitto|sqlite3|expat|openssl/|ini\.h|sys/socket|netinet/|arpa/|xlsxwriter)'
check "$lib" "handlers/*.c handlers/*.h common/*.c common/*.h" "handlers/ and common/ stay free of I/O and parser libraries"
check '#include *[<"]sqlite3\.h' "$(ls bot/*.c bot/*.h 2>/dev/null)" "only store/ includes sqlite3.h"
check '#include *[<"]openssl/' "$(ls bot/*.c bot/*.h store/*.c store/*.h 2>/dev/null | grep -v 'bot/crypto.c')" "only bot/crypto.c includes OpenSSL"
check '#include *"\.\./bot/' "store/*.c store/*.h handlers/*.c handlers/*.h common/*.c common/*.h" "store/, handlers/ and common/ do not depend on bot/"
[ $bad -eq 0 ] && echo "layering: ok"
exit $bad

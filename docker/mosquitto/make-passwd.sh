#!/bin/sh
# Writes mosquitto's password file from secret files, hashed (mosquitto_passwd -U).
#
#   make-passwd.sh OUT SOURCE...
#
# Each SOURCE is either USER=FILE (one user whose password is the content of FILE: the daemon's
# own login, e.g. fengqiao=/run/secrets/mqtt_password, the same file the daemon reads as
# mqtt.password_file) or a FILE of "user:password" lines (mediator apps: user = mediator id;
# gateways: gateway-web, ...; "#" comments and blank lines skipped). docker/compose.yaml runs it
# in the eclipse-mosquitto image (service mqtt-auth) at every start, so changing a password is:
# edit the secret file, `docker compose up -d`. On a host: run it with the host's
# mosquitto_passwd, then reload mosquitto (SIGHUP).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OUT USER=PASSWORD_FILE|USERS_FILE..." >&2; exit 2; }
out=$1
shift
umask 077
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
: > "$tmp"
for src in "$@"; do
    case "$src" in
        *=*)
            user=${src%%=*}
            file=${src#*=}
            pw=$(cat "$file")
            case "$user" in ""|*:*|*[[:space:]]*) echo "$0: bad user name in $src" >&2; exit 1 ;; esac
            [ -n "$pw" ] || { echo "$0: $file is empty" >&2; exit 1; }
            printf '%s:%s\n' "$user" "$pw" >> "$tmp"
            ;;
        *)
            [ -f "$src" ] || { echo "$0: $src: no such file" >&2; exit 1; }
            grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$src" | while IFS= read -r line; do
                case "$line" in
                    ?*:?*) printf '%s\n' "$line" ;;
                    *) echo "$0: $src: a line is not user:password" >&2; exit 1 ;;
                esac
            done >> "$tmp"
            ;;
    esac
done
mosquitto_passwd -U "$tmp"
# mosquitto reads the file after dropping root privileges to the user "mosquitto"
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto "$tmp"
fi
chmod 0600 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "$0: $out written ($(wc -l < "$out") users)"

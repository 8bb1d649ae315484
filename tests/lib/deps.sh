#!/bin/sh
# deps.sh: install the Debian packages the build, the tests and the demo
# need, only when one is missing (so `make check` on a set-up machine
# touches nothing).  Uses apt-get as root, else through sudo.
# `deps.sh lint` adds the tools `make lint` runs.
set -eu
PKGS="gcc make pkg-config libsqlite3-dev libcurl4-openssl-dev libcjson-dev
libev-dev libyaml-dev libmicrohttpd-dev sqlite3 etcd-server etcd-client curl python3 perl jq tzdata
python3-pandas python3-matplotlib python3-yaml openssl man-db groff-base libfaketime"
if [ "${1:-}" = lint ]; then
	PKGS="$PKGS clang-format cppcheck shellcheck"
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null; then
	SUDO="sudo"
else
	echo "deps: need root (or sudo) to apt-get install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

#!/bin/sh
# etcd.sh: start and stop real etcd members on 127.0.0.1 for tests.
# Source after tap.sh.  Every member gets free random ports and a data dir
# under $TMP, and is stopped by PID at exit.
# shellcheck disable=SC2034

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# etcd_start NAME [extra etcd flags...]: a single-member cluster.  Sets
# ETCD_URL (client URL), ETCD_PID and ETCDCTL_ENDPOINTS-compatible
# ETCD_EP.  Waits (bounded) until it answers.
etcd_start() {
	_name=$1
	shift
	_cport=${ETCD_CLIENT_PORT:-$(free_port)}
	_pport=$(free_port)
	ETCD_URL="http://127.0.0.1:$_cport"
	ETCD_DATA="$TMP/etcd-$_name"
	etcd --name "$_name" --data-dir "$ETCD_DATA" \
		--listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
		--listen-peer-urls "http://127.0.0.1:$_pport" \
		--initial-advertise-peer-urls "http://127.0.0.1:$_pport" \
		--initial-cluster "$_name=http://127.0.0.1:$_pport" \
		--log-level error --logger zap "$@" \
		>"$TMP/etcd-$_name.log" 2>&1 &
	ETCD_PID=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $ETCD_PID"
	ETCD_ARGS="--name $_name --data-dir $ETCD_DATA --listen-client-urls $ETCD_URL --advertise-client-urls $ETCD_URL --listen-peer-urls http://127.0.0.1:$_pport --initial-advertise-peer-urls http://127.0.0.1:$_pport --initial-cluster $_name=http://127.0.0.1:$_pport"
	wait_until 20 curl -sf "$ETCD_URL/health" || bail "etcd $_name did not start: $(tail -5 "$TMP/etcd-$_name.log")"
}

# etcd_restart: stop the member (SIGTERM) and start it again on its data
# dir and ports: the same cluster, its history kept.
etcd_restart() {
	kill "$ETCD_PID"
	wait "$ETCD_PID" 2>/dev/null
	etcd_again
}

# etcd_recreate: the same, on an emptied data dir: an etcd recreated with
# the same configuration (an emptyDir), hence the same cluster_id, in
# another history from revision 1.
etcd_recreate() {
	kill "$ETCD_PID"
	wait "$ETCD_PID" 2>/dev/null
	rm -rf "$ETCD_DATA"
	etcd_again
}

# etcd_again: start the stopped member on its flags.
etcd_again() {
	# shellcheck disable=SC2086 # ETCD_ARGS is a word list
	etcd $ETCD_ARGS --log-level error --logger zap >>"$TMP/etcd-restart.log" 2>&1 &
	ETCD_PID=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $ETCD_PID"
	wait_until 20 curl -sf "$ETCD_URL/health" || bail "etcd did not restart: $(tail -5 "$TMP/etcd-restart.log")"
}

# etcdctl against the test member.
ectl() { ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" "$@"; }

# The current etcd revision.
etcd_rev() {
	curl -s "$ETCD_URL/v3/kv/range" -d '{"key":"AA==","count_only":true}' |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])'
}

# etcd_replace NAME: kill the member and start a brand-new cluster (new data
# dir, so a new cluster_id and revisions from 1) on the same client URL,
# like a clustermesh-apiserver etcd on an emptyDir after a pod restart.
etcd_replace() {
	kill -9 "$ETCD_PID"
	wait "$ETCD_PID" 2>/dev/null
	ETCD_CLIENT_PORT=${ETCD_URL##*:} etcd_start "$1"
}

# etcd_auth USER PASSWORD [URL [CURL-OPTION...]]: enable authentication
# on the test member (or the etcd at URL, reached with the curl options:
# a TLS one's certificates), with a root user (password r00t-pw) and
# USER, whose role "reader" may read [cilium/, cilium0) and nothing else.
# Fails (non-zero) if any step does.
etcd_auth() {
	_user=$1 _pw=$2 _url=${3:-$ETCD_URL}
	shift 2
	[ $# -eq 0 ] || shift
	_post() { # _post PATH BODY CURL-OPTION...
		_path=$1 _body=$2
		shift 2
		curl -sf "$@" "$_url$_path" -d "$_body" >/dev/null
	}
	_post /v3/auth/role/add '{"name":"root"}' "$@" &&
		_post /v3/auth/user/add '{"name":"root","password":"r00t-pw"}' "$@" &&
		_post /v3/auth/user/grant '{"user":"root","role":"root"}' "$@" &&
		_post /v3/auth/role/add '{"name":"reader"}' "$@" &&
		_post /v3/auth/role/grant '{"name":"reader","perm":{"permType":"READ","key":"Y2lsaXVtLw==","range_end":"Y2lsaXVtMA=="}}' "$@" &&
		_post /v3/auth/user/add "{\"name\":\"$_user\",\"password\":\"$_pw\"}" "$@" &&
		_post /v3/auth/user/grant "{\"user\":\"$_user\",\"role\":\"reader\"}" "$@" &&
		_post /v3/auth/enable '{}' "$@"
}

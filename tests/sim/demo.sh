#!/bin/sh
# demo.sh (make demo): a Cilium cluster in a box.  Starts a throwaway etcd
# on a free loopback port, records it with hindsight-recorder while the
# workload simulator plays a cluster's life (pods coming and going, IPs and
# identities reused, agents crashing and restarting), then asks hindsight
# the questions an incident review asks.  Stops everything it started; the
# db stays in build/demo/ for you to explore.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${HINDSIGHT_BIN:-$TOP/bin}
SIM="$TOP/tests/sim/cilium-sim"
PY=${PYTHON:-python3}
OUT=${DEMO_DIR:-$TOP/build/demo}
DB="$OUT/cilium.db"

rm -rf "$OUT"
mkdir -p "$OUT"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for SECONDS CMD...: poll until CMD succeeds, or give up.
wait_for() {
	n=$(($1 * 20))
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.05
	done
}
show() { # show TITLE ARGS...: print the command, then run it
	title=$1
	shift
	printf '\n== %s\n$ hindsight %s\n' "$title" "$*"
	"$BIN/hindsight" --db "$DB" "$@" || [ $? -eq 3 ]
}

cport=$(port)
pport=$(port)
URL="http://127.0.0.1:$cport"
echo "starting etcd on $URL (data in $OUT/etcd)"
etcd --name demo --data-dir "$OUT/etcd" \
	--listen-client-urls "$URL" --advertise-client-urls "$URL" \
	--listen-peer-urls "http://127.0.0.1:$pport" \
	--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
	--initial-cluster "demo=http://127.0.0.1:$pport" \
	--log-level error --logger zap >"$OUT/etcd.log" 2>&1 &
pids="$pids $!"
wait_for 20 curl -sf "$URL/health" || { echo "etcd did not start:"; tail "$OUT/etcd.log"; exit 1; }

echo "recording it into $DB"
"$BIN/hindsight-recorder" --db "$DB" --endpoints "$URL" 2>"$OUT/recorder.log" &
rec=$!
pids="$pids $rec"

echo "simulating a 5-node cluster's life (about 2 simulated hours, a few seconds here)"
"$SIM" --endpoints "$URL" --seed 7 --steps 1500 --nodes 5 --pods-per-node 8 \
	--identity-pool 60 --restart-style mixed --truth "$OUT/truth.jsonl"

head=$(curl -s "$URL/v3/kv/range" -d '{"key":"AA==","count_only":true}' |
	sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p')
caught_up() {
	r=$(sqlite3 "$DB" "SELECT value FROM meta WHERE name='recorded_rev'" 2>/dev/null)
	[ -n "$r" ] && [ "$r" -ge "$head" ]
}
wait_for 30 caught_up || { echo "the recorder did not catch up:"; tail "$OUT/recorder.log"; exit 1; }
kill -TERM "$rec"
wait "$rec"
echo "recorded through revision $head; recorder log: $OUT/recorder.log"

# Pick what to ask from the simulator's own ground truth: an IP that two
# pods held one after the other, and an identity number reused after GC.
# shellcheck disable=SC2046 # split the tab-separated fields on purpose
set -- $("$SIM" truth "$OUT/truth.jsonl" find ip-reuse | head -1)
ip=$1 rev1=$3 pod1=$4 rev2=$5 pod2=$6
# shellcheck disable=SC2046
set -- $("$SIM" truth "$OUT/truth.jsonl" find id-reuse | head -1)
id=${1##*/}
# A moment while the first pod held the IP, as a time (what a flow log has).
when=$("$BIN/hindsight" --db "$DB" --format csv sql \
	"SELECT time FROM rev_times WHERE rev >= $rev1 AND rev < $rev2 AND time IS NOT NULL ORDER BY rev LIMIT 1" | tail -1)

show "Who held $ip at $when? (the simulator says: $pod1)" ip "$ip" --at "$when"
show "Every holder of $ip while recording (then $pod2 from revision $rev2)" ip "$ip" --from "rev:1" --to "rev:$head"
show "Identity $id: the number came back with other labels after garbage collection" identity "$id"
show "The churn report, per hour" churn --from rev:1 --to "rev:$head" --by hour
show "Coverage" status
printf '\nExplore: bin/hindsight --db %s sql "SELECT * FROM ip_history LIMIT 5"\n' "$DB"

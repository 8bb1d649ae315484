#!/bin/sh
# run.sh: run every test program (unit binaries given as arguments, then
# every tests/integration/*.t), each printing TAP, and end with one line
# "N passed, N failed" counting assertions.  A program that dies, exits
# non-zero or stops short of its plan counts as one more failure.
# TESTS="a.t b.t" limits the integration tests run.
set -u
cd "$(dirname "$0")/.." || exit 1
LOGDIR=${LOGDIR:-build/test-logs}
mkdir -p "$LOGDIR"
passed=0
failed=0
integration=${TESTS:-$(ls tests/integration/*.t 2>/dev/null)}
for t in "$@" $integration; do
	name=$(basename "$t")
	log="$LOGDIR/$name.log"
	start=$(date +%s)
	case "$t" in
	*.t) sh "$t" >"$log" 2>&1 ;;
	*) "$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	secs=$(($(date +%s) - start))
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
	bad=""
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		bad="exit status $rc"
	elif [ -z "$plan" ]; then
		bad="no plan (died?)"
	elif [ "$plan" -ne $((p + f)) ]; then
		bad="planned $plan, ran $((p + f))"
	fi
	if [ -n "$bad" ]; then
		f=$((f + 1))
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -eq 0 ]; then
		printf '%-34s ok     %4d passed  (%ds)\n' "$name" "$p" "$secs"
	else
		printf '%-34s FAILED %4d passed, %d failed %s (%ds)\n' "$name" "$p" "$f" "$bad" "$secs"
		grep -E '^not ok|^#|^Bail' "$log" | head -30 | sed 's/^/    /'
		echo "    (full log: $log)"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

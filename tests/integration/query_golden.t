#!/bin/sh
# Golden tests for bin/hindsight, in the jq tests/jq.test style: each case
# in tests/query/golden/*.test is an argument line (shell words), an exit
# status line, then the exact expected stdout, ended by a line "%%".  All
# run against the fixed-time fixture db of tests/query/mkfixture.sh.
# GOLDEN_UPDATE=1 rewrites the expected output from the current binary
# (review the diff before committing it).
. "$(dirname "$0")/../lib/tap.sh"

db="$TMP/fixture.db"
sh "$TOP/tests/query/mkfixture.sh" "$db" || bail "mkfixture.sh failed"
export HINDSIGHT_DB="$db"

for f in "$TOP"/tests/query/golden/*.test; do
	rm -rf "$TMP/cases"
	mkdir "$TMP/cases"
	# Split into case files: N.args, N.exit, N.out.
	awk -v dir="$TMP/cases" '
		BEGIN { n = 0; state = 0 }
		state == 0 && (/^#/ || /^$/) { next }
		state == 0 { n++; print > (dir "/" n ".args"); close(dir "/" n ".args");
			state = 1; next }
		state == 1 { print > (dir "/" n ".exit"); close(dir "/" n ".exit");
			state = 2; printf "" > (dir "/" n ".out"); next }
		state == 2 && /^%%$/ { close(dir "/" n ".out"); state = 0; next }
		state == 2 { print >> (dir "/" n ".out") }
	' "$f"
	[ -n "${GOLDEN_UPDATE:-}" ] && : >"$TMP/update"
	n=1
	while [ -f "$TMP/cases/$n.args" ]; do
		args=$(cat "$TMP/cases/$n.args")
		want_exit=$(cat "$TMP/cases/$n.exit")
		eval "set -- $args"
		"$BIN/hindsight" "$@" >"$TMP/got" 2>"$TMP/err"
		got_exit=$?
		if [ -n "${GOLDEN_UPDATE:-}" ]; then
			{ echo "$args"; echo "$got_exit"; cat "$TMP/got"; echo "%%"; echo; } >>"$TMP/update"
		fi
		if [ "$got_exit" = "$want_exit" ] && cmp -s "$TMP/got" "$TMP/cases/$n.out"; then
			ok 0 "$(basename "$f" .test): hindsight $args"
		else
			ok 1 "$(basename "$f" .test): hindsight $args"
			diag "exit $got_exit, want $want_exit; stderr: $(head -3 "$TMP/err")"
			diff "$TMP/cases/$n.out" "$TMP/got" | head -20 | sed 's/^/#   /'
		fi
		n=$((n + 1))
	done
	if [ -n "${GOLDEN_UPDATE:-}" ]; then
		{ sed -n '/^#/p;/^#/!q' "$f"; echo; cat "$TMP/update"; } >"$f.new" && mv "$f.new" "$f"
	fi
done
done_testing

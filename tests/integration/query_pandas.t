#!/bin/sh
# The notebook snippet of README.md runs as written (Debian's
# python3-pandas, pandas read_sql over the views) on the fixture db.
. "$(dirname "$0")/../lib/tap.sh"

# Debian's pandas is installed for the system interpreter.
NB=/usr/bin/python3
"$NB" -c 'import pandas' 2>/dev/null || bail "python3-pandas is not installed (tests/lib/deps.sh)"
sh "$TOP/tests/query/mkfixture.sh" "$TMP/cilium.db" || bail "mkfixture.sh failed"
# The first python block of the README is the runnable snippet.
awk '/^```python$/ { n++; if (n == 1) { on = 1; next } }
	on && /^```$/ { exit } on { print }' "$TOP/README.md" >"$TMP/nb.py"
[ -s "$TMP/nb.py" ]
ok $? "README.md has a notebook snippet"
sum=$(md5sum <"$TMP/cilium.db")
out=$(cd "$TMP" && "$NB" nb.py 2>&1)
ok $? "the snippet runs"
is "$(echo "$out" | awk 'NR > 1 { print $1, $2, $3 }')" \
	"ai-ingressgateway-6bdbdbf7dc-jz85c 12928 5
web-2 23456 15" "it lists both holders of 10.6.6.43 with their identities"
is "$(md5sum <"$TMP/cilium.db")" "$sum" "reading it changed nothing"
done_testing

#!/bin/sh
# churn --last D: the window (now - D, now] to the microsecond, as
# --from -D --to now gives it, on the fixture db (tests/query/mkfixture.sh).
. "$(dirname "$0")/../lib/tap.sh"

db="$TMP/fixture.db"
sh "$TOP/tests/query/mkfixture.sh" "$db" || bail "mkfixture.sh failed"
H="$BIN/hindsight"
hs() { "$H" --db "$db" "$@"; }

# --- churn --last D is the window (now - D, now], to the microsecond -----
# It began at now - D cut to the whole second: up to a second more than
# asked for, and the events in it counted.
span() { # span ECHO-LINE: seconds from the window's start to its end
	"$PY" -c '
import re, sys
from datetime import datetime
t = re.findall(r"(\d{4}-\d\d-\d\dT[\d:.]+)Z", sys.argv[1])
a, b = (datetime.fromisoformat(x) for x in t)
print((b - a).total_seconds())' "$1"
}
is "$(span "$(hs churn --last 1h 2>/dev/null | head -1)")" 3600.0 \
	"churn --last 1h: the window is exactly an hour"
is "$(span "$(hs churn --last 90m --by hour 2>/dev/null | head -1)")" 5400.0 \
	"churn --last 90m: the window is exactly 90 minutes"

done_testing

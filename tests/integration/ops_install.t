#!/bin/sh
# make install into a temporary PREFIX and DESTDIR, as a packager would:
# every file lands, the binaries run, both man pages render without a
# warning and cover every flag, the systemd unit verifies, and the
# Kubernetes manifest and Containerfile say what the README promises.
. "$(dirname "$0")/../lib/tap.sh"

P="$TMP/prefix"
D="$TMP/dest"
make -s -C "$TOP" install PREFIX="$P" >"$TMP/make1.log" 2>&1
ok $? "make install PREFIX=$P"
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr >"$TMP/make2.log" 2>&1
ok $? "make install DESTDIR=... PREFIX=/usr"

files="bin/hindsight bin/hindsight-recorder share/man/man1/hindsight.1
share/man/man8/hindsight-recorder.8 lib/systemd/system/hindsight-recorder.service
share/doc/hindsight/hindsight-recorder.env share/doc/hindsight/Containerfile
share/doc/hindsight/k8s/recorder.yaml share/doc/hindsight/examples/notebook.py
share/doc/hindsight/examples/flows.csv share/doc/hindsight/examples/README.md"
for root in "$P" "$D/usr"; do
	missing=""
	for f in $files; do
		[ -f "$root/$f" ] || missing="$missing $f"
	done
	is "$missing" "" "every file is installed under $root"
done
is "$(cd "$D" && find . -type f | grep -v '^\./usr/' | head -3)" "" \
	"DESTDIR: nothing outside DESTDIR/PREFIX"
[ -x "$P/bin/hindsight" ] && [ -x "$P/bin/hindsight-recorder" ] &&
	[ "$(stat -c %a "$P/share/man/man8/hindsight-recorder.8")" = 644 ]
ok $? "binaries executable, pages 0644"

v1=$("$P/bin/hindsight" --version)
ok $? "installed hindsight --version: $v1"
v2=$("$P/bin/hindsight-recorder" --version)
ok $? "installed hindsight-recorder --version: $v2"
is "${v1#hindsight }" "${v2#hindsight-recorder }" "both report the same version and db format"

# Man pages.
if ! command -v man >/dev/null 2>&1; then
	echo "ok $((TAP_N + 1)) # skip man-db is not installed (Debian package man-db)"
	echo "ok $((TAP_N + 2)) # skip man-db is not installed (Debian package man-db)"
	TAP_N=$((TAP_N + 2))
elif ! command -v groff >/dev/null 2>&1; then
	echo "ok $((TAP_N + 1)) # skip groff is not installed (Debian package groff-base)"
	echo "ok $((TAP_N + 2)) # skip groff is not installed (Debian package groff-base)"
	TAP_N=$((TAP_N + 2))
else
	for page in man1/hindsight.1 man8/hindsight-recorder.8; do
		err=$(MANWIDTH=80 man --warnings -l "$P/share/man/$page" 2>&1 >"$TMP/page.txt")
		[ -z "$err" ] && [ "$(wc -l <"$TMP/page.txt")" -gt 50 ]
		ok $? "man -l $page renders without warnings${err:+: $err}"
	done
fi
# The recorder's page documents every flag its --help lists.
undoc=""
for f in $("$P/bin/hindsight-recorder" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
	grep -qF -- "$(echo "$f" | sed 's/-/\\-/g')" "$P/share/man/man8/hindsight-recorder.8" ||
		undoc="$undoc $f"
done
is "$undoc" "" "hindsight-recorder.8 documents every flag of --help"
undoc=""
for c in $("$P/bin/hindsight" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && $1 != "" { print $1 }'); do
	grep -q "^\\\\fB$c\\\\fR\|^\.BI* \"*$c\|^\.B $c\$" "$P/share/man/man1/hindsight.1" || undoc="$undoc $c"
done
is "$undoc" "" "hindsight.1 documents every command of --help"
for s in "EXIT STATUS" FILES ENVIRONMENT EXAMPLES "FAILURE MODES" SIGNALS; do
	grep -q "^\.SH $s" "$P/share/man/man8/hindsight-recorder.8"
	ok $? "hindsight-recorder.8 has $s"
done

# The systemd unit.
unit="$P/lib/systemd/system/hindsight-recorder.service"
grep -qx "ExecStart=$P/bin/hindsight-recorder --db /var/lib/hindsight/cilium.db \$HINDSIGHT_RECORDER_OPTS" "$unit"
ok $? "the unit starts the installed binary on the db in its StateDirectory"
grep -qx "ExecStart=/usr/bin/hindsight-recorder --db /var/lib/hindsight/cilium.db \$HINDSIGHT_RECORDER_OPTS" \
	"$D/usr/lib/systemd/system/hindsight-recorder.service"
ok $? "with DESTDIR, the path is the final one, without DESTDIR"
for kv in StateDirectory=hindsight Restart=on-failure RestartPreventExitStatus=1 \
	EnvironmentFile=-/etc/default/hindsight-recorder DynamicUser=yes \
	NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	CapabilityBoundingSet= SystemCallFilter=@system-service; do
	grep -qx -- "$kv" "$unit"
	ok $? "unit: $kv"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	# MANPATH: its Documentation= must resolve to the installed pages.
	err=$(cd "$(dirname "$unit")" && MANPATH="$P/share/man" \
		timeout 60 systemd-analyze verify ./hindsight-recorder.service 2>&1)
	is "$err" "" "systemd-analyze verify: no complaint"
else
	echo "ok $((TAP_N + 1)) # skip systemd-analyze is not installed (Debian package systemd)"
	TAP_N=$((TAP_N + 1))
fi
# shellcheck disable=SC1090
(set -a && . "$P/share/doc/hindsight/hindsight-recorder.env" && [ -n "$ETCDCTL_ENDPOINTS" ])
ok $? "the EnvironmentFile example is valid shell assignments with ETCDCTL_ENDPOINTS"

# The Kubernetes manifest.
if "$PY" -c 'import yaml' 2>/dev/null; then
	"$PY" - "$P/share/doc/hindsight/k8s/recorder.yaml" >"$TMP/k8s.out" 2>&1 <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = {d["kind"]: d for d in docs}
dep, pvc = kinds["Deployment"], kinds["PersistentVolumeClaim"]
spec = dep["spec"]; pod = spec["template"]["spec"]; c = pod["containers"][0]
vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
def check(cond, what):
    print(("ok " if cond else "FAIL ") + what)
check(dep["metadata"]["namespace"] == "kube-system", "Deployment in kube-system")
check(pvc["metadata"]["namespace"] == "kube-system", "PVC in kube-system")
check(spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate", "replicas 1, Recreate")
check(spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items(), "selector matches the pod")
sec = [v for v in vols.values() if v.get("secret", {}).get("secretName") == "cilium-etcd-secrets"]
check(len(sec) == 1 and mounts.get(sec[0]["name"]) == "/var/lib/etcd-secrets", "cilium-etcd-secrets at /var/lib/etcd-secrets")
cm = [v for v in vols.values() if v.get("configMap", {}).get("name") == "cilium-config"]
check(len(cm) == 1 and cm[0]["configMap"]["items"] == [{"key": "etcd-config", "path": "etcd.config"}]
      and mounts.get(cm[0]["name"]) == "/var/lib/etcd-config", "cilium-config etcd-config as /var/lib/etcd-config/etcd.config")
args = c["args"]
check(args[args.index("--etcd-config") + 1] == "/var/lib/etcd-config/etcd.config", "--etcd-config names that file")
claim = [n for n, v in vols.items() if v.get("persistentVolumeClaim", {}).get("claimName") == pvc["metadata"]["name"]]
db = args[args.index("--db") + 1]
check(len(claim) == 1 and db.startswith(mounts[claim[0]] + "/"), "the db is on the PVC")
psc, csc = pod["securityContext"], c["securityContext"]
check(psc["runAsNonRoot"] is True and psc["runAsUser"] != 0, "non-root")
check(csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
      and csc["capabilities"]["drop"] == ["ALL"], "read-only root fs, no privilege escalation, no capabilities")
check(any(m == "/tmp" for m in mounts.values()), "a writable /tmp for SQLite")
PY
	is "$(grep -c '^FAIL' "$TMP/k8s.out")" 0 "recorder.yaml: $(tr '\n' ';' <"$TMP/k8s.out")"
else
	echo "ok $((TAP_N + 1)) # skip python3-yaml is not installed (Debian package python3-yaml)"
	TAP_N=$((TAP_N + 1))
fi

# The Containerfile: Debian bookworm stages; the runtime stage installs the
# package of every shared library the binaries need, and no -dev package.
cf="$P/share/doc/hindsight/Containerfile"
is "$(grep -c '^FROM debian:bookworm' "$cf")" 2 "Containerfile: build and runtime stages on Debian bookworm"
runtime=$(sed -n '/^FROM debian:bookworm-slim/,$p' "$cf")
need=""
for b in "$P/bin/hindsight" "$P/bin/hindsight-recorder"; do
	for lib in $(readelf -d "$b" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
		# A SANITIZE= build links the sanitizer runtimes; the image is
		# built without them.
		case $lib in libasan.* | libubsan.*) continue ;; esac
		# The native library, not a 32-bit copy (libc6-i386).
		pkg=$(dpkg -S "*/$lib" 2>/dev/null | grep "/$(gcc -print-multiarch)/" |
			head -1 | cut -d: -f1)
		[ -n "$pkg" ] || pkg=$(dpkg -S "*/$lib" 2>/dev/null | head -1 | cut -d: -f1)
		[ -n "$pkg" ] || pkg="(no package for $lib)"
		[ "$pkg" = libc6 ] && continue
		echo "$runtime" | grep -qw -- "$pkg" || need="$need $pkg($lib)"
	done
done
is "$need" "" "the runtime stage installs every library package the binaries link"
echo "$runtime" | grep -q -- '-dev'
is "$?" 1 "the runtime stage installs no -dev package"
grep -q 'make install PREFIX=/usr DESTDIR=' "$cf"
ok $? "the build stage uses make install"
done_testing

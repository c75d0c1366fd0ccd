#!/usr/bin/env bash
# The Debian package end to end (issue 10): cpack -G DEB from the build tree, dpkg -i, the
# dnsmesh user and /etc/default/dnsmeshd exist, `systemd-analyze verify` accepts the installed
# unit, the installed dnsmeshd started by hand as root with DMP_USER=dnsmesh binds, drops to
# dnsmesh and answers dig after a curl write, then dpkg --purge removes program, state and user.
# Changes the machine: runs only as root, and skips (77) when a dnsmesh package or
# /usr/sbin/dnsmeshd is already there. Kills only the PID it started.
set -euo pipefail
build=$1
[[ $(id -u) == 0 ]] || { echo "skip: needs root (dpkg -i)"; exit 77; }
for t in cpack dpkg dig curl systemd-analyze; do
  command -v "$t" >/dev/null || { echo "skip: needs $t"; exit 77; }
done
if dpkg-query -W -f='${Status}' dnsmesh 2>/dev/null | grep -q installed || [[ -e /usr/sbin/dnsmeshd ]]; then
  echo "skip: a dnsmesh package is already installed"; exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/dmp-pkg-XXXXXX")
pid=
installed=0
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  if ((installed)); then dpkg --purge dnsmesh >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

(cd "$build" && cpack -G DEB -B "$dir/pkg" >"$dir/cpack.log" 2>&1) || { cat "$dir/cpack.log"; exit 1; }
deb=$(ls "$dir"/pkg/dnsmesh_*.deb)
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"
dpkg -i "$deb" >"$dir/dpkg.log" 2>&1 || { cat "$dir/dpkg.log"; exit 1; }
installed=1
getent passwd dnsmesh >/dev/null || { echo "no dnsmesh user"; exit 1; }
[[ -d /var/lib/dnsmesh && $(stat -c %U /var/lib/dnsmesh) == dnsmesh ]] || { echo "state dir"; exit 1; }
grep -q '^#DMP_RRL_RATE=200$' /etc/default/dnsmeshd || { echo "/etc/default/dnsmeshd incomplete"; exit 1; }
for f in /usr/sbin/dnsmeshd /lib/systemd/system/dnsmeshd.service /usr/share/man/man8/dnsmeshd.8.gz; do
  [[ -e $f ]] || { echo "missing $f"; exit 1; }
done
systemd-analyze verify /lib/systemd/system/dnsmeshd.service || { echo "unit does not verify"; exit 1; }
/usr/sbin/dnsmeshd --check-config >/dev/null 2>&1 && echo "check-config (defaults: 0.0.0.0 HTTP, open auth) unexpectedly passed" && exit 1
DMP_HTTP_HOST=127.0.0.1 /usr/sbin/dnsmeshd --check-config

env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DMP_USER=dnsmesh DMP_DB_PATH=/var/lib/dnsmesh/db \
  DMP_DNS_HOST=127.0.0.1 DMP_HTTP_HOST=127.0.0.1 DMP_DNS_PORT=0 DMP_HTTP_PORT=0 \
  DMP_PORTS_FILE="$dir/ports" DMP_SERVED_ZONE=mesh.test \
  /usr/sbin/dnsmeshd >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 200); do [[ -s $dir/ports ]] && break; sleep 0.05; done
[[ -s $dir/ports ]] || { echo "installed node did not start"; cat "$dir/err"; exit 1; }
sleep 0.2
dns=$(sed -E 's/.*dns=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")
http=$(sed -E 's/.*http=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")
for _ in $(seq 1 100); do  # the ports file is written just before the privilege drop
  uid=$(awk '/^Uid:/{print $2}' /proc/$pid/status)
  [[ $uid == $(id -u dnsmesh) ]] && break
  sleep 0.05
done
[[ $uid == $(id -u dnsmesh) ]] || { echo "installed node runs as uid $uid, not dnsmesh"; exit 1; }
out=$(curl -sS -m 5 -X POST "http://127.0.0.1:$http/v1/records/pkg.mesh.test" \
  -H 'Content-Type: application/json' -d '{"value": "v=dmp1;t=chunk;d=cGtn", "ttl": 300}')
[[ $out == '{"ok": true}' ]] || { echo "publish: $out"; exit 1; }
ans=$(dig @127.0.0.1 -p "$dns" +norecurse +short +time=2 +tries=1 pkg.mesh.test TXT)
[[ $ans == '"v=dmp1;t=chunk;d=cGtn"' ]] || { echo "dig: $ans"; exit 1; }
kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
pid=
[[ $rc == 0 ]] || { echo "exit status $rc"; cat "$dir/err"; exit 1; }

dpkg --purge dnsmesh >"$dir/purge.log" 2>&1 || { cat "$dir/purge.log"; exit 1; }
installed=0
for f in /usr/sbin/dnsmeshd /lib/systemd/system/dnsmeshd.service /etc/default/dnsmeshd /var/lib/dnsmesh; do
  [[ ! -e $f ]] || { echo "left behind after purge: $f"; exit 1; }
done
! getent passwd dnsmesh >/dev/null || { echo "user dnsmesh left after purge"; exit 1; }
echo "ok: installed, verified, served as dnsmesh, purged"

# bench/lib.sh: helpers shared by the bench scripts (sourced, not run). Set LIB_NAME (the
# script's name for messages) and WORK (its temp directory) before using them. Processes a
# script starts go into PIDS; lib_stop_all stops exactly those (and what they forked).

PIDS=()
KEEP=${KEEP:-0}

# die MESSAGE: the message on stderr, prefixed with the script's name; exit 2 (bad arguments or
# a missing tool, as every bench script does).
die() {
    echo "${LIB_NAME:-bench}: $*" >&2
    exit 2
}

# int_arg NAME VALUE MIN MAX: VALUE must be a base-10 integer in MIN..MAX.
int_arg() {
    [[ "$2" =~ ^[0-9]+$ ]] || die "$1 needs an integer, got '$2'"
    ((10#$2 >= $3 && 10#$2 <= $4)) || die "$1 must be in $3..$4, got '$2'"
}

# tree_pids PID: PID and all its descendants (NSD forks its server processes).
tree_pids() {
    local p
    echo "$1"
    for p in $(pgrep -P "$1" || true); do tree_pids "$p"; done
}

# stop_pid PID: TERM a process this script started (and everything it forked, which may be
# frozen), KILL what is left after 10 s.
stop_pid() {
    local pid=$1 kids i k
    kill -0 "$pid" 2>/dev/null || return 0
    kids="$(tree_pids "$pid" | tail -n +2)"
    kill -CONT "$pid" $kids 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    for k in $kids; do
        if kill -0 "$k" 2>/dev/null; then
            kill -CONT "$k" 2>/dev/null || true
            kill -KILL "$k" 2>/dev/null || true
        fi
    done
    wait "$pid" 2>/dev/null || true
}

# lib_stop_all: stop every PID in PIDS, then remove WORK (kept, and said so, with KEEP=1).
lib_stop_all() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    [[ -n "${WORK:-}" ]] || return 0
    if [[ $KEEP -eq 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}

# free_port BASE: first port >= BASE with neither a UDP nor a TCP listener (50 tries).
free_port() {
    local p=$1 i
    for ((i = 0; i < 50; i++, p++)); do
        if [[ -z "$(ss -Hlnu "sport = :$p")" && -z "$(ss -Hlnt "sport = :$p")" ]]; then
            echo "$p"
            return 0
        fi
    done
    die "no free port near $1"
}

# knot_zone_conf DIR ZONEFILE: the template and zone sections serving ZONEFILE as mesh.test (the
# peer set-up of dns-vs-peers.sh and one-pass-ab.sh: no semantic checks, no zone file sync, no
# journal), on stdout.
knot_zone_conf() {
    cat <<EOF
template:
  - id: default
    storage: "$1"
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: mesh.test
    file: "$2"
EOF
}

# knot_update_conf DIR SECRET ZONEFILE: the key (bench.mesh.test, hmac-sha256, base64 SECRET),
# an acl allowing it to update, and the template and zone sections serving ZONEFILE as mesh.test
# with the changes journaled (update-vs-knot.sh, queries-under-updates.sh), on stdout.
knot_update_conf() {
    cat <<EOF
key:
  - id: bench.mesh.test
    algorithm: hmac-sha256
    secret: $2
acl:
  - id: update_acl
    key: bench.mesh.test
    action: update
template:
  - id: default
    storage: "$1"
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
zone:
  - domain: mesh.test
    file: "$3"
    acl: update_acl
EOF
}

# knot_server_conf DIR PORT [LOGLEVEL]: the server, log and database sections of a knot.conf
# for one Knot on 127.0.0.1@PORT with one UDP, one TCP and one background worker (the peer
# set-up every bench uses), on stdout; callers append their key, acl, module, template and
# zone sections.
knot_server_conf() {
    cat <<EOF
server:
    rundir: "$1"
    user: root:root
    listen: 127.0.0.1@$2
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    pidfile: "$1/knot.pid"
log:
  - target: "$1/knot.log"
    any: ${3:-info}
database:
    storage: "$1"
EOF
}

# lib_write_node NODE WORK: starts dnsmeshd NODE for the write benchmarks (write-cpu.sh,
# http-syscalls.sh) on a fresh store in WORK: loopback, ephemeral ports, one frontend and one
# shard, every limiter off, 64 HTTP connections per address, pinned to CPU 0. Sets NPID (also
# added to PIDS) and HPORT (its HTTP port); dies if it does not start.
lib_write_node() {
    local node=$1 work=$2
    env DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT=0 DMP_HTTP_HOST=127.0.0.1 DMP_HTTP_PORT=0 \
        DMP_DB_PATH="$work/db" DMP_PORTS_FILE="$work/ports" DMP_DNS_RATE=0 DMP_DNS_BURST=0 \
        DMP_RRL_RATE=0 DMP_HTTP_RATE=0 DMP_HTTP_BURST=0 DMP_HTTP_MAX_PER_IP=64 DMP_FRONTENDS=1 \
        DMP_SHARDS=1 DMP_SERVED_ZONE=mesh.test DMP_DNS_APEX_NS=ns1.mesh.test \
        DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test DMP_LOG_LEVEL=warning \
        taskset -c 0 "$node" >"$work/node.log" 2>&1 &
    NPID=$!
    PIDS+=("$NPID")
    for _ in $(seq 100); do [[ -s $work/ports ]] && break; sleep 0.1; done
    [[ -s $work/ports ]] || { cat "$work/node.log" >&2; die "the node did not start"; }
    HPORT=$(sed 's/.*http=127\.0\.0\.1://' "$work/ports")
}

# shellcheck shell=bash
# bench/store-node.sh: sourced by store-scale.sh and one-pass-ab.sh. store_node_start BIN STORE
# DIR PROBE starts dnsmeshd BIN on the bulk-loaded STORE (loopback, ephemeral ports, one
# frontend and one shard, limiters and RRL off, its threads on core $SERVER_CPU), its output and
# ports file in DIR, and returns once PROBE (a name of the store) is answered over DNS and the
# node's name index (if any) is built; it sets pid (stop it with kill -TERM "$pid"), port (the
# DNS port) and t_first (date +%s.%N when PROBE was first answered).
store_node_start() {
    local bin=$1 store=$2 d=$3 probe=$4
    env DMP_DB_PATH="$store" DMP_DNS_HOST=127.0.0.1 DMP_HTTP_HOST=127.0.0.1 DMP_DNS_PORT=0 \
        DMP_HTTP_PORT=0 DMP_PORTS_FILE="$d/ports" DMP_DNS_RATE=0 DMP_DNS_BURST=0 DMP_RRL_RATE=0 \
        DMP_FRONTENDS=1 DMP_SHARDS=1 DMP_SERVED_ZONE=mesh.test DMP_LOG_LEVEL=warning \
        taskset -c "$SERVER_CPU" "$bin" >"$d/out" 2>&1 &
    # shellcheck disable=SC2034 # pid and port are for the caller
    pid=$!
    for _ in $(seq 1 600); do [[ -s $d/ports ]] && break; sleep 0.02; done
    port=$(sed -E 's/.*dns=127\.0\.0\.1:([0-9]+).*/\1/' "$d/ports")
    # no pipe into grep -q: under pipefail, dig's SIGPIPE when grep quits first would read as
    # "not answered" and the loop would run on
    for _ in $(seq 1 600); do
        [[ -n $(dig +short +tries=1 +time=1 -p "$port" @127.0.0.1 "$probe" TXT) ]] && break
    done
    # shellcheck disable=SC2034 # for the caller: when the node first answered (its cold start)
    t_first=$(date +%s.%N)
    # A node with the name index (DMP_NAME_INDEX, on by default) answers from its first moment
    # but indexes the store in the background (~2 s per 1M names, on the node's core): wait for
    # its walk to end, as Knot's zone load is not measured either, and say how long it took.
    local http m
    http=$(sed -E 's/.*http=([0-9.]+:[0-9]+).*/\1/' "$d/ports")
    for _ in $(seq 1 1200); do
        m=$(curl -s "http://$http/metrics" | grep -E '^dmp_name_index_(ready|build_seconds) ' || true)
        [[ -z $m || $m == *"ready 1"* ]] && break
        sleep 0.05
    done
    [[ -n $m ]] && echo "# $(basename "$bin") on $store: name index walk $(awk '/build_seconds/ {print $2}' <<<"$m") s" >&2
    return 0
}

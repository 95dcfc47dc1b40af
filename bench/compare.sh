#!/usr/bin/env bash
# Measures ws.Callback of this checkout against ws.Callback of an earlier
# commit and the hand-written Go peers in interleaved rounds: in every round
# and scenario each server is measured once, one right after the other, the
# order rotating from round to round, so that all of them see the same
# machine. The report gives medians over the rounds and the ratios measured
# within each round. Writes results.jsonl, RESULTS.md and chart.svg beside
# this script, like run.sh, which measures the Python and Node peers too.
#
#   bench/compare.sh                      BEFORE=21473c8, 3 rounds, about 20 minutes on 2 CPUs
#   ROUNDS=5 PARTS="rows idle" bench/compare.sh
#   BEFORE=<commit> SERVERS="cafeto cafeto-before coder" PARTS=rows bench/compare.sh
#   APPEND=1 PARTS=compression bench/compare.sh   add a part to the last results
#   OUT=check.jsonl REPORT=/tmp/check.md CHART=/tmp/check.svg bench/compare.sh
#                                         keep the published results, write elsewhere
#
# PARTS (default "rows idle compression"):
#   rows         the six request/reply scenarios (1, 100, 1,000 connections,
#                closed loop and 16 in flight) for each of SERVERS (default
#                cafeto cafeto-before router coder gorilla gws echo); besides msg/s,
#                latency and CPU, the server's write and read system calls
#                per reply (/proc/PID/io)
#   idle         resident memory per connection with IDLE_CONNS (10,000)
#                idle connections, for each of SERVERS
#   compression  ws.WithCompression disabled, without and with context
#                takeover (cafeto-off, cafeto-nctx, cafeto-ctx), clients
#                that offer permessage-deflate (coder/websocket), on the chat
#                messages and on messages of 470–500 characters of words;
#                CPU per message and idle memory per connection
#
# The server runs on CPU SERVER_CPU (0), the load generator on CLIENT_CPU (1).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=servers.sh
source ./servers.sh

BEFORE=${BEFORE:-21473c8}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-1}
DURATION=${DURATION:-5}
IDLE_CONNS=${IDLE_CONNS:-10000}
APPEND=${APPEND:-0}
OUT=${OUT:-results.jsonl}
REPORT=${REPORT:-RESULTS.md}
CHART=${CHART:-chart.svg}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
read -r -a PARTS <<<"${PARTS:-rows idle compression}"
read -r -a SERVERS <<<"${SERVERS:-cafeto cafeto-before router coder gorilla gws echo}"
SCENARIOS=("1 1" "1 16" "100 1" "100 16" "1000 1" "1000 16")
COMPRESSION_SERVERS=(cafeto-off cafeto-nctx cafeto-ctx)
COMPRESSION_SCENARIOS=("1 1" "100 16")
LONG=(-message 470-500 -words)

if (($(nproc) < 2)); then
	echo "compare.sh needs two CPUs: one for the server, one for the load generator" >&2
	exit 1
fi
wants() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }
started=$(date +%s)

repo=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
cleanup() {
	stop_server
	release_ports
	git -C "$repo" worktree remove --force "$work/before" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
# The servers listen at PORT_BASE plus an offset; without PORT_BASE, a free
# block is reserved for this run (servers.sh).
reserve_ports

echo "== building the servers and the load generator"
build=("${SERVERS[@]}")
wants compression && build+=(cafeto)
if [[ " ${build[*]} " == *" cafeto-before "* ]]; then
	git -C "$repo" worktree add --detach "$work/before" "$BEFORE" >/dev/null
	export BEFORE_DIR=$work/before
fi
build_go "${build[@]}"

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < IDLE_CONNS + 1000)); then
	IDLE_CONNS=$(($(ulimit -n) - 1000))
	echo "open files limited to $(ulimit -n): idle test with $IDLE_CONNS connections" >&2
fi

env_file=logs/env.txt
[[ $OUT == results.jsonl ]] || env_file=logs/env-$(basename "$OUT" .jsonl).txt
mkdir -p logs
if [[ $APPEND == 1 ]]; then
	if [[ ! -f $OUT || ! -f $env_file ]]; then
		echo "APPEND=1 needs the $OUT and $env_file of an earlier run" >&2
		exit 1
	fi
else
	rm -f "$OUT" logs/*.log
	{
		echo "Run: bench/compare.sh, $ROUNDS interleaved rounds, warm-up ${WARMUP}s, measured window ${DURATION}s, parts: ${PARTS[*]}"
		echo "Pinning: server on CPU $SERVER_CPU, load generator on CPU $CLIENT_CPU"
		echo "Go modules: $(go list -m -f '{{.Path}} {{.Version}}' github.com/coder/websocket github.com/gorilla/websocket github.com/lxzan/gws github.com/go-playground/validator/v10 | paste -sd, - | sed 's/,/, /g')"
	} >"$env_file"
fi
{
	changed=$(git -C "$repo" status --porcelain --untracked-files=no | awk '{print $2}' | cut -d/ -f1-2 | sort -u | paste -sd' ' -)
	echo "This checkout: $(git log -1 --format='%h %s' HEAD)${changed:+ (uncommitted changes in $changed)}"
	[[ -n ${BEFORE_DIR:-} ]] && echo "Before: $(git log -1 --format='%h %s' "$BEFORE")"
	echo "Started: $(date -u '+%Y-%m-%d %H:%M UTC'), parts ${PARTS[*]}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$env_file"

failures=0
# measure KIND SERVER [FLAGS...] starts SERVER on its CPU, runs the load
# generator on the other and stops the server.
measure() {
	local kind=$1 server=$2 url port i
	shift 2
	port=$(server_port "$server")
	url="ws://127.0.0.1:$port/ws"
	# Another program on the port would take the load meant for the server:
	# wait for it to go, for up to 30 s, then let the run fail.
	for ((i = 0; i < 30; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
		((i == 0)) && echo "port $port is taken by another program: waiting" >&2
		sleep 1
	done
	# shellcheck disable=SC2207
	local extra=($(loadgen_flags "$server"))
	start_server "$server" "$SERVER_CPU"
	taskset -c "$CLIENT_CPU" "$BIN/loadgen" "$kind" -url "$url" -pid "$SERVER_PID" -server "$server" \
		-server-cmd "$SERVER_CMD" "$@" "${extra[@]}" -out "$OUT" || failures=$((failures + 1))
	stop_server
}

# rotated ROUND NAME... prints NAME... rotated left by ROUND-1, one a line.
rotated() {
	local r=$1 n i
	shift
	n=$#
	local names=("$@")
	for ((i = 0; i < n; i++)); do
		echo "${names[$(((r - 1 + i) % n))]}"
	done
}

for ((r = 1; r <= ROUNDS; r++)); do
	echo "Round $r: $(date -u +%H:%M) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$env_file"
	if wants rows; then
		k=0
		for sc in "${SCENARIOS[@]}"; do
			read -r conns inflight <<<"$sc"
			k=$((k + 1))
			for server in $(rotated $((r + k)) "${SERVERS[@]}"); do
				echo "== round $r of $ROUNDS: $server, $conns × $inflight"
				measure run "$server" -set rounds -round "$r" -conns "$conns" -inflight "$inflight" \
					-warmup "${WARMUP}s" -duration "${DURATION}s"
			done
		done
	fi
	if wants idle; then
		for server in $(rotated "$r" "${SERVERS[@]}"); do
			echo "== round $r of $ROUNDS: $server, $IDLE_CONNS idle connections"
			measure idle "$server" -set rounds -round "$r" -conns "$IDLE_CONNS" -timeout 5m
		done
	fi
	if wants compression; then
		for sc in "${COMPRESSION_SCENARIOS[@]}"; do
			read -r conns inflight <<<"$sc"
			for long in 0 1; do
				flags=()
				((long)) && flags=("${LONG[@]}")
				for server in $(rotated $((r + long)) "${COMPRESSION_SERVERS[@]}"); do
					echo "== round $r of $ROUNDS: $server, $conns × $inflight ${flags[*]}"
					measure run "$server" -set compression -round "$r" -conns "$conns" -inflight "$inflight" \
						-warmup "${WARMUP}s" -duration "${DURATION}s" "${flags[@]}"
				done
			done
		done
		for long in 0 1; do
			flags=()
			((long)) && flags=("${LONG[@]}")
			for server in $(rotated $((r + long)) "${COMPRESSION_SERVERS[@]}"); do
				echo "== round $r of $ROUNDS: $server, $IDLE_CONNS idle connections ${flags[*]}"
				measure idle "$server" -set compression -round "$r" -conns "$IDLE_CONNS" -timeout 5m "${flags[@]}"
			done
		done
	fi
done

echo "Ended: $(date -u '+%Y-%m-%d %H:%M UTC'), $((($(date +%s) - started) / 60)) min, load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$env_file"
"$BIN/loadgen" report -in "$OUT" -env "$env_file" -md "$REPORT" -svg "$CHART"
echo "== wrote $OUT, $REPORT and $CHART in $(($(date +%s) - started)) s; $failures failed runs"
((failures == 0))

#!/usr/bin/env bash
# Profiles the closed loop: starts a Go benchmark server (default
# ws.Callback, servers/cafeto) with -cpuprofile, sends it COUNT requests on
# CONNS connections, one in flight each, verifies every reply, stops it and
# writes beside the profile what one message costs, stage by stage, and the
# `go tool pprof -top` of the whole run.
#
#   bench/profile.sh                              ws.Callback, 1 connection, 100,000 messages
#   SERVER=gws bench/profile.sh                   a hand-written peer, the same way
#   CONNS=100 COUNT=300000 bench/profile.sh
#   go tool pprof -http=:0 bin/cafeto logs/profile-cafeto-c1.pprof    the flame graph
#
# Writes logs/profile-SERVER-cCONNS.pprof (the profile), .top.txt and .txt
# (the stages, then the top); PROFILE_OUT names them otherwise. The server runs on CPU SERVER_CPU (0), the
# load generator on CLIENT_CPU (1).
#
# The stages are pprof focus and ignore expressions over function names
# (STAGES below): the samples whose stack holds a function of the stage,
# less those of the stage it calls, divided by the messages. Keep the
# expressions in step with the code.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=servers.sh
source ./servers.sh

SERVER=${SERVER:-cafeto}
CONNS=${CONNS:-1}
COUNT=${COUNT:-100000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
name=${PROFILE_OUT:-logs/profile-$SERVER-c$CONNS}

# Stages, three words each: the name, the pprof -focus expression (samples
# whose stack holds a matching function) and the -ignore expression
# (samples left out of it again; "-" for none).
W='ws\.\(\*Conn\)\.writeLocked$|websocket\.\(\*Conn\)\.(Write|WriteMessage)$|gws\.\(\*Conn\)\.WriteMessage$'
F='^bufio\.\(\*Writer\)\.Flush$|ws\.\(\*transport\)\.(flush|sendLocked|settle)$'
V='go-playground/validator|ws\.\(\*model\)\.check$'
STAGES=(
	"read" 'ws\.\(\*Conn\)\.(read|readMessage)$|websocket\.\(\*Conn\)\.(Reader|NextReader|readLoop)$|\(\*FD\)\.Read$' -
	"takeover/read-ahead" '^time\.\(\*Timer\)\.(Reset|Stop)$|^time\.AfterFunc$|ws\.\(\*Conn\)\.(takeOver|readAhead|waitAhead|awaitPeer|interruptLocked|resumeLocked|dataBuffered)$' -
	"decode" 'ws\.\(\*decoder\[|^encoding/json\.Unmarshal$|chat\.\(\*Handler\)\.Handle$' "$V|$W"
	"validate" "$V" -
	"call" '^main\.' -
	"encode" 'ws\.\(\*Conn\)\.(sendEnvelope|sendEventLocked)$|ws\.writeEnvelope$|^encoding/json\.(Marshal|\(\*Encoder\)\.Encode)$' "$W"
	"write" "$W" "$F"
	"flush" "$F" -
)

reserve_ports
trap 'stop_server; release_ports' EXIT
build_go "$SERVER"
if ! available "$SERVER"; then
	echo "profile.sh: $SERVER is not a Go benchmark server that builds" >&2
	exit 1
fi
mkdir -p logs "$(dirname "$name")"
rm -f "$name.pprof"

url="ws://127.0.0.1:$(server_port "$SERVER")/ws"
# shellcheck disable=SC2207
extra=($(loadgen_flags "$SERVER"))
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start_server "$SERVER" "$SERVER_CPU" -cpuprofile "$name.pprof"
client_cmd=(taskset -c "$CLIENT_CPU" "$BIN/loadgen" run -url "$url" -pid "$SERVER_PID" -server "$SERVER"
	-conns "$CONNS" -inflight 1 -count "$COUNT" -timeout 10m "${extra[@]}")
summary=$("${client_cmd[@]}")
echo "$summary"
stop_server
if [[ ! -s $name.pprof ]]; then
	echo "profile.sh: the server wrote no profile" >&2
	exit 1
fi

go tool pprof -top -nodecount=60 "$BIN/$SERVER" "$name.pprof" >"$name.top.txt" 2>/dev/null
total=$(grep -m1 -o 'of [0-9.]*m\?s total' "$name.top.txt" | grep -o '[0-9.]*m\?s')

# seconds turns a pprof duration (1.20s, 340ms) into seconds.
seconds() {
	case $1 in
	*ms) awk -v v="${1%ms}" 'BEGIN { printf "%.4f", v / 1000 }' ;;
	*s) echo "${1%s}" ;;
	*) echo 0 ;;
	esac
}
total_s=$(seconds "$total")
{
	echo "Closed loop: $SERVER, $CONNS connection(s), $COUNT verified messages, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "Load average before: $load_before; Go $(go env GOVERSION)"
	echo "Server: $SERVER_CMD"
	echo "Client: ${client_cmd[*]}"
	echo "Loadgen: $summary"
	echo "Profile: $name.pprof, $total of samples in all ($(awk -v t="$total_s" -v n="$COUNT" 'BEGIN { printf "%.2f", t * 1e6 / n }') µs a message)"
	echo
	echo "One message, stage by stage: the samples whose stack holds a function of the stage, less those of the"
	echo "stage it calls (decode without validate, encode without write, write without flush); the rest is the"
	echo "runtime, the scheduler and what no stage names (the expressions are in bench/profile.sh):"
	echo
	printf "%-24s %10s %8s %12s\n" stage "CPU" "share" "µs / msg"
	for ((i = 0; i < ${#STAGES[@]}; i += 3)); do
		ignore=()
		[[ ${STAGES[i + 2]} == - ]] || ignore=(-ignore="${STAGES[i + 2]}")
		# With every node listed, "Showing nodes accounting for" is the
		# total of the samples kept.
		line=$(go tool pprof -top -nodecount=1000000 -focus="${STAGES[i + 1]}" "${ignore[@]}" "$BIN/$SERVER" "$name.pprof" 2>/dev/null |
			grep -m1 'Showing nodes accounting for' || true)
		cpu=$(sed -n 's/.*accounting for \([0-9.]*m\?s\), \([0-9.]*%\) of.*/\1/p' <<<"$line")
		share=$(sed -n 's/.*accounting for \([0-9.]*m\?s\), \([0-9.]*%\) of.*/\2/p' <<<"$line")
		if [[ -z $cpu ]]; then
			cpu=0s share=0%
		fi
		printf "%-24s %10s %8s %12s\n" "${STAGES[i]}" "$cpu" "$share" \
			"$(awk -v t="$(seconds "$cpu")" -v n="$COUNT" 'BEGIN { printf "%.3f", t * 1e6 / n }')"
	done
	echo
	echo "go tool pprof -top $BIN/$SERVER $name.pprof:"
	echo
	cat "$name.top.txt"
} >"$name.txt"
echo "== wrote $name.txt (stages and top) and $name.pprof"

#!/usr/bin/env bash
# Runs the whole benchmark on this machine and writes RESULTS.md, chart.svg
# and results.jsonl beside this script. Needs root for apt-get, 2 or more
# CPUs, and reaches only the Go module proxy, Debian and npm.
#
#   bench/run.sh                       full run: about 20 minutes on a quiet machine, 25 at most
#   QUICK=1 bench/run.sh               short windows, 2,000 idle connections, about 5 minutes
#   SERVERS="cafeto coder" bench/run.sh   only some servers
#   NO_INSTALL=1 bench/run.sh          skip apt-get and npm
#   VERIFY_ONLY=1 bench/run.sh         install and build what is missing, then only
#                                      the short verified run of every server
#   SERVERS="cafeto cafeto-jsonv2" bench/run.sh
#                                      ws.Callback built with GOEXPERIMENT=jsonv2 beside it
#   APPEND=1 IDLE=0 SERVERS="cafeto coder" bench/run.sh
#                                      measure some servers again and add the
#                                      attempts to the last run's results
#   APPEND=1 ROWS=0 IDLE=0 SERVERS="cafeto coder" bench/run.sh
#                                      only the back-to-back repetitions
#   APPEND=1 IDLE=0 SERVERS="cafeto router" AB_PAIR="router cafeto" bench/run.sh
#                                      the ws.Router row, and ws.Router and
#                                      ws.Callback back to back
#
# After the rows, the two servers of AB_PAIR (default: ws.Callback and the
# coder baseline) are measured again AB_REPS times back to back, one right
# after the other, for every scenario.
#
# Every requested server must be installed (missing peers are installed)
# and pass a short verified run first, or the script stops with an error
# (SKIP_MISSING=1 leaves out the servers that are missing). The servers
# listen at PORT_BASE plus an offset; without PORT_BASE, a free block of
# ports is reserved for the run, so that two runs do not collide.
#
# Before each row the script waits for the machine to be nearly idle, and it
# measures a row again (ATTEMPTS in all) when the rest of the machine used
# more than MAX_OTHER % of a CPU during the window, as long as the run is
# within BUDGET_MIN minutes.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=servers.sh
source ./servers.sh
# The servers listen at PORT_BASE plus an offset; without PORT_BASE, a free
# block is reserved for this run (servers.sh).
reserve_ports
trap 'stop_server; release_ports' EXIT

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
	WARMUP=1 DURATION=3 IDLE_CONNS=2000 ATTEMPTS=${ATTEMPTS:-1} BUDGET_MIN=${BUDGET_MIN:-8} AB_REPS=${AB_REPS:-0}
else
	WARMUP=2 DURATION=8 IDLE_CONNS=10000 ATTEMPTS=${ATTEMPTS:-3} BUDGET_MIN=${BUDGET_MIN:-24} AB_REPS=${AB_REPS:-3}
fi
AB_DURATION=5
MAX_OTHER=${MAX_OTHER:-25}
APPEND=${APPEND:-0}
IDLE=${IDLE:-1}
ROWS=${ROWS:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SCENARIOS=("1 1" "1 16" "100 1" "100 16" "1000 1" "1000 16")
read -r -a SERVERS <<<"${SERVERS:-cafeto router coder gorilla gws fastapi nestjs nodews echo}"
read -r -a AB_PAIR <<<"${AB_PAIR:-cafeto coder}"

if (($(nproc) < 2)); then
	echo "run.sh needs two CPUs: one for the server, one for the load generator" >&2
	exit 1
fi
started=$(date +%s)

wants() {
	local s
	for s in "${SERVERS[@]}"; do
		for want in "$@"; do
			[[ $s == "$want" ]] && return 0
		done
	done
	return 1
}

# A peer that is missing is installed (FastAPI and uvicorn from Debian, the
# Node.js servers with npm); one that is still missing afterwards, or with
# NO_INSTALL=1, ends the run here, loudly, unless SKIP_MISSING=1.
if [[ ${NO_INSTALL:-0} != 1 ]]; then
	if wants fastapi && ! available fastapi; then
		echo "== installing FastAPI and uvicorn from Debian"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			python3-fastapi python3-uvicorn python3-websockets python3-uvloop python3-httptools >/dev/null
	fi
	if { wants nestjs && ! available nestjs; } || { wants nodews && ! available nodews; }; then
		echo "== installing the Node.js servers"
		(cd servers/node && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
	fi
fi

echo "== building the Go servers and the load generator"
go_wanted=()
for s in "${SERVERS[@]}"; do
	[[ " ${GO_SERVERS[*]} ${COMPARE_SERVERS[*]} ${EXTRA_SERVERS[*]} " == *" $s "* ]] && go_wanted+=("$s")
done
build_go "${go_wanted[@]}"

# Every connection is a file descriptor in the server and in the client.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < IDLE_CONNS + 1000)); then
	IDLE_CONNS=$(($(ulimit -n) - 1000))
	echo "open files limited to $(ulimit -n): idle test with $IDLE_CONNS connections" >&2
fi

# write_env prints the environment lines of the report.
write_env() {
	local mode=full
	[[ $QUICK == 1 ]] && mode=QUICK=1
	echo "Run: $mode, warm-up ${WARMUP}s, measured window ${DURATION}s"
	if ((AB_REPS > 0)); then
		echo "Back to back: $AB_REPS repetitions of ${AB_PAIR[*]}, warm-up 1s, measured window ${AB_DURATION}s"
	fi
	echo "Retries: each row starts once the machine is nearly idle (or after 30 s) and is measured again, up to $ATTEMPTS attempts in all, when the rest of the machine used more than $MAX_OTHER% of a CPU during its window, while the run is within $BUDGET_MIN min"
	echo "Pinning: server on CPU $SERVER_CPU, load generator on CPU $CLIENT_CPU"
	echo "Load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "Go modules: $(go list -m -f '{{.Path}} {{.Version}}' github.com/coder/websocket github.com/gorilla/websocket github.com/lxzan/gws github.com/go-playground/validator/v10 | paste -sd, - | sed 's/,/, /g')"
	if wants fastapi; then
		echo "Python: $(/usr/bin/python3 -c 'import sys, fastapi, pydantic, uvicorn, starlette, websockets
v = lambda m: getattr(m, "__version__", getattr(m, "VERSION", "?"))
print(sys.version.split()[0], "with FastAPI", v(fastapi), "pydantic", v(pydantic), "starlette", v(starlette), "uvicorn", v(uvicorn), "websockets", v(websockets))' 2>/dev/null || echo "not installed")"
	fi
	if wants nestjs nodews; then
		echo "Node.js: $(node --version) with NestJS $(node -p 'require("./servers/node/node_modules/@nestjs/core/package.json").version'), @nestjs/platform-ws $(node -p 'require("./servers/node/node_modules/@nestjs/platform-ws/package.json").version'), class-validator $(node -p 'require("./servers/node/node_modules/class-validator/package.json").version'), ws $(node -p 'require("./servers/node/node_modules/ws/package.json").version')"
	fi
}

failures=0
skipped=()
runnable=()
for server in "${SERVERS[@]}"; do
	if available "$server"; then
		runnable+=("$server")
	elif [[ ${SKIP_MISSING:-0} == 1 ]]; then
		echo "== $server is not available: skipped" >&2
		skipped+=("$server")
	else
		echo "run.sh: $server is not installed or does not build (see above); SKIP_MISSING=1 runs without it" >&2
		exit 1
	fi
done

# Every server must first pass a short verified run, closed loop and
# pipelined, before anything is measured; VERIFY_ONLY=1 stops after it.
verify() {
	local server=$1 url rc=0
	url="ws://127.0.0.1:$(server_port "$server")/ws"
	# shellcheck disable=SC2207
	local extra=($(loadgen_flags "$server"))
	start_server "$server"
	"$BIN/loadgen" run -url "$url" -pid "$SERVER_PID" -server "$server" -conns 3 -inflight 1 -count 300 -timeout 30s "${extra[@]}" &&
		"$BIN/loadgen" run -url "$url" -pid "$SERVER_PID" -server "$server" -conns 3 -inflight 16 -count 600 -timeout 30s "${extra[@]}" || rc=$?
	stop_server
	return $rc
}
echo "== verifying every server"
mkdir -p logs
for server in "${runnable[@]}"; do
	if ! verify "$server" >"logs/verify-$server.txt" 2>&1; then
		cat "logs/verify-$server.txt" >&2
		echo "run.sh: $server failed its verification run" >&2
		exit 1
	fi
	echo "   $server: $(grep -c 'failures 0' "logs/verify-$server.txt") verified runs"
done
if [[ ${VERIFY_ONLY:-0} == 1 ]]; then
	exit 0
fi

env_file=logs/env.txt
if [[ $APPEND == 1 ]]; then
	if [[ ! -f results.jsonl || ! -f $env_file ]]; then
		echo "APPEND=1 needs the results.jsonl and $env_file of an earlier run" >&2
		exit 1
	fi
else
	rm -rf logs results.jsonl
fi
mkdir -p logs
trap 'stop_server; release_ports' EXIT

if [[ $APPEND == 1 ]]; then
	{
		echo "Added pass: ${SERVERS[*]} (rows: $ROWS, idle: $IDLE, back-to-back repetitions: $AB_REPS) from $(date -u +%H:%M) UTC, load average before it $(cut -d' ' -f1-3 /proc/loadavg)"
		if ((AB_REPS > 0)); then
			echo "Back to back: $AB_REPS repetitions of ${AB_PAIR[*]}, warm-up 1s, measured window ${AB_DURATION}s"
		fi
	} >>"$env_file"
else
	write_env >"$env_file"
fi

# in_budget reports whether there is time to wait or to measure a row again
# and still finish the rows left, one attempt each, within BUDGET_MIN.
rows_left=0 idle_left=0 ab_left=0
[[ $ROWS == 1 ]] && rows_left=$((${#runnable[@]} * ${#SCENARIOS[@]}))
[[ $IDLE == 1 ]] && idle_left=${#runnable[@]}
if [[ " ${runnable[*]} " == *" ${AB_PAIR[0]} "* && " ${runnable[*]} " == *" ${AB_PAIR[1]} "* ]]; then
	ab_left=$((AB_REPS * ${#SCENARIOS[@]} * 2))
fi
in_budget() {
	local need=$((rows_left * (WARMUP + DURATION + 5) + idle_left * 30 + ab_left * (AB_DURATION + 5)))
	(($(date +%s) - started + need < BUDGET_MIN * 60))
}

# measure KIND SERVER [FLAGS...] starts SERVER on its CPU, runs the load
# generator on the other and stops the server; it returns the load
# generator's status.
measure() {
	local kind=$1 server=$2 url rc=0
	shift 2
	url="ws://127.0.0.1:$(server_port "$server")/ws"
	# shellcheck disable=SC2207
	local extra=($(loadgen_flags "$server"))
	if in_budget; then
		"$BIN/loadgen" quiet -below 10 -for 2s -timeout 30s
	fi
	start_server "$server" "$SERVER_CPU"
	taskset -c "$CLIENT_CPU" "$BIN/loadgen" "$kind" -url "$url" -pid "$SERVER_PID" -server "$server" \
		-server-cmd "$SERVER_CMD" "$@" "${extra[@]}" -out results.jsonl || rc=$?
	stop_server
	return $rc
}

for server in "${runnable[@]}"; do
	echo "== $server"
	for sc in "${SCENARIOS[@]}"; do
		[[ $ROWS == 1 ]] || break
		read -r conns inflight <<<"$sc"
		for ((attempt = 1; ; attempt++)); do
			rc=0
			measure run "$server" -conns "$conns" -inflight "$inflight" \
				-warmup "${WARMUP}s" -duration "${DURATION}s" -max-other "$MAX_OTHER" || rc=$?
			if ((rc == 3)) && ((attempt < ATTEMPTS)) && in_budget; then
				echo "   disturbed: measuring again"
				continue
			fi
			if ((rc != 0 && rc != 3)); then
				failures=$((failures + 1))
			fi
			break
		done
		rows_left=$((rows_left - 1))
	done
	if [[ $IDLE == 1 ]]; then
		measure idle "$server" -conns "$IDLE_CONNS" -timeout 5m || failures=$((failures + 1))
	fi
	idle_left=$((idle_left - 1))
done

# The default pair keeps the set name of earlier runs.
ab_set=ab
[[ "${AB_PAIR[*]}" == "cafeto coder" ]] || ab_set="ab-${AB_PAIR[0]}-${AB_PAIR[1]}"
for ((rep = 1; ab_left > 0; rep++)); do
	echo "== ${AB_PAIR[*]} back to back, repetition $rep of $AB_REPS"
	pair=("${AB_PAIR[0]}" "${AB_PAIR[1]}")
	((rep % 2 == 0)) && pair=("${AB_PAIR[1]}" "${AB_PAIR[0]}")
	for sc in "${SCENARIOS[@]}"; do
		read -r conns inflight <<<"$sc"
		for server in "${pair[@]}"; do
			rc=0
			measure run "$server" -set "$ab_set" -conns "$conns" -inflight "$inflight" \
				-warmup 1s -duration "${AB_DURATION}s" -max-other "$MAX_OTHER" || rc=$?
			# 3: disturbed; the report leaves the repetition out.
			((rc == 0 || rc == 3)) || failures=$((failures + 1))
			ab_left=$((ab_left - 1))
		done
	done
done

if ((${#skipped[@]} > 0)); then
	echo "Not run: ${skipped[*]}" >>"$env_file"
fi
if [[ $APPEND == 1 ]]; then
	echo "Duration of the added pass: $((($(date +%s) - started) / 60)) min" >>"$env_file"
else
	echo "Duration of the whole run: $((($(date +%s) - started) / 60)) min" >>"$env_file"
fi
"$BIN/loadgen" report -in results.jsonl -env "$env_file" -md RESULTS.md -svg chart.svg
echo "== wrote bench/RESULTS.md and bench/chart.svg in $(($(date +%s) - started)) s; $failures failed runs"
((failures == 0))

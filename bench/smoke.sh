#!/usr/bin/env bash
# Short check for CI: vets and tests the bench module, runs the fan-out
# comparison with centrifuge for a few messages, then sends a few hundred
# messages to each Go benchmark server (and to cafeto-jsonv2 when the
# toolchain builds it), closed loop and pipelined, verifies every reply, and
# opens a few hundred connections to the hub-room server through scale mode,
# with one broadcast, and profiles a short closed loop (profile.sh). Exits
# non-zero when anything fails.
#
#   bench/smoke.sh                 the Go servers
#   PEERS=1 bench/smoke.sh         also FastAPI, NestJS and Node ws, which
#                                  must be installed (bench/run.sh installs them)
#
# The programs are built into a directory of their own and the servers
# listen on a block of ports reserved for this run (servers.sh), so that two
# smoke runs, in one checkout or two, can run at once.
set -uo pipefail
cd "$(dirname "$0")"
# shellcheck source=servers.sh
source ./servers.sh

BIN=$(mktemp -d)
export BIN
cleanup() {
	stop_server
	release_ports
	rm -rf "$BIN"
}
trap cleanup EXIT
reserve_ports || exit 1

passed=0
failed=0
check() {
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
	fi
}

smoke_server() {
	local server=$1 url
	url="ws://127.0.0.1:$(server_port "$server")/ws"
	# shellcheck disable=SC2207
	local extra=($(loadgen_flags "$server"))
	start_server "$server"
	"$BIN/loadgen" run -url "$url" -pid "$SERVER_PID" -server "$server" -conns 3 -inflight 1 -count 300 -timeout 30s "${extra[@]}" &&
		"$BIN/loadgen" run -url "$url" -pid "$SERVER_PID" -server "$server" -conns 3 -inflight 16 -count 600 -timeout 30s "${extra[@]}"
	local rc=$?
	stop_server
	return $rc
}

smoke_scale() {
	local url
	url="ws://127.0.0.1:$(server_port hubroom)/ws"
	start_server hubroom
	"$BIN/loadgen" scale -url "$url" -pid "$SERVER_PID" -server hubroom -conns 300 -per-worker 150 -settle 1s \
		-idle 1s -broadcasts 1 -timeout 60s
	local rc=$?
	stop_server
	return $rc
}

check "go vet ./..." go vet ./...
check "go test ./..." go test -count=1 ./...
check "fan-out comparison, 20 messages" go test -count=1 -run '^$' -bench FanoutPeer -benchtime 20x ./fanout
check "fan-out over Redis, 20 messages" go test -count=1 -run '^$' -bench FanoutRedis -benchtime 20x ./fanout
servers=("${GO_SERVERS[@]}")
if [[ ${PEERS:-0} == 1 ]]; then
	servers+=("${PEER_SERVERS[@]}")
fi
if ! build_go "${GO_SERVERS[@]}" "${EXTRA_SERVERS[@]}"; then
	failed=$((failed + ${#GO_SERVERS[@]}))
else
	for s in "${servers[@]}"; do
		if ! available "$s"; then
			failed=$((failed + 1))
			echo "FAIL $s (not built or not installed)"
			continue
		fi
		check "$s" smoke_server "$s"
	done
	# Not a requirement: a toolchain without the experiment skips it.
	if [[ -x $BIN/cafeto-jsonv2 ]]; then
		check "cafeto-jsonv2 (GOEXPERIMENT=jsonv2)" smoke_server cafeto-jsonv2
	else
		echo "skip cafeto-jsonv2 (does not build with GOEXPERIMENT=jsonv2)"
	fi
	check "profile.sh, 2,000 messages" env COUNT=2000 PROFILE_OUT="$BIN/profile" ./profile.sh
	if [[ -x $BIN/hubroom ]]; then
		check "scale, 300 connections in one hub room" smoke_scale
	else
		failed=$((failed + 1))
		echo "FAIL hubroom (does not build)"
	fi
fi
echo "smoke: $passed passed, $failed failed"
((failed == 0))

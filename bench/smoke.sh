#!/usr/bin/env bash
# Short check for CI: vets and tests the bench module, runs the fan-out
# comparison with centrifuge for a few messages, then sends a few hundred
# messages to each Go benchmark server, closed loop and pipelined, and
# verifies every reply. Exits non-zero when anything fails.
set -uo pipefail
cd "$(dirname "$0")"
# shellcheck source=servers.sh
source ./servers.sh

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
	bin/loadgen run -url "$url" -pid "$SERVER_PID" -server "$server" -conns 3 -inflight 1 -count 300 -timeout 30s "${extra[@]}" &&
		bin/loadgen run -url "$url" -pid "$SERVER_PID" -server "$server" -conns 3 -inflight 16 -count 600 -timeout 30s "${extra[@]}"
	local rc=$?
	stop_server
	return $rc
}

trap stop_server EXIT
check "go vet ./..." go vet ./...
check "go test ./..." go test -count=1 ./...
check "fan-out comparison, 20 messages" go test -count=1 -run '^$' -bench FanoutPeer -benchtime 20x ./fanout
if ! build_go "${GO_SERVERS[@]}"; then
	failed=$((failed + ${#GO_SERVERS[@]}))
else
	for s in "${GO_SERVERS[@]}"; do
		if [[ -x bin/$s ]]; then
			check "$s" smoke_server "$s"
		else
			failed=$((failed + 1))
			echo "FAIL $s (does not build)"
		fi
	done
fi
echo "smoke: $passed passed, $failed failed"
((failed == 0))

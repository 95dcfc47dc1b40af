# Sourced by run.sh and smoke.sh: the benchmark servers and how to start them.
# Run from the bench directory.

# GO_SERVERS are built from servers/NAME into bin/NAME.
GO_SERVERS=(cafeto router coder gorilla gws echo)
PEER_SERVERS=(fastapi nestjs nodews)
# COMPARE_SERVERS are the variants compare.sh adds: cafeto-before is
# servers/cafeto of the checkout in $BEFORE_DIR (an earlier commit), built
# into bin/cafeto-before; cafeto-off, cafeto-nctx and cafeto-ctx are
# bin/cafeto with compression disabled, without and with context takeover,
# driven by clients that offer permessage-deflate, as browsers do.
COMPARE_SERVERS=(cafeto-before cafeto-off cafeto-nctx cafeto-ctx)

# server_port NAME prints the port NAME listens on; every server has its own.
server_port() {
	case $1 in
	cafeto) echo 9301 ;;
	coder) echo 9302 ;;
	gorilla) echo 9303 ;;
	gws) echo 9304 ;;
	echo) echo 9305 ;;
	fastapi) echo 9306 ;;
	nestjs) echo 9307 ;;
	nodews) echo 9308 ;;
	router) echo 9309 ;;
	cafeto-before) echo 9310 ;;
	cafeto-off) echo 9311 ;;
	cafeto-nctx) echo 9312 ;;
	cafeto-ctx) echo 9313 ;;
	*) return 1 ;;
	esac
}

# server_cmd NAME PORT prints the command line that starts NAME.
server_cmd() {
	case $1 in
	fastapi) echo "/usr/bin/python3 servers/fastapi/server.py --port $2" ;;
	nestjs) echo "node servers/node/dist/nest/main.js --port $2" ;;
	nodews) echo "node servers/node/src/ws-server.js --port $2" ;;
	cafeto-off) echo "bin/cafeto -port $2 -compression disabled" ;;
	cafeto-nctx) echo "bin/cafeto -port $2 -compression no-context-takeover" ;;
	cafeto-ctx) echo "bin/cafeto -port $2 -compression context-takeover" ;;
	*) echo "bin/$1 -port $2" ;;
	esac
}

# loadgen_flags NAME prints the load generator flags NAME needs.
loadgen_flags() {
	case $1 in
	echo) echo "-echo" ;;
	router) echo "-event chat.send" ;;
	cafeto-off | cafeto-nctx | cafeto-ctx) echo "-compression context-takeover" ;;
	esac
}

# start_server NAME [CPU] starts NAME, pinned to CPU when one is given,
# logging to logs/NAME.log, and sets SERVER_PID and SERVER_CMD. taskset execs
# the server, so the PID is the server's own.
start_server() {
	local port
	port=$(server_port "$1")
	SERVER_CMD=$(server_cmd "$1" "$port")
	if [[ -n ${2:-} ]]; then
		SERVER_CMD="taskset -c $2 $SERVER_CMD"
	fi
	mkdir -p logs
	# shellcheck disable=SC2086
	$SERVER_CMD >>"logs/$1.log" 2>&1 &
	SERVER_PID=$!
}

# stop_server ends the server that start_server started.
stop_server() {
	if [[ -n ${SERVER_PID:-} ]]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=
	fi
}

# build_go NAME... builds the load generator and the Go servers NAME... into
# bin/. A server that does not build is left out, with a message.
# cafeto-before is built from $BEFORE_DIR/bench; the compression variants
# need bin/cafeto.
build_go() {
	mkdir -p bin
	go build -o bin/loadgen ./loadgen || return 1
	local s
	for s in "$@"; do
		case $s in
		cafeto-off | cafeto-nctx | cafeto-ctx) s=cafeto ;;
		esac
		rm -f "bin/$s"
		if [[ $s == cafeto-before ]]; then
			if [[ -z ${BEFORE_DIR:-} ]]; then
				echo "cafeto-before needs BEFORE_DIR, a checkout of the earlier commit: skipped" >&2
				continue
			fi
			(cd "$BEFORE_DIR/bench" && go build -o "$OLDPWD/bin/$s" ./servers/cafeto) ||
				echo "servers/cafeto of $BEFORE_DIR does not build: skipped" >&2
			continue
		fi
		go build -o "bin/$s" "./servers/$s" || echo "servers/$s does not build: skipped" >&2
	done
}

# Sourced by run.sh and smoke.sh: the benchmark servers and how to start them.
# Run from the bench directory.

# BIN is where the Go programs are built (default bin): smoke.sh builds into
# a directory of its own, so that runs in one checkout do not replace each
# other's programs.
BIN=${BIN:-bin}

# GO_SERVERS are built from servers/NAME into $BIN/NAME.
GO_SERVERS=(cafeto router coder gorilla gws echo)
PEER_SERVERS=(fastapi nestjs nodews)
# COMPARE_SERVERS are the variants compare.sh adds: cafeto-before is
# servers/cafeto of the checkout in $BEFORE_DIR (an earlier commit), built
# into $BIN/cafeto-before; cafeto-off, cafeto-nctx and cafeto-ctx are
# $BIN/cafeto with compression disabled, without and with context takeover,
# driven by clients that offer permessage-deflate, as browsers do.
COMPARE_SERVERS=(cafeto-before cafeto-off cafeto-nctx cafeto-ctx)
# EXTRA_SERVERS are built on demand: cafeto-jsonv2 is servers/cafeto built
# with GOEXPERIMENT=jsonv2 (encoding/json backed by encoding/json/v2), a row
# that says what the experiment would bring, not a requirement: when the
# toolchain does not build it, it is skipped; hubroom is ws.Callback with
# every connection in one hub room and a broadcast trigger, for scale.sh.
EXTRA_SERVERS=(cafeto-jsonv2 hubroom)

# Ports. Every server listens at PORT_BASE plus its own offset, so that the
# servers of one run never share a port. Without PORT_BASE in the
# environment, reserve_ports picks a free block of PORT_SPAN ports below the
# ephemeral range at random and reserves it until the script exits (a
# directory under PORT_LOCKS holding the script's PID; a reservation whose
# process is gone is taken over): two runs on one machine never collide.
# PORT_BASE=9300 gives the ports of earlier runs (cafeto 9301, coder 9302, ...).
PORT_SPAN=32
PORT_LOCKS=${TMPDIR:-/tmp}/cafeto-bench-ports

# reserve_ports sets and exports PORT_BASE unless it is set already.
reserve_ports() {
	[[ -n ${PORT_BASE:-} ]] && return 0
	mkdir -p "$PORT_LOCKS"
	local base dir holder i p taken
	for ((i = 0; i < 500; i++)); do
		base=$((10000 + RANDOM % 680 * PORT_SPAN))
		dir=$PORT_LOCKS/$base
		if ! mkdir "$dir" 2>/dev/null; then
			holder=$(cat "$dir/pid" 2>/dev/null || true)
			# A reservation just made may not hold its PID yet: leave it.
			if [[ -z $holder ]] || kill -0 "$holder" 2>/dev/null; then
				continue
			fi
			rm -rf "$dir"
			mkdir "$dir" 2>/dev/null || continue
		fi
		echo $$ >"$dir/pid"
		taken=0
		for ((p = base; p < base + PORT_SPAN; p++)); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
				taken=1
				break
			fi
		done
		if ((taken)); then
			rm -rf "$dir"
			continue
		fi
		export PORT_BASE=$base
		PORTS_RESERVED=$dir
		return 0
	done
	echo "no free block of $PORT_SPAN ports found: set PORT_BASE" >&2
	return 1
}

# release_ports gives back the block reserve_ports reserved.
release_ports() {
	if [[ -n ${PORTS_RESERVED:-} ]]; then
		rm -rf "$PORTS_RESERVED"
		PORTS_RESERVED=
	fi
}

# server_port NAME prints the port NAME listens on; every server has its own.
server_port() {
	local n
	case $1 in
	cafeto) n=1 ;;
	coder) n=2 ;;
	gorilla) n=3 ;;
	gws) n=4 ;;
	echo) n=5 ;;
	fastapi) n=6 ;;
	nestjs) n=7 ;;
	nodews) n=8 ;;
	router) n=9 ;;
	cafeto-before) n=10 ;;
	cafeto-off) n=11 ;;
	cafeto-nctx) n=12 ;;
	cafeto-ctx) n=13 ;;
	cafeto-jsonv2) n=14 ;;
	hubroom) n=15 ;;
	*) return 1 ;;
	esac
	if [[ -z ${PORT_BASE:-} ]]; then
		echo "server_port: PORT_BASE is not set (reserve_ports sets it)" >&2
		return 1
	fi
	echo $((PORT_BASE + n))
}

# server_cmd NAME PORT prints the command line that starts NAME.
server_cmd() {
	case $1 in
	fastapi) echo "/usr/bin/python3 servers/fastapi/server.py --port $2" ;;
	nestjs) echo "node servers/node/dist/nest/main.js --port $2" ;;
	nodews) echo "node servers/node/src/ws-server.js --port $2" ;;
	cafeto-off) echo "$BIN/cafeto -port $2 -compression disabled" ;;
	cafeto-nctx) echo "$BIN/cafeto -port $2 -compression no-context-takeover" ;;
	cafeto-ctx) echo "$BIN/cafeto -port $2 -compression context-takeover" ;;
	*) echo "$BIN/$1 -port $2" ;;
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

# available NAME reports whether NAME is built or installed.
available() {
	case $1 in
	fastapi) /usr/bin/python3 -c 'import fastapi, uvicorn' 2>/dev/null ;;
	nestjs) [[ -f servers/node/dist/nest/main.js ]] ;;
	nodews) [[ -d servers/node/node_modules/ws ]] ;;
	*)
		local cmd
		cmd=$(server_cmd "$1" 0)
		[[ -x ${cmd%% *} ]]
		;;
	esac
}

# start_server NAME [CPU [ARGS...]] starts NAME with ARGS added to its
# command line, pinned to CPU when one is given (not empty),
# logging to logs/NAME.log, and sets SERVER_PID and SERVER_CMD. taskset execs
# the server, so the PID is the server's own.
start_server() {
	local name=$1 cpu=${2:-} port
	shift $(($# < 2 ? $# : 2))
	port=$(server_port "$name") || return 1
	SERVER_CMD=$(server_cmd "$name" "$port")
	if (($# > 0)); then
		SERVER_CMD="$SERVER_CMD $*"
	fi
	if [[ -n $cpu ]]; then
		SERVER_CMD="taskset -c $cpu $SERVER_CMD"
	fi
	mkdir -p logs
	# shellcheck disable=SC2086
	$SERVER_CMD >>"logs/$name.log" 2>&1 &
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
# $BIN. A server that does not build is left out, with a message.
# cafeto-before is built from $BEFORE_DIR/bench; the compression variants
# need $BIN/cafeto; cafeto-jsonv2 is servers/cafeto with GOEXPERIMENT=jsonv2.
build_go() {
	mkdir -p "$BIN"
	go build -o "$BIN/loadgen" ./loadgen || return 1
	local s
	for s in "$@"; do
		case $s in
		cafeto-off | cafeto-nctx | cafeto-ctx) s=cafeto ;;
		esac
		rm -f "$BIN/$s"
		if [[ $s == cafeto-before ]]; then
			if [[ -z ${BEFORE_DIR:-} ]]; then
				echo "cafeto-before needs BEFORE_DIR, a checkout of the earlier commit: skipped" >&2
				continue
			fi
			local out=$BIN
			[[ $out == /* ]] || out=$PWD/$out
			(cd "$BEFORE_DIR/bench" && go build -o "$out/$s" ./servers/cafeto) ||
				echo "servers/cafeto of $BEFORE_DIR does not build: skipped" >&2
			continue
		fi
		if [[ $s == cafeto-jsonv2 ]]; then
			GOEXPERIMENT=jsonv2 go build -o "$BIN/$s" ./servers/cafeto ||
				echo "servers/cafeto does not build with GOEXPERIMENT=jsonv2: skipped" >&2
			continue
		fi
		go build -o "$BIN/$s" "./servers/$s" || echo "servers/$s does not build: skipped" >&2
	done
}

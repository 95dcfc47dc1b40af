#!/usr/bin/env bash
# Runs every test of every module in this repository (docs/architecture.md
# lists them), with the race detector: the library and its examples, the NATS
# and Redis adapters (redis-server, installed with apt-get when it is
# missing), wsotel and its chat, the test module e2e (browser tests, which
# install Chromium with apt-get when it is missing, and the TypeScript, JSON
# Schema and AsyncAPI checks, which run npm ci) and the benchmark module's
# own checks.
#
#   ./test.sh
set -euo pipefail
cd "$(dirname "$0")"

# The browser tests need Chromium; install it when we can.
if [ -d e2e ] && [ ! -x /usr/bin/chromium ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "== installing chromium"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	elif [ "${CI:-}" = true ]; then
		echo "chromium is missing and cannot be installed" >&2
		exit 1
	fi
fi

# The Redis adapter's tests start redis-server; install it when we can.
if [ -d redisbroker ] && ! command -v redis-server >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "== installing redis-server"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
	elif [ "${CI:-}" = true ]; then
		echo "redis-server is missing and cannot be installed" >&2
		exit 1
	fi
fi

status=0
for mod in $(git ls-files '*go.mod' | xargs -n1 dirname | sort); do
	echo "== go test $mod"
	if ! (cd "$mod" && go test -race -count=1 ./...); then
		status=1
	fi
done
exit $status

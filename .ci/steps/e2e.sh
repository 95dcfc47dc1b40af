#!/usr/bin/env bash
# Browser tests of the chat example (e2e/): headless Chromium from Debian,
# driven with chromedp. Installs Chromium when it is missing; under CI=true
# the tests fail rather than skip without it.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
	echo "== installing chromium"
	apt-get update
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; then
		echo "e2e: could not install chromium with apt-get" >&2
		exit 1
	fi
fi

cd e2e
go vet ./...
CI=true go test -count=1 -v ./...

#!/usr/bin/env bash
# Load without loss (docs/reliability.md, promise 8): 1,000 concurrent
# connections × 100 messages each through ws.Callback on the loopback
# interface. It runs in a step of its own, without -race: the race detector
# slows it tenfold and caps a process at 8,128 goroutines.
set -euo pipefail
cd "$(dirname "$0")/../.."
WS_LOAD=1 go test -count=1 -timeout 10m -run '^TestLoad$' -v .

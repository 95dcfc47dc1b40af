#!/usr/bin/env bash
# Load without loss (docs/reliability.md, promise 8): 1,000 concurrent
# connections × 100 messages each through ws.Callback on the loopback
# interface. It runs in a step of its own, without -race: the race detector
# slows it tenfold and caps a process at 8,128 goroutines.
set -euo pipefail
cd "$(dirname "$0")/../.."
go vet -tags load .
go test -tags load -count=1 -timeout 10m -run '^TestLoad$' -v .

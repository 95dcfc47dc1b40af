#!/usr/bin/env bash
# The NATS adapter (natsbroker/, a module of its own): vet, then its tests
# with the race detector. They start an embedded NATS server in-process, so
# nothing needs installing.
set -euo pipefail
cd "$(dirname "$0")/../../natsbroker"

go vet ./...
go test -race -count=1 ./... 2>&1

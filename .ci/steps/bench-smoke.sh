#!/usr/bin/env bash
# The benchmark suite must not rot: build and vet the bench module, then send
# a few hundred messages to each Go benchmark server and verify every reply.
# The full, measured run is bench/run.sh, not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash bench/smoke.sh

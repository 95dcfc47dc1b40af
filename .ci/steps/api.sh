#!/usr/bin/env bash
# Prints the exported top-level identifiers of the root package (funcs,
# types, every const and var; methods and fields not counted) and fails
# when there are more than 55.
#
#   .ci/steps/api.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./internal/apicount -max 55 .

#!/usr/bin/env bash
# Prints the exported top-level identifiers of the root package (funcs,
# types, every const and var; methods and fields not counted) and fails
# when there are more than 55.
#
#   .ci/steps/api.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./internal/apicount -max 55 .

# The root reaches the features (asyncapi, ratelimit, the generators'
# runtime) never: they reach it, through its exported API.
if go list -deps . | grep -E '^github.com/cafeto-go/ws/.+'; then
	echo "the root package imports the packages above; features depend on the root, not the other way" >&2
	exit 1
fi

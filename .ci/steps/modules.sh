#!/usr/bin/env bash
# Checks the layout of the modules against docs/architecture.md: the go.mod
# files of the tree are exactly the rows of its Modules table, there are at
# most seven, and every nested module requires the modules of this
# repository it uses at a release version, replaced by their directory.
#
#   .ci/steps/modules.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

max=7
prefix=github.com/cafeto-go/ws
fail=0

# The go.mod files git tracks, and new ones it does not ignore.
found=$(git ls-files --cached --others --exclude-standard '*go.mod' | grep -E '(^|/)go\.mod$' | sort -u)
# The first cell of each row of the Modules table: `path/go.mod`.
listed=$(awk '/^## /{on = ($0 == "## Modules")} on && /^\| `[^`]*go\.mod`/{split($0, c, "`"); print c[2]}' docs/architecture.md | sort)

if [ "$found" != "$listed" ]; then
	echo "the go.mod files and the Modules table of docs/architecture.md disagree:" >&2
	diff <(echo "$listed") <(echo "$found") | sed -n 's/^< /  only in the table: /p; s/^> /  only in the tree:  /p' >&2
	fail=1
fi
n=$(echo "$found" | grep -c .)
if [ "$n" -gt "$max" ]; then
	echo "$n go.mod files, more than $max" >&2
	fail=1
fi

# Each module of this repository that a nested module requires: a release
# version (not a pseudo-version) and a replace by the directory that holds it.
# go mod edit -print reads the go.mod alone, without loading the graph, and
# prints one requirement or replacement a line inside blocks.
for mod in $found; do
	dir=$(dirname "$mod")
	[ "$dir" = . ] && continue
	lines=$(cd "$dir" && go mod edit -print | sed -E 's/^(require|replace)[[:space:]]+//; s/^[[:space:]]+//; s|[[:space:]]*//.*||')
	while read -r path version; do
		[ -n "$path" ] || continue
		if ! [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
			echo "$mod: requires $path $version, not a release version" >&2
			fail=1
		fi
		replace=$(awk -v p="$path" '$1 == p && $0 ~ / => / {print $NF}' <<<"$lines")
		want=.${path#"$prefix"}
		if [ -z "$replace" ] || [ "$(cd "$dir" && realpath -m "$replace")" != "$(realpath -m "$want")" ]; then
			echo "$mod: $path is not replaced by its directory ${want#./} (replace: ${replace:-none})" >&2
			fail=1
		fi
	done < <(awk -v p="$prefix" '($1 == p || index($1, p "/") == 1) && $2 ~ /^v/ && $0 !~ / => / {print $1, $2}' <<<"$lines")
done

if [ "$fail" = 0 ]; then
	echo "$n modules, as docs/architecture.md lists them"
fi
exit $fail

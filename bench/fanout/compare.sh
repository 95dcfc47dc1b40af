#!/usr/bin/env bash
# Compares the hub of an earlier commit, the hub of this checkout and
# centrifuge on BenchmarkFanoutPeer, in interleaved rounds: each round runs
# the three one right after the other, the order rotating, so that all see
# the same machine. Writes the raw benchmark lines to results.txt beside this
# script (the hub of BEFORE renamed hub-before) and prints the medians and
# the ratios measured within each round.
#
#   bench/fanout/compare.sh                     BEFORE=e38a80f, 6 rounds of 500 messages
#   BEFORE=<commit> ROUNDS=3 BENCHTIME=200x bench/fanout/compare.sh
#   REPORT=1 bench/fanout/compare.sh            only print the summary of results.txt
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
BEFORE=${BEFORE:-e38a80f}
ROUNDS=${ROUNDS:-6}
BENCHTIME=${BENCHTIME:-500x}
out=$here/results.txt

summary() {
	# Medians of ns/op and deliveries/s per benchmark, then per round the
	# ratio of each hub's deliveries/s to centrifuge's, and their medians.
	awk '
	function med(list,   n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	/^# round [0-9]/ { round = $3 + 0; if (round > maxr) maxr = round }
	/^BenchmarkFanoutPeer\// {
		name = $1; sub(/^BenchmarkFanoutPeer\//, "", name); sub(/-[0-9]+$/, "", name)
		for (i = 2; i < NF; i++) {
			if ($(i + 1) == "ns/op") ns[name] = ns[name] " " $i
			if ($(i + 1) == "deliveries/s") { d[name] = d[name] " " $i; dr[name, round] = $i }
			if ($(i + 1) == "B/op") bop[name] = bop[name] " " $i
			if ($(i + 1) == "allocs/op") aop[name] = aop[name] " " $i
		}
		names[name] = 1
	}
	END {
		printf "%-22s %6s %12s %14s %10s %10s\n", "benchmark", "runs", "ms/op", "deliveries/s", "B/op", "allocs/op"
		split("hub-before/w128 hub/w128 centrifuge/w128 hub-before/w1 hub/w1 centrifuge/w1", order, " ")
		for (k = 1; k <= 6; k++) {
			name = order[k]
			if (!(name in names)) continue
			n = split(ns[name], tmp, " ")
			printf "%-22s %6d %12.3f %14.0f %10.0f %10.0f\n", name, n, med(ns[name]) / 1e6, med(d[name]), med(bop[name]), med(aop[name])
		}
		print ""
		printf "%-26s %8s  %s\n", "deliveries/s ratio", "median", "per round"
		split("w128 w1", windows, " ")
		split("hub hub-before", hubs, " ")
		for (w = 1; w <= 2; w++) for (h = 1; h <= 2; h++) {
			list = ""
			for (r = 1; r <= maxr; r++) {
				a = dr[hubs[h] "/" windows[w], r]; c = dr["centrifuge/" windows[w], r]
				if (a != "" && c != "") list = list " " sprintf("%.3f", a / c)
			}
			if (list != "") printf "%-26s %8.3f %s\n", hubs[h] "/" windows[w] " vs centrifuge", med(list), list
		}
		for (w = 1; w <= 2; w++) {
			list = ""
			for (r = 1; r <= maxr; r++) {
				a = dr["hub/" windows[w], r]; c = dr["hub-before/" windows[w], r]
				if (a != "" && c != "") list = list " " sprintf("%.3f", a / c)
			}
			if (list != "") printf "%-26s %8.3f %s\n", "hub/" windows[w] " vs hub-before", med(list), list
		}
	}' "$out"
}

if [[ ${REPORT:-0} == 1 ]]; then
	summary
	exit 0
fi

work=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$work/before" 2>/dev/null || true; rm -rf "$work"' EXIT
echo "== building BenchmarkFanoutPeer at $BEFORE and at $(git -C "$repo" rev-parse --short HEAD)"
git -C "$repo" worktree add --detach "$work/before" "$BEFORE" >/dev/null
(cd "$work/before/bench" && go test -c -o "$work/before.test" ./fanout)
(cd "$repo/bench" && go test -c -o "$work/after.test" ./fanout)

{
	echo "# BenchmarkFanoutPeer, $ROUNDS interleaved rounds, -test.benchtime $BENCHTIME"
	echo "# hub-before: $(git -C "$repo" log -1 --format='%h %s' "$BEFORE")"
	changed=$(git -C "$repo" status --porcelain --untracked-files=no | awk '{print $2}' | cut -d/ -f1-2 | sort -u | paste -sd' ' -)
	echo "# hub and centrifuge: $(git -C "$repo" log -1 --format='%h %s' HEAD)${changed:+ (uncommitted changes in $changed)}"
	echo "# $(go version), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) CPUs"
	echo "# started $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out"

run() { # run NAME: one run of one of the three, appended to $out
	local bin=$work/after.test bench='FanoutPeer/hub/' rename=cat
	case $1 in
	hub-before) bin=$work/before.test rename='sed s,FanoutPeer/hub/,FanoutPeer/hub-before/,' ;;
	centrifuge) bench='FanoutPeer/centrifuge/' ;;
	esac
	(cd "$work" && "$bin" -test.run XXX -test.bench "$bench" -test.benchtime "$BENCHTIME" -test.count 1 -test.benchmem) |
		grep -E '^(BenchmarkFanoutPeer|--- FAIL|[[:space:]]+[a-z_]+\.go:[0-9]+)' | $rename >>"$out" || true
}

order=(hub-before hub centrifuge)
for ((r = 1; r <= ROUNDS; r++)); do
	echo "# round $r, load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
	for ((k = 0; k < 3; k++)); do
		name=${order[$(((r - 1 + k) % 3))]}
		echo "== round $r of $ROUNDS: $name"
		run "$name"
	done
done
echo "# ended $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
summary

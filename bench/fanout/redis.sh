#!/usr/bin/env bash
# Compares hub+redisbroker with centrifuge+its Redis broker on
# BenchmarkFanoutRedis, in interleaved rounds: each round runs the two one
# right after the other, the order alternating, each benchmark with a
# redis-server of its own. Writes the raw lines to results-redis.txt beside
# this script and prints medians, ranges and the ratios within each round.
#
#   ROUNDS=3 BENCHTIME=300x bench/fanout/redis.sh
#   REPORT=1 bench/fanout/redis.sh     only print the summary of results-redis.txt
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${ROUNDS:-3}
BENCHTIME=${BENCHTIME:-300x}
out=$here/results-redis.txt

summary() {
	awk '
	function sort(list, a,   n, i, j, t) {
		n = split(list, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n
	}
	function med(list,   a, n) { n = sort(list, a); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	function lo(list,   a) { sort(list, a); return a[1] }
	function hi(list,   a, n) { n = sort(list, a); return a[n] }
	/^# round [0-9]/ { round = $3 + 0; if (round > maxr) maxr = round }
	/^BenchmarkFanoutRedis\// {
		name = $1; sub(/^BenchmarkFanoutRedis\//, "", name); sub(/-[0-9]+$/, "", name)
		for (i = 2; i < NF; i++) {
			if ($(i + 1) == "deliveries/s") { d[name] = d[name] " " $i; dr[name, round] = $i }
			if ($(i + 1) == "p99-ms") { p99[name] = p99[name] " " $i; pr[name, round] = $i }
			if ($(i + 1) == "p50-ms") p50[name] = p50[name] " " $i
			if ($(i + 1) == "B/op") bop[name] = bop[name] " " $i
			if ($(i + 1) == "allocs/op") aop[name] = aop[name] " " $i
		}
		names[name] = 1
	}
	END {
		printf "%-16s %22s %18s %18s %9s %9s\n", "benchmark", "deliveries/s (range)", "p50 ms (range)", "p99 ms (range)", "B/op", "allocs/op"
		split("hub/w128 centrifuge/w128 hub/w1 centrifuge/w1", order, " ")
		for (k = 1; k <= 4; k++) {
			name = order[k]
			if (!(name in names)) continue
			p5 = p50[name] == "" ? "" : sprintf("%.2f (%.2f–%.2f)", med(p50[name]), lo(p50[name]), hi(p50[name]))
			p9 = p99[name] == "" ? "" : sprintf("%.2f (%.2f–%.2f)", med(p99[name]), lo(p99[name]), hi(p99[name]))
			printf "%-16s %8.0fk (%.0f–%.0fk) %18s %18s %9.0f %9.0f\n", name, med(d[name]) / 1e3, lo(d[name]) / 1e3, hi(d[name]) / 1e3, p5, p9, med(bop[name]), med(aop[name])
		}
		print ""
		split("w128 w1", windows, " ")
		for (w = 1; w <= 2; w++) {
			list = ""; plist = ""
			for (r = 1; r <= maxr; r++) {
				a = dr["hub/" windows[w], r]; c = dr["centrifuge/" windows[w], r]
				if (a != "" && c != "") list = list " " sprintf("%.2f", a / c)
				a = pr["hub/" windows[w], r]; c = pr["centrifuge/" windows[w], r]
				if (a != "" && c != "") plist = plist " " sprintf("%.2f", c / a)
			}
			if (list != "") printf "hub ÷ centrifuge, deliveries/s, %-5s median %.2f, per round%s\n", windows[w], med(list), list
			if (plist != "") printf "centrifuge p99 ÷ hub p99, %-5s       median %.2f, per round%s\n", windows[w], med(plist), plist
		}
	}' "$out"
}

if [[ ${REPORT:-0} == 1 ]]; then
	summary
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$here/.." && go test -c -o "$work/fanout.test" ./fanout)
{
	echo "# BenchmarkFanoutRedis, $ROUNDS interleaved rounds, -test.benchtime $BENCHTIME"
	echo "# $(git -C "$here" log -1 --format='%h %s'), $(redis-server --version | cut -d' ' -f1-3)"
	echo "# $(go version), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) CPUs"
	echo "# started $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out"
for ((r = 1; r <= ROUNDS; r++)); do
	echo "# round $r, load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
	order=(hub centrifuge)
	((r % 2 == 0)) && order=(centrifuge hub)
	for w in w128 w1; do
		for name in "${order[@]}"; do
			echo "== round $r of $ROUNDS: $name/$w"
			(cd "$work" && ./fanout.test -test.run XXX -test.bench "FanoutRedis/$name/$w\$" -test.benchtime "$BENCHTIME" -test.count 1 -test.benchmem) |
				grep -E '^(BenchmarkFanoutRedis|--- FAIL|[[:space:]]+[a-z_]+\.go:[0-9]+)' >>"$out" || true
		done
	done
done
echo "# ended $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
summary

package main

import (
	"fmt"
	"slices"
	"strings"
)

// The interleaved rounds of compare.sh: set "rounds" for the request/reply
// scenarios and the idle test, set "compression" for ws.WithCompression.
// Every round measures each server once, one right after the other; a row
// shown is the median of its rounds and a ratio is taken within a round.

// medianOf returns a result whose figures are the medians of the rounds
// that succeeded, each figure on its own, or the first round if none did.
// The report lists the failed rounds apart.
func medianOf(all []Result) Result {
	rounds := succeeded(all)
	if len(rounds) == 0 {
		return all[0]
	}
	m := rounds[0]
	med := func(f func(Result) float64) float64 {
		v := make([]float64, len(rounds))
		for i, r := range rounds {
			v[i] = f(r)
		}
		return median(v)
	}
	m.Round = 0
	m.Rate = med(func(r Result) float64 { return r.Rate })
	m.P50us = med(func(r Result) float64 { return r.P50us })
	m.P99us = med(func(r Result) float64 { return r.P99us })
	m.CPUPer100k = med(func(r Result) float64 { return r.CPUPer100k })
	m.ClientCPUPct = med(func(r Result) float64 { return r.ClientCPUPct })
	m.OtherCPUPct = med(func(r Result) float64 { return r.OtherCPUPct })
	m.WritesPerReply = med(func(r Result) float64 { return r.WritesPerReply })
	m.ReadsPerReply = med(func(r Result) float64 { return r.ReadsPerReply })
	m.BytesPerReply = med(func(r Result) float64 { return r.BytesPerReply })
	m.PerConnKiB = med(func(r Result) float64 { return r.PerConnKiB })
	m.RSSKiB = int64(med(func(r Result) float64 { return float64(r.RSSKiB) }))
	m.PeakKiB = int64(med(func(r Result) float64 { return float64(r.PeakKiB) }))
	m.BaseKiB = int64(med(func(r Result) float64 { return float64(r.BaseKiB) }))
	return m
}

// succeeded returns the rounds without an error.
func succeeded(rounds []Result) []Result {
	var ok []Result
	for _, r := range rounds {
		if r.Error == "" {
			ok = append(ok, r)
		}
	}
	return ok
}

// hasWrites reports whether the rows shown count the server's writes.
func (rs *results) hasWrites() bool {
	for _, r := range rs.load {
		if r.WritesPerReply > 0 {
			return true
		}
	}
	return false
}

// roundsMax is the number of rounds most rows have.
func (rs *results) roundsMax() int {
	n := 0
	for _, k := range rs.roundsOf {
		n = max(n, k)
	}
	return n
}

// perRound pairs the rounds of a and b that share a round number and
// returns f(a, b) for each pair in which both succeeded and neither failed
// the quiet check.
func perRound(as, bs []Result, f func(a, b Result) float64) []float64 {
	var v []float64
	for _, a := range as {
		for _, b := range bs {
			if a.Round == b.Round && a.Error == "" && b.Error == "" && refusal(a, b) == "" {
				if x := f(a, b); x > 0 {
					v = append(v, x)
				}
			}
		}
	}
	return v
}

// spread writes the median of ratios and their range: 1.02× (0.97×–1.10×).
func spread(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	return fmt.Sprintf("%s (%s–%s)", ratio(median(v), 1), ratio(slices.Min(v), 1), ratio(slices.Max(v), 1))
}

func div(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return a / b
}

// writeRoundRatios compares ws.Callback with every other server round by
// round.
func writeRoundRatios(w *strings.Builder, rs *results) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	const first = "cafeto"
	if !slices.Contains(rs.servers, first) {
		return
	}
	p("## Ratios, round by round\n\n")
	p("ws.Callback divided by the other server, within each round (the two were measured one right after the other), ")
	p("then the median of those ratios, with the lowest and the highest in parentheses. Throughput above 1× and latency, ")
	p("CPU and write system calls below 1× favour ws.Callback. Writes / reply are the two servers' medians.\n\n")
	for _, other := range rs.servers {
		if other == first {
			continue
		}
		p("### ws.Callback vs %s\n\n", serverOf(other).label)
		p("| Scenario | rounds | msg/s | p50 | p99 | CPU / 100k msg | writes / reply, ws.Callback : other |\n")
		p("|---|--:|--:|--:|--:|--:|--:|\n")
		for _, s := range rs.scenarios {
			as, bs := rs.byRound[[2]string{first, s.Scenario}], rs.byRound[[2]string{other, s.Scenario}]
			rate := perRound(as, bs, func(a, b Result) float64 { return div(a.Rate, b.Rate) })
			if len(rate) == 0 {
				continue
			}
			p50 := perRound(as, bs, func(a, b Result) float64 { return div(a.P50us, b.P50us) })
			p99 := perRound(as, bs, func(a, b Result) float64 { return div(a.P99us, b.P99us) })
			cpu := perRound(as, bs, func(a, b Result) float64 { return div(a.CPUPer100k, b.CPUPer100k) })
			a, b := rs.load[[2]string{first, s.Scenario}], rs.load[[2]string{other, s.Scenario}]
			p("| %s | %d | %s | %s | %s | %s | %.3f : %.3f |\n", scenarioLabel(s), len(rate), spread(rate), spread(p50), spread(p99),
				spread(cpu), a.WritesPerReply, b.WritesPerReply)
		}
		as, bs := rs.byRound[[2]string{first, "idle"}], rs.byRound[[2]string{other, "idle"}]
		if mem := perRound(as, bs, func(a, b Result) float64 { return div(a.PerConnKiB, b.PerConnKiB) }); len(mem) > 0 {
			p("| idle memory per connection | %d | | | | | %s |\n", len(mem), spread(mem))
		}
		p("\n")
	}
}

// writeCompression reports the rounds of ws.WithCompression: per shape of
// message, each mode's medians and its CPU per message against compression
// disabled, round by round; then idle memory per connection.
func writeCompression(w *strings.Builder, rs *results) {
	if len(rs.compression) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	type key struct{ kind, scenario, server string }
	groups := map[key][]Result{}
	var scenarios, idleShapes []string
	var modes []string
	for _, r := range rs.compression {
		k := key{r.Kind, r.Scenario, r.Server}
		if r.Kind == "idle" {
			k.scenario = r.Message
			if !slices.Contains(idleShapes, r.Message) {
				idleShapes = append(idleShapes, r.Message)
			}
		} else if !slices.Contains(scenarios, r.Scenario) {
			scenarios = append(scenarios, r.Scenario)
		}
		if !slices.Contains(modes, r.Server) {
			modes = append(modes, r.Server)
		}
		groups[k] = append(groups[k], r)
	}
	slices.SortStableFunc(modes, func(a, b string) int { return serverRank(a) - serverRank(b) })
	const off = "cafeto-off"

	p("## Compression\n\n")
	p("ws.Callback with `ws.WithCompression` disabled, without and with context takeover. Every client offers ")
	p("permessage-deflate with context takeover, as browsers do (the load generator's coder/websocket client, `-compression context-takeover`); ")
	p("the server's option decides. coder/websocket compresses only messages of at least 128 bytes with context takeover ")
	p("and 512 without, on both sides. Medians over interleaved rounds; the CPU ratio is taken within each round against ")
	p("compression disabled. Bytes / reply is what the server handed to write system calls (`wchar` in `/proc/PID/io`) per reply. ")
	p("`m470-500w` marks messages of 470–500 characters of common English words instead of the chat workload's 40–60 random characters.\n\n")
	for _, sc := range scenarios {
		p("### %s\n\n", compressionLabel(sc))
		p("| Server | rounds | msg/s | p50 µs | server CPU s / 100k msg | CPU vs disabled | bytes / reply | writes / reply | client CPU | negotiated |\n")
		p("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
		for _, mode := range modes {
			rounds := groups[key{"load", sc, mode}]
			if len(rounds) == 0 {
				continue
			}
			m := medianOf(rounds)
			if m.Error != "" {
				p("| %s | %d | failed | | | | | | | |\n", serverOf(mode).label, len(rounds))
				continue
			}
			rounds = succeeded(rounds)
			cpu := perRound(rounds, groups[key{"load", sc, off}], func(a, b Result) float64 { return div(a.CPUPer100k, b.CPUPer100k) })
			ext := m.Extensions
			if ext == "" {
				ext = "none"
			}
			p("| %s | %d | %s | %s | %.3f | %s | %.0f | %.3f | %.0f%% | `%s` |\n", serverOf(mode).label, len(rounds),
				groupDigits(int64(m.Rate+0.5)), micros(m.P50us), m.CPUPer100k, spread(cpu), m.BytesPerReply, m.WritesPerReply,
				m.ClientCPUPct, ext)
		}
		p("\n")
	}
	if len(idleShapes) > 0 {
		p("### Idle memory per connection\n\n")
		p("As in the idle test above, each connection's one round trip made with the messages named.\n\n")
		p("| Server | messages | connections | rounds | KiB per connection | vs disabled |\n|---|---|--:|--:|--:|--:|\n")
		for _, shape := range idleShapes {
			for _, mode := range modes {
				rounds := groups[key{"idle", shape, mode}]
				if len(rounds) == 0 {
					continue
				}
				m := medianOf(rounds)
				rounds = succeeded(rounds)
				name := "chat, 40–60 random characters"
				if shape != "" {
					name = "`" + shape + "`"
				}
				if m.Error != "" {
					p("| %s | %s | %s | %d | failed | |\n", serverOf(mode).label, name, groupDigits(int64(m.Conns)), len(rounds))
					continue
				}
				mem := perRound(rounds, groups[key{"idle", shape, off}], func(a, b Result) float64 { return div(a.PerConnKiB, b.PerConnKiB) })
				p("| %s | %s | %s | %d | %.1f | %s |\n", serverOf(mode).label, name, groupDigits(int64(m.Conns)), len(rounds), m.PerConnKiB, spread(mem))
			}
		}
		p("\n")
	}
	p("Command lines of the first round:\n\n```\n")
	for _, r := range rs.compression {
		if r.Round <= 1 {
			p("%s\n%s\n", r.ServerCmd, r.ClientCmd)
		}
	}
	p("```\n\n")
}

// compressionLabel names a compression scenario: "100 connections,
// pipelined, 16 in flight, messages m470-500w".
func compressionLabel(sc string) string {
	var conns, inflight int
	var rest string
	fmt.Sscanf(sc, "c%d-i%d", &conns, &inflight)
	if i := strings.Index(sc, "-m"); i >= 0 {
		rest = sc[i+1:]
	}
	label := scenarioLabel(Result{Conns: conns, Inflight: inflight})
	if rest != "" {
		return label + ", messages `" + rest + "`"
	}
	return label + ", chat messages"
}

package main

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "results.jsonl")
	lines := []Result{
		{Kind: "load", Server: "coder", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 20000, P50us: 90, P99us: 400, CPUPer100k: 4, PeakKiB: 20480},
		{Kind: "load", Server: "cafeto", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 99999, P50us: 80, P99us: 300, CPUPer100k: 3, PeakKiB: 10240, OtherCPUPct: 50, Disturbed: true},
		{Kind: "load", Server: "cafeto", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 25000, P50us: 80, P99us: 300, CPUPer100k: 3, PeakKiB: 10240, OtherCPUPct: 1},
		{Kind: "load", Server: "coder", Scenario: "c1-i16", Conns: 1, Inflight: 16, Rate: 40000},
		{Kind: "load", Server: "gorilla", Scenario: "c1-i16", Conns: 1, Inflight: 16, Rate: 20000, OtherCPUPct: 80, Disturbed: true},
		{Kind: "load", Server: "coder", Scenario: "c1-i16", Conns: 1, Inflight: 16, Error: "2 wrong replies"},
		{Kind: "load", Server: "cafeto", Scenario: "c1-i16", Conns: 1, Inflight: 16, Rate: 30000, P50us: 500, P99us: 900, CPUPer100k: 2, PeakKiB: 10240, ClientCPUPct: 95},
		{Kind: "load", Server: "fastapi", Scenario: "c1-i16", Conns: 1, Inflight: 16, Error: "connection 0: EOF"},
		{Kind: "load", Set: "ab", Server: "cafeto", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 20000, CPUPer100k: 2},
		{Kind: "load", Set: "ab", Server: "coder", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 10000, CPUPer100k: 4},
		{Kind: "load", Set: "ab", Server: "coder", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 20000, CPUPer100k: 2},
		{Kind: "load", Set: "ab", Server: "cafeto", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 30000, CPUPer100k: 1},
		{Kind: "load", Set: "ab", Server: "cafeto", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 25000, CPUPer100k: 1.5},
		{Kind: "load", Set: "ab", Server: "coder", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 25000, CPUPer100k: 3},
		// ws.Router and ws.Callback back to back, in a set of their own that
		// follows the cafeto/coder set.
		{Kind: "load", Server: "router", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 24000, P50us: 80, P99us: 300, CPUPer100k: 3.3, PeakKiB: 10240},
		{Kind: "load", Set: "ab-router-cafeto", Server: "router", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 19000, CPUPer100k: 2},
		{Kind: "load", Set: "ab-router-cafeto", Server: "cafeto", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 20000, CPUPer100k: 2},
		{Kind: "load", Set: "ab-router-cafeto", Server: "cafeto", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 20000, CPUPer100k: 2},
		{Kind: "load", Set: "ab-router-cafeto", Server: "router", Scenario: "c100-i1", Conns: 100, Inflight: 1, Rate: 18000, CPUPer100k: 2.2},
		{Kind: "idle", Server: "cafeto", Conns: 10000, BaseKiB: 8000, RSSKiB: 108000, PerConnKiB: 10},
		{Kind: "idle", Server: "coder", Conns: 10000, BaseKiB: 8000, RSSKiB: 208000, PerConnKiB: 20},
	}
	for _, r := range lines {
		if err := appendJSON(in, r); err != nil {
			t.Fatal(err)
		}
	}
	md, svg := filepath.Join(dir, "RESULTS.md"), filepath.Join(dir, "chart.svg")
	if err := report([]string{"-in", in, "-md", md, "-svg", svg}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		"### 1 connection, pipelined, 16 in flight",                                           // ordered by connections first
		"| ws.Callback (this library) | 25,000 | 80.0 | 300 | 3.000 | 0.0 (10.0) | 0% | 1% |", // the quieter round
		"measured more than once",
		"| coder/websocket + encoding/json + validator, hand-written (baseline) | failed |", // failed in one round
		"2 wrong replies",
		"| 0% | 80% * |", // disturbed in every attempt
		"A * marks a row",
		"| 95% † | 0% |", // the client's core was nearly full
		"A † marks a row",
		// repetitions: ratios 2, 1.5, 1; CPU ratios 0.5, 0.5, 0.5
		"| 100 connections, closed loop | 3 | 25,000 | 20,000 | 1.25× (1.00×–2.00×) | 1.500 | 3.000 | 0.50× (0.50×–0.50×) |",
		"| 100 connections, closed loop | 1.25× | 0.89× | 0.75× | 0.75× | 0.50× |",
		"| idle memory per connection | | | | | 0.50× |",
		"| FastAPI + pydantic on uvicorn | failed |",
		"| ws.Router, one event (this library) | 24,000 |",
		"### ws.Router vs ws.Callback",
		// repetitions: ratios 0.95, 0.9; CPU ratios 1, 1.1
		"| Scenario | repetitions | ws.Router msg/s | ws.Callback msg/s |",
		"| 100 connections, closed loop | 2 | 18,500 | 20,000 | 0.93× (0.90×–0.95×) | 2.100 | 2.000 | 1.05× (1.00×–1.10×) |",
		"## Failed runs",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("RESULTS.md lacks %q:\n%s", want, text)
		}
	}
	if i, j := strings.Index(text, "### 1 connection"), strings.Index(text, "### 100 connections"); i > j {
		t.Error("scenarios are not ordered by connections")
	}

	f, err := os.Open(svg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	for {
		if _, err := d.Token(); err != nil {
			if err != io.EOF {
				t.Errorf("chart.svg is not well-formed XML: %v", err)
			}
			break
		}
	}
}

func TestFormatting(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{groupDigits(0), "0"},
		{groupDigits(999), "999"},
		{groupDigits(1000), "1,000"},
		{groupDigits(1234567), "1,234,567"},
		{ratio(3, 2), "1.50×"},
		{ratio(30, 2), "15.0×"},
		{ratio(300, 2), "150×"},
		{ratio(1, 0), "–"},
		{ratio(0.27, 100), "0.0027×"},
		{shortRate(987), "987"},
		{shortRate(12345), "12.3k"},
		{shortRate(456789), "457k"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestReportRounds(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "results.jsonl")
	load := func(server string, round int, rate, cpu, writes float64) Result {
		return Result{Kind: "load", Set: "rounds", Round: round, Server: server, Scenario: "c1-i16", Conns: 1, Inflight: 16,
			Rate: rate, P50us: 100, P99us: 200, CPUPer100k: cpu, WritesPerReply: writes}
	}
	idle := func(server string, round int, kib float64) Result {
		return Result{Kind: "idle", Set: "rounds", Round: round, Server: server, Conns: 10000, PerConnKiB: kib}
	}
	comp := func(server string, round int, cpu float64, message string, kib float64) []Result {
		sc := "c1-i1"
		if message != "" {
			sc += "-" + message
		}
		return []Result{
			{Kind: "load", Set: "compression", Round: round, Server: server, Scenario: sc, Conns: 1, Inflight: 1, Message: message,
				Rate: 1000, CPUPer100k: cpu, BytesPerReply: 100, WritesPerReply: 1},
			{Kind: "idle", Set: "compression", Round: round, Server: server, Conns: 10000, Message: message, PerConnKiB: kib},
		}
	}
	lines := []Result{
		// Round by round, ws.Callback over coder: rate 1.1, 0.9, 1.2; CPU 0.5, 1, 0.8.
		load("cafeto", 1, 11000, 1, 0.1), load("coder", 1, 10000, 2, 1),
		load("coder", 2, 20000, 2, 1), load("cafeto", 2, 18000, 2, 0.2),
		load("cafeto", 3, 12000, 0.8, 0.3), load("coder", 3, 10000, 1, 1),
		// A failed round of coder is left out of its median and listed.
		{Kind: "load", Set: "rounds", Round: 4, Server: "coder", Scenario: "c1-i16", Conns: 1, Inflight: 16, Error: "server process: gone"},
		idle("cafeto", 1, 20), idle("coder", 1, 20), idle("coder", 2, 25), idle("cafeto", 2, 20), idle("cafeto", 3, 30), idle("coder", 3, 20),
	}
	for r := 1; r <= 2; r++ {
		lines = append(lines, comp("cafeto-off", r, 2, "", 20)...)
		lines = append(lines, comp("cafeto-ctx", r, float64(2+r), "", 20)...)
		lines = append(lines, comp("cafeto-ctx", r, 8, "m470-500w", 200)...)
		lines = append(lines, comp("cafeto-off", r, 4, "m470-500w", 25)...)
	}
	for _, r := range lines {
		if err := appendJSON(in, r); err != nil {
			t.Fatal(err)
		}
	}
	md, svg := filepath.Join(dir, "RESULTS.md"), filepath.Join(dir, "chart.svg")
	if err := report([]string{"-in", in, "-md", md, "-svg", svg}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		"`bench/compare.sh`",
		"interleaved rounds",
		// medians: rate 12,000, CPU 1, writes 0.2; coder 10,000, 2, 1
		"| ws.Callback (this library) | 12,000 | 100 | 200 | 1.000 | 0.200 |",
		"| coder/websocket + encoding/json + validator, hand-written (baseline) | 10,000 | 100 | 200 | 2.000 | 1.000 |",
		"server process: gone",
		"| ws.Callback (this library) | 10,000 | 0.0 | 0.0 | 20.0 |",
		"## Ratios, round by round",
		"| 1 connection, pipelined, 16 in flight | 3 | 1.10× (0.90×–1.20×) | 1.00× (1.00×–1.00×) | 1.00× (1.00×–1.00×) | 0.80× (0.50×–1.00×) | 0.200 : 1.000 |",
		"| idle memory per connection | 3 | | | | | 1.00× (0.80×–1.50×) |",
		"## Compression",
		"### 1 connection, closed loop, chat messages",
		"| ws.Callback, WithCompression(CompressionContextTakeover) | 2 | 1,000 | 0.0 | 3.500 | 1.75× (1.50×–2.00×) | 100 | 1.000 |",
		"### 1 connection, closed loop, messages `m470-500w`",
		"| ws.Callback, WithCompression(CompressionContextTakeover) | 2 | 1,000 | 0.0 | 8.000 | 2.00× (2.00×–2.00×) |",
		"| ws.Callback, WithCompression(CompressionContextTakeover) | `m470-500w` | 10,000 | 2 | 200.0 | 8.00× (8.00×–8.00×) |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("RESULTS.md lacks %q:\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"measured more than once", "FastAPI", "deflate off"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("RESULTS.md has %q", unwanted)
		}
	}
}

// A ratio is never taken from a row that failed the quiet check: its cells
// show — and the scenario names the row and why.
func TestReportRefusesDisturbedRatios(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "results.jsonl")
	row := func(server, scenario string, conns, inflight int, rate float64, other float64, disturbed bool) Result {
		return Result{Kind: "load", Server: server, Scenario: scenario, Conns: conns, Inflight: inflight, Rate: rate,
			P50us: 100, P99us: 200, CPUPer100k: 3, PeakKiB: 10240, OtherCPUPct: other, Disturbed: disturbed}
	}
	for _, r := range []Result{
		// 1 connection: both rows pass, the ratio is shown.
		row("cafeto", "c1-i1", 1, 1, 20000, 2, false),
		row("coder", "c1-i1", 1, 1, 10000, 3, false),
		// 100 connections: the coder row failed the check in its only attempt.
		row("cafeto", "c100-i1", 100, 1, 30000, 2, false),
		row("coder", "c100-i1", 100, 1, 15000, 60, true),
		// 1,000 connections: ws.Callback's row failed it, against coder and FastAPI.
		row("cafeto", "c1000-i1", 1000, 1, 40000, 45, true),
		row("coder", "c1000-i1", 1000, 1, 20000, 1, false),
		row("fastapi", "c1000-i1", 1000, 1, 4000, 1, false),
		// Back to back: the second repetition is disturbed and left out.
		{Kind: "load", Set: "ab", Server: "cafeto", Scenario: "c1-i1", Conns: 1, Inflight: 1, Rate: 20000, CPUPer100k: 2},
		{Kind: "load", Set: "ab", Server: "coder", Scenario: "c1-i1", Conns: 1, Inflight: 1, Rate: 10000, CPUPer100k: 4},
		{Kind: "load", Set: "ab", Server: "coder", Scenario: "c1-i1", Conns: 1, Inflight: 1, Rate: 1000, CPUPer100k: 40, OtherCPUPct: 90, Disturbed: true},
		{Kind: "load", Set: "ab", Server: "cafeto", Scenario: "c1-i1", Conns: 1, Inflight: 1, Rate: 20000, CPUPer100k: 2},
	} {
		if err := appendJSON(in, r); err != nil {
			t.Fatal(err)
		}
	}
	md, svg := filepath.Join(dir, "RESULTS.md"), filepath.Join(dir, "chart.svg")
	if err := report([]string{"-in", in, "-md", md, "-svg", svg}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		"| 1 connection, closed loop | 2.00× | 1.00× | 1.00× | 1.00× | 1.00× |",
		"| 100 connections, closed loop (refused: the coder baseline row failed the quiet check, rest of machine 60% of a CPU) | — | — | — | — | — |",
		"| 1,000 connections, closed loop (refused: the ws.Callback row failed the quiet check, rest of machine 45% of a CPU) | — | — | — | — | — |",
		"1 repetitions in which a row failed the quiet check are left out.",
		"| 1 connection, closed loop | 1 | 20,000 | 10,000 | 2.00× (2.00×–2.00×) |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("RESULTS.md lacks %q:\n%s", want, text)
		}
	}
	// Neither refused scenario may show a ratio anywhere in the ratio tables.
	_, ratios, _ := strings.Cut(text, "## Ratios")
	ratios, _, _ = strings.Cut(ratios, "## Chart")
	for line := range strings.Lines(ratios) {
		if (strings.Contains(line, "100 connections") || strings.Contains(line, "1,000 connections")) && strings.Contains(line, "×") {
			t.Errorf("a ratio taken from a row that failed the quiet check: %s", line)
		}
	}
}

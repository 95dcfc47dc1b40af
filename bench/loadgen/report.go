package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// serverInfo is how the report names a server; the order of servers is the
// order of the tables.
type serverInfo struct {
	name, label, short string
}

var servers = []serverInfo{
	{"cafeto", "ws.Callback (this library)", "ws.Callback"},
	{"router", "ws.Router, one event (this library)", "ws.Router"},
	{"coder", "coder/websocket + encoding/json + validator, hand-written (baseline)", "coder baseline"},
	{"gorilla", "gorilla/websocket + encoding/json + validator, hand-written", "gorilla"},
	{"gws", "lxzan/gws + encoding/json + validator, hand-written", "gws"},
	{"fastapi", "FastAPI + pydantic on uvicorn", "FastAPI"},
	{"nestjs", "NestJS gateway, platform-ws + ValidationPipe", "NestJS"},
	{"nodews", "Node ws, hand-written checks", "Node ws"},
	{"echo", "coder/websocket raw echo (transport ceiling)", "raw echo"},
	{"cafeto-before", "ws.Callback, the earlier commit (see Before above)", "ws.Callback before"},
	{"cafeto-off", "ws.Callback, compression disabled", "deflate off"},
	{"cafeto-nctx", "ws.Callback, WithCompression(CompressionNoContextTakeover)", "no context takeover"},
	{"cafeto-ctx", "ws.Callback, WithCompression(CompressionContextTakeover)", "context takeover"},
	{"cafeto-jsonv2", "ws.Callback built with GOEXPERIMENT=jsonv2", "ws.Callback jsonv2"},
	{"hubroom", "ws.Callback, every connection in one hub room", "hub room"},
}

func serverOf(name string) serverInfo {
	for _, s := range servers {
		if s.name == name {
			return s
		}
	}
	return serverInfo{name, name, name}
}

func serverRank(name string) int {
	for i, s := range servers {
		if s.name == name {
			return i
		}
	}
	return len(servers)
}

// results holds the measurements of a run. A server and scenario measured
// in several rounds is shown by the round in which the rest of the machine
// was least busy, unless a round failed: then it is shown as failed.
type results struct {
	rounds    map[[2]string][]Result // by server, scenario: every round
	load      map[[2]string]Result   // by server, scenario: the round shown
	idle      map[string]Result      // by server
	scenarios []Result               // one result of each scenario, ordered
	servers   []string               // ordered
	maxRounds int
	failed    []Result                 // in the order measured
	ab        map[[2]string][][]Result // by set, scenario: repetitions, each one result per server
	abSets    []string                 // the back-to-back sets, in the order first seen
	abOrder   []string                 // scenarios of ab, ordered as in scenarios

	// Interleaved rounds (compare.sh): a row shown is the median of its
	// rounds, and ratios are taken within a round.
	interleaved bool
	roundsOf    map[[2]string]int      // by server, scenario ("idle" for idle): rounds behind a median
	byRound     map[[2]string][]Result // by server, scenario ("idle"): every round, set "rounds"
	compression []Result               // set "compression", in the order measured
}

func readResults(path string) (*results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs := &results{rounds: map[[2]string][]Result{}, load: map[[2]string]Result{}, idle: map[string]Result{}, ab: map[[2]string][][]Result{},
		roundsOf: map[[2]string]int{}, byRound: map[[2]string][]Result{}}
	idleRounds := map[string][]Result{}
	seenScenario := map[string]bool{}
	seenServer := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if r.Error != "" {
			rs.failed = append(rs.failed, r)
		}
		if r.Set == "compression" {
			rs.compression = append(rs.compression, r)
			continue
		}
		if !seenServer[r.Server] {
			seenServer[r.Server] = true
			rs.servers = append(rs.servers, r.Server)
		}
		if r.Set == "rounds" {
			rs.interleaved = true
			key := [2]string{r.Server, r.Scenario}
			if r.Kind == "idle" {
				key[1] = "idle"
				idleRounds[r.Server] = append(idleRounds[r.Server], r)
			}
			rs.byRound[key] = append(rs.byRound[key], r)
		}
		switch {
		case isBackToBack(r):
			key := [2]string{r.Set, r.Scenario}
			if !slices.Contains(rs.abSets, r.Set) {
				rs.abSets = append(rs.abSets, r.Set)
			}
			reps := rs.ab[key]
			if len(reps) == 0 || hasServer(reps[len(reps)-1], r.Server) {
				reps = append(reps, nil)
			}
			reps[len(reps)-1] = append(reps[len(reps)-1], r)
			rs.ab[key] = reps
		case r.Kind == "load":
			key := [2]string{r.Server, r.Scenario}
			rs.rounds[key] = append(rs.rounds[key], r)
			if r.Set != "rounds" {
				rs.maxRounds = max(rs.maxRounds, len(rs.rounds[key]))
			}
			if !seenScenario[r.Scenario] {
				seenScenario[r.Scenario] = true
				rs.scenarios = append(rs.scenarios, r)
			}
		case r.Kind == "idle" && r.Set != "rounds":
			rs.idle[r.Server] = r
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for key, rounds := range rs.rounds {
		if rounds[0].Set == "rounds" {
			rs.load[key] = medianOf(rounds)
			rs.roundsOf[key] = len(succeeded(rounds))
			continue
		}
		rs.load[key] = pickRound(rounds)
	}
	for server, rounds := range idleRounds {
		rs.idle[server] = medianOf(rounds)
		rs.roundsOf[[2]string{server, "idle"}] = len(succeeded(rounds))
	}
	for _, s := range rs.scenarios {
		for _, set := range rs.abSets {
			if _, ok := rs.ab[[2]string{set, s.Scenario}]; ok {
				rs.abOrder = append(rs.abOrder, s.Scenario)
				break
			}
		}
	}
	slices.SortStableFunc(rs.scenarios, func(a, b Result) int {
		if a.Conns != b.Conns {
			return a.Conns - b.Conns
		}
		return a.Inflight - b.Inflight
	})
	slices.SortStableFunc(rs.servers, func(a, b string) int { return serverRank(a) - serverRank(b) })
	return rs, nil
}

// isBackToBack reports whether r is a back-to-back repetition: its set is
// "ab", or "ab-" and the names of the pair.
func isBackToBack(r Result) bool {
	return r.Set == "ab" || strings.HasPrefix(r.Set, "ab-")
}

func hasServer(rep []Result, server string) bool {
	return slices.ContainsFunc(rep, func(r Result) bool { return r.Server == server })
}

// clientBoundPct is the load generator's CPU use, in % of its core, from
// which a row's throughput may be the client's limit rather than the server's.
const clientBoundPct = 90

// clientBound reports whether the load generator's core was nearly full in
// a row shown.
func (rs *results) clientBound() bool {
	for _, r := range rs.load {
		if r.Error == "" && r.ClientCPUPct >= clientBoundPct {
			return true
		}
	}
	return false
}

// disturbed reports whether a row shown was disturbed in every attempt.
func (rs *results) disturbed() bool {
	for _, r := range rs.load {
		if r.Disturbed && r.Error == "" {
			return true
		}
	}
	return false
}

// pickRound returns the first failed round, or else the round with the
// least CPU used by the rest of the machine.
func pickRound(rounds []Result) Result {
	best := rounds[0]
	for _, r := range rounds {
		if r.Error != "" {
			return r
		}
		if r.OtherCPUPct < best.OtherCPUPct {
			best = r
		}
	}
	return best
}

func scenarioLabel(r Result) string {
	conns := "connections"
	if r.Conns == 1 {
		conns = "connection"
	}
	mode := "closed loop"
	if r.Inflight > 1 {
		mode = fmt.Sprintf("pipelined, %d in flight", r.Inflight)
	}
	return fmt.Sprintf("%s %s, %s", groupDigits(int64(r.Conns)), conns, mode)
}

func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	in := fs.String("in", "results.jsonl", "results written by run and idle")
	envFile := fs.String("env", "", "extra 'key: value' lines for the environment table")
	md := fs.String("md", "RESULTS.md", "Markdown report to write")
	svg := fs.String("svg", "chart.svg", "chart to write")
	fs.Parse(args)

	rs, err := readResults(*in)
	if err != nil {
		return err
	}
	var env [][2]string
	if *envFile != "" {
		if env, err = readEnv(*envFile); err != nil {
			return err
		}
	}
	if err := os.WriteFile(*svg, []byte(chart(rs)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(*md, []byte(markdown(rs, env, filepath.Base(*in), *svg)), 0o644)
}

func readEnv(path string) ([][2]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var env [][2]string
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) != "" {
			env = append(env, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return env, nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func markdown(rs *results, env [][2]string, inName, svgPath string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# Benchmark results\n\n")
	script := "bench/run.sh"
	if rs.interleaved {
		script = "bench/compare.sh"
	}
	p("Generated on %s by `loadgen report` from the measurements that `%s` took, ", time.Now().UTC().Format("2006-01-02 15:04 MST"), script)
	p("which `%s` beside this file holds in full. No figure here comes from anywhere else.\n\n", inName)
	p("| | |\n|---|---|\n")
	p("| CPU | %s, %d logical CPUs |\n", cpuModel(), runtime.NumCPU())
	p("| Kernel | Linux %s |\n", kernel())
	p("| Go | %s |\n", runtime.Version())
	for _, kv := range env {
		p("| %s | %s |\n", kv[0], kv[1])
	}
	p("\n")

	p("## Workload\n\n")
	p("Every server answers the same requests at `ws://127.0.0.1:PORT/ws`. A request is one text frame ")
	p("`{\"message\":\"<40–60 chars>\",\"user\":\"<5–10 chars>\"}`; the server decodes it, checks that `message` is present ")
	p("and at most 500 characters and `user` present and at most 32, and answers `{\"statusCode\":200,\"body\":{\"message\":…,\"user\":…}}`. ")
	p("One request in 20 (5%%) lacks `user` and must get exactly `%s`. ", badRequest)
	p("The load generator checks every reply: status and both echoed fields, or the whole 400 body. The raw echo server ")
	p("only sends each frame back, and the load generator checks that it gets its own request back.\n\n")
	p("The server and the load generator are pinned to one CPU each, not the same one (`taskset`, see the command lines); ")
	p("the Go programs therefore run with GOMAXPROCS=1, and Node.js and Python are single-threaded anyway. ")
	p("A closed loop keeps one request in flight per connection; pipelined keeps 16. The server is started anew for every row. ")
	if rs.interleaved {
		p("The rows were measured in interleaved rounds: in every round and scenario each server was measured once, one right after ")
		p("the other, the order rotating from round to round, so that all of them saw the same machine. Every figure in the tables is ")
		p("the median over the rounds, each column on its own; the ratios further down are taken within a round, then their median given, ")
		p("with the lowest and highest ratio of a single round in parentheses. ")
	}
	p("msg/s counts verified replies in the measured window after a warm-up; p50 and p99 are round trips from write to reply. ")
	p("CPU is the server's user+system time (`/proc/PID/stat`) during the window per 100,000 replies. ")
	p("RSS is the server's VmRSS at the end of the run and, in parentheses, its peak (VmHWM). ")
	if rs.hasWrites() {
		p("Writes / reply is the number of write system calls the server made during the window (`syscw` in `/proc/PID/io`) ")
		p("per verified reply: 1 when every frame goes out on its own, less when several frames share a write. ")
	}
	p("With 1,000 connections × 16 in flight, 16,000 requests wait at once: their round trips are mostly time spent queued ")
	p("(on average in-flight requests ÷ throughput), so p50 and p99 there show how evenly a server shares itself among connections ")
	p("more than how fast it is. ")
	p("Client CPU is the load generator's own use of its core: near 100%% means the client, not the server, set the pace. ")
	p("Rest of machine is the CPU time, in %% of one CPU, spent on anything but those two processes during the window ")
	p("(`/proc/stat`): kernel work not charged to either (such as network softirqs), CPU time the hypervisor gave elsewhere (steal), ")
	p("and any other process; a high figure marks a disturbed row.")
	if rs.maxRounds > 1 {
		p(" Some rows were measured more than once (see Retries above); the tables show the attempt in which the rest of the machine ")
		p("was least busy, and a row that failed in any attempt is shown as failed.")
	}
	if rs.disturbed() {
		p(" A * marks a row whose every attempt was disturbed: read it with care.")
	}
	if rs.clientBound() {
		p(" A † marks a row in which the load generator kept its core at least %d%% busy: there the server may have ", clientBoundPct)
		p("capacity to spare, and its CPU per 100k messages compares servers better than msg/s.")
	}
	p("\n\n")

	p("## Throughput, latency, CPU and memory\n\n")
	for _, s := range rs.scenarios {
		p("### %s\n\n", scenarioLabel(s))
		writes := rs.hasWrites()
		p("| Server | msg/s | p50 µs | p99 µs | server CPU s / 100k msg |")
		if writes {
			p(" writes / reply |")
		}
		p(" RSS MiB (peak) | client CPU | rest of machine |\n")
		p("|---|--:|--:|--:|--:|--:|--:|--:|%s\n", map[bool]string{true: "--:|"}[writes])
		for _, name := range rs.servers {
			r, ok := rs.load[[2]string{name, s.Scenario}]
			if !ok {
				continue
			}
			label := serverOf(name).label
			if r.Error != "" {
				p("| %s | failed | | | | | | |%s\n", label, map[bool]string{true: " |"}[writes])
				continue
			}
			otherMark, clientMark := "", ""
			if r.Disturbed {
				otherMark = " *"
			}
			if r.ClientCPUPct >= clientBoundPct {
				clientMark = " †"
			}
			if n := rs.roundsOf[[2]string{name, s.Scenario}]; n > 0 && n != rs.roundsMax() {
				label += fmt.Sprintf(" (%d rounds)", n)
			}
			p("| %s | %s | %s | %s | %.3f |", label, groupDigits(int64(r.Rate+0.5)), micros(r.P50us), micros(r.P99us), r.CPUPer100k)
			if writes {
				p(" %.3f |", r.WritesPerReply)
			}
			p(" %s (%s) | %.0f%%%s | %.0f%%%s |\n", mib(r.RSSKiB), mib(r.PeakKiB), r.ClientCPUPct, clientMark, r.OtherCPUPct, otherMark)
		}
		p("\n")
	}

	if len(rs.idle) > 0 {
		p("## Idle memory per connection\n\n")
		p("The server is started, its VmRSS read, then N connections are opened, each makes one verified round trip ")
		p("and all stay open and idle for a moment before VmRSS is read again.")
		if rs.interleaved {
			p(" Medians over the rounds, measured one server after the other in each round.")
		}
		p("\n\n")
		p("| Server | connections | RSS before, MiB | RSS with connections, MiB | KiB per connection |\n")
		p("|---|--:|--:|--:|--:|\n")
		for _, name := range rs.servers {
			r, ok := rs.idle[name]
			if !ok {
				continue
			}
			if r.Error != "" {
				p("| %s | %s | failed | | |\n", serverOf(name).label, groupDigits(int64(r.Conns)))
				continue
			}
			p("| %s | %s | %s | %s | %.1f |\n", serverOf(name).label, groupDigits(int64(r.Conns)),
				mib(r.BaseKiB), mib(r.RSSKiB), r.PerConnKiB)
		}
		p("\n")
	}

	writeRatios(&b, rs)
	writeCompression(&b, rs)

	p("## Chart\n\n![Messages per second by server and scenario](%s)\n\n", svgPath)

	if len(rs.failed) > 0 {
		p("## Failed runs\n\n")
		for _, r := range rs.failed {
			where := orIdle(r)
			if isBackToBack(r) {
				where += " (back to back)"
			}
			p("- %s, %s: %s\n", serverOf(r.Server).label, where, oneLine(r.Error))
		}
		p("\n")
	}

	p("## Command lines\n\n")
	p("Run from `bench/`. The same load generator command, with its `-url`, `-pid` and `-server`, was used for every server.\n\n")
	for _, name := range rs.servers {
		p("**%s**\n\n```\n", serverOf(name).label)
		for _, s := range rs.scenarios {
			if r, ok := rs.load[[2]string{name, s.Scenario}]; ok {
				if s.Scenario == rs.scenarios[0].Scenario {
					p("%s\n", r.ServerCmd)
				}
				p("%s\n", r.ClientCmd)
			}
		}
		if r, ok := rs.idle[name]; ok {
			p("%s\n%s\n", r.ServerCmd, r.ClientCmd)
		}
		p("```\n\n")
	}
	return b.String()
}

func writeRatios(w *strings.Builder, rs *results) {
	if rs.interleaved {
		writeRoundRatios(w, rs)
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	get := func(server, scenario string) (Result, bool) {
		r, ok := rs.load[[2]string{server, scenario}]
		return r, ok && r.Error == ""
	}
	// row writes the ratios of a over o, or refuses them when either row
	// failed the quiet check.
	row := func(s Result, a, o Result) {
		if why := refusal(a, o); why != "" {
			p("| %s (refused: %s) | — | — | — | — | — |\n", scenarioLabel(s), why)
			return
		}
		p("| %s | %s | %s | %s | %s | %s |\n", scenarioLabel(s), ratio(a.Rate, o.Rate), ratio(a.P50us, o.P50us),
			ratio(a.P99us, o.P99us), ratio(a.CPUPer100k, o.CPUPer100k), ratio(float64(a.PeakKiB), float64(o.PeakKiB)))
	}
	p("## Ratios\n\n")
	p("ws.Callback divided by the other server, per scenario. Throughput above 1× and latency, CPU and memory below 1× favour ws.Callback. ")
	p("No ratio is taken from a row that failed the quiet check (the rest of the machine busier than the limit in every attempt): ")
	p("its cells show — and the scenario says which row and why.\n\n")
	p("### ws.Callback vs the hand-written coder/websocket baseline\n\n")
	p("| Scenario | msg/s | p50 | p99 | CPU / 100k msg | peak RSS |\n|---|--:|--:|--:|--:|--:|\n")
	for _, s := range rs.scenarios {
		a, ok1 := get("cafeto", s.Scenario)
		c, ok2 := get("coder", s.Scenario)
		if !ok1 || !ok2 {
			continue
		}
		row(s, a, c)
	}
	if a, c := rs.idle["cafeto"], rs.idle["coder"]; a.Error == "" && c.Error == "" && a.PerConnKiB > 0 && c.PerConnKiB > 0 {
		p("| idle memory per connection | | | | | %s |\n", ratio(a.PerConnKiB, c.PerConnKiB))
	}
	p("\n")
	writeBackToBack(w, rs, "cafeto", "coder")

	if slices.Contains(rs.servers, "router") {
		p("### ws.Router vs ws.Callback\n\n")
		p("The same workload as one event of a ws.Router: each request in an event envelope with an id, each reply echoing both. ")
		p("Only repetitions measured back to back compare the two: the rows above may come from passes run at other times.\n\n")
		writeBackToBack(w, rs, "router", "cafeto")
	}

	for _, peer := range []string{"gorilla", "gws", "fastapi", "nestjs", "nodews", "cafeto-jsonv2"} {
		if !slices.Contains(rs.servers, peer) {
			continue
		}
		p("### ws.Callback vs %s\n\n", serverOf(peer).label)
		p("| Scenario | msg/s | p50 | p99 | CPU / 100k msg | peak RSS |\n|---|--:|--:|--:|--:|--:|\n")
		for _, s := range rs.scenarios {
			a, ok1 := get("cafeto", s.Scenario)
			o, ok2 := get(peer, s.Scenario)
			if !ok1 || !ok2 {
				continue
			}
			row(s, a, o)
		}
		if a, o := rs.idle["cafeto"], rs.idle[peer]; a.Error == "" && o.Error == "" && a.PerConnKiB > 0 && o.PerConnKiB > 0 {
			p("| idle memory per connection | | | | | %s |\n", ratio(a.PerConnKiB, o.PerConnKiB))
		}
		p("\n")
	}
}

// refusal says why no ratio may be taken from rows: one of them failed the
// quiet check (the rest of the machine used more CPU than -max-other during
// its window in every attempt), or "" when none did.
func refusal(rows ...Result) string {
	var why []string
	for _, r := range rows {
		if r.Disturbed {
			why = append(why, fmt.Sprintf("the %s row failed the quiet check, rest of machine %.0f%% of a CPU", serverOf(r.Server).short, r.OtherCPUPct))
		}
	}
	return strings.Join(why, "; ")
}

func orIdle(r Result) string {
	if r.Kind == "idle" {
		return fmt.Sprintf("idle with %s connections", groupDigits(int64(r.Conns)))
	}
	return scenarioLabel(r)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "–"
	}
	r := a / b
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f×", r)
	case r >= 10:
		return fmt.Sprintf("%.1f×", r)
	case r >= 0.1:
		return fmt.Sprintf("%.2f×", r)
	default:
		return fmt.Sprintf("%.2g×", r)
	}
}

func micros(us float64) string {
	if us >= 100 {
		return groupDigits(int64(us + 0.5))
	}
	return fmt.Sprintf("%.1f", us)
}

func mib(kib int64) string {
	return fmt.Sprintf("%.1f", float64(kib)/1024)
}

// groupDigits writes n with commas between thousands: 12,345.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// writeBackToBack compares server first with server second over the
// repetitions measured back to back, one right after the other.
func writeBackToBack(w *strings.Builder, rs *results, first, second string) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	type pair struct{ a, c Result }
	var rows [][]pair
	refused := 0
	var labels []string
	for _, sc := range rs.abOrder {
		var pairs []pair
		var reps [][]Result
		for _, set := range rs.abSets {
			reps = append(reps, rs.ab[[2]string{set, sc}]...)
		}
		for _, rep := range reps {
			var a, c Result
			for _, r := range rep {
				switch r.Server {
				case first:
					a = r
				case second:
					c = r
				}
			}
			if a.Error == "" && c.Error == "" && a.Rate > 0 && c.Rate > 0 {
				if refusal(a, c) != "" {
					refused++
					continue
				}
				pairs = append(pairs, pair{a, c})
			}
		}
		if len(pairs) > 0 {
			rows = append(rows, pairs)
			labels = append(labels, scenarioLabel(pairs[0].a))
		}
	}
	if len(rows) == 0 {
		return
	}
	fa, fb := serverOf(first).short, serverOf(second).short
	p("#### Repeated back to back\n\n")
	p("Each scenario measured again several times, %s and %s one right after the other (which one went first alternates), ", fa, fb)
	p("so that both see the same machine. The figures are medians over the repetitions; each ratio is the ratio of the two medians, ")
	p("with the lowest and the highest ratio within a single repetition in parentheses.\n\n")
	if refused > 0 {
		p("%d repetitions in which a row failed the quiet check are left out.\n\n", refused)
	}
	p("| Scenario | repetitions | %s msg/s | %s msg/s | msg/s ratio (range) | %s CPU s / 100k | %s CPU s / 100k | CPU ratio (range) |\n", fa, fb, fa, fb)
	p("|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for i, pairs := range rows {
		var aRate, cRate, aCPU, cCPU, rRate, rCPU []float64
		for _, pr := range pairs {
			aRate, cRate = append(aRate, pr.a.Rate), append(cRate, pr.c.Rate)
			aCPU, cCPU = append(aCPU, pr.a.CPUPer100k), append(cCPU, pr.c.CPUPer100k)
			rRate = append(rRate, pr.a.Rate/pr.c.Rate)
			if pr.c.CPUPer100k > 0 {
				rCPU = append(rCPU, pr.a.CPUPer100k/pr.c.CPUPer100k)
			}
		}
		p("| %s | %d | %s | %s | %s (%s–%s) | %.3f | %.3f | %s (%s–%s) |\n", labels[i], len(pairs),
			groupDigits(int64(median(aRate)+0.5)), groupDigits(int64(median(cRate)+0.5)),
			ratio(median(aRate), median(cRate)), ratio(slices.Min(rRate), 1), ratio(slices.Max(rRate), 1),
			median(aCPU), median(cCPU),
			ratio(median(aCPU), median(cCPU)), ratio(minOr(rCPU), 1), ratio(maxOr(rCPU), 1))
	}
	p("\n")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minOr(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return slices.Min(v)
}

func maxOr(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return slices.Max(v)
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// scaleReport is loadgen scale-report: the steps of scale.sh as a Markdown
// table, with the slopes fitted over each server's steps.
func scaleReport(args []string) error {
	fs := flag.NewFlagSet("scale-report", flag.ExitOnError)
	in := fs.String("in", "scale.jsonl", "results written by scale")
	envFile := fs.String("env", "", "extra 'key: value' lines for the environment table")
	md := fs.String("md", "SCALE.md", "Markdown report to write")
	fs.Parse(args)
	rs, err := readScale(*in)
	if err != nil {
		return err
	}
	var env [][2]string
	if *envFile != "" {
		if env, err = readEnv(*envFile); err != nil {
			return err
		}
	}
	return os.WriteFile(*md, []byte(scaleMarkdown(rs, env)), 0o644)
}

func readScale(path string) ([]Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rs []Result
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if r.Kind == "scale" {
			rs = append(rs, r)
		}
	}
	return rs, sc.Err()
}

func scaleMarkdown(rs []Result, env [][2]string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Connection scale\n\n")
	p("Generated on %s by `loadgen scale-report` from the steps `bench/scale.sh` measured. No figure here comes from anywhere else.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"))
	p("| | |\n|---|---|\n")
	p("| CPU | %s, %d logical CPUs |\n", cpuModel(), runtime.NumCPU())
	p("| Kernel | Linux %s |\n", kernel())
	p("| Go | %s |\n", runtime.Version())
	for _, kv := range env {
		p("| %s | %s |\n", kv[0], kv[1])
	}
	p("\n")
	p("Each step starts the server anew, reads its VmRSS, then worker processes open the connections, each from a source ")
	p("address of its own (127.0.0.2, 127.0.0.3, …), and make one verified round trip on each. Accept is the time from the first ")
	p("handshake started to the last one done. RSS per connection is VmRSS a few seconds later minus VmRSS before. Idle CPU is ")
	p("the server's user+system time (`/proc/PID/stat`) over a window in which the clients send nothing, in %% of one CPU: with the ")
	p("default 30 s keepalive of ws.Callback, a 30 s window holds one ping and pong per connection (the hand-written gorilla and gws ")
	p("servers send no pings). Broadcast is one message through the hub to the room that holds every connection: the time from ")
	p("the trigger until the last member has read it, then deliveries per second at the median. Rest of machine is the CPU, in %% ")
	p("of one CPU, used by anything but the server during the idle window, the clients' pongs included.\n\n")
	p("| Server | connections | workers | accept s | conn/s | RSS before MiB | RSS MiB | KiB / conn | idle CPU %% | rest of machine %% | broadcast ms (each) | deliveries/s |\n")
	p("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rs {
		label := serverOf(r.Server).label
		if r.Error != "" {
			p("| %s | %s | %d | failed: %s | | | | | | | | |\n", label, groupDigits(int64(r.Conns)), r.Workers, oneLine(r.Error))
			continue
		}
		bc, dps := "—", "—"
		if len(r.BroadcastMs) > 0 {
			bc = fmt.Sprintf("%.1f (%s)", median(r.BroadcastMs), strings.Join(formatMs(r.BroadcastMs), ", "))
			dps = groupDigits(int64(r.DeliveriesPerSec + 0.5))
		}
		p("| %s | %s | %d | %.2f | %s | %s | %s | %.1f | %.2f | %.0f | %s | %s |\n", label, groupDigits(int64(r.Conns)), r.Workers,
			r.AcceptSec, groupDigits(int64(r.AcceptRate+0.5)), mib(r.BaseKiB), mib(r.RSSKiB), r.PerConnKiB, r.IdleCPUPct, r.OtherCPUPct, bc, dps)
	}
	p("\n")

	var names []string
	for _, r := range rs {
		if !slices.Contains(names, r.Server) {
			names = append(names, r.Server)
		}
	}
	p("## Slopes\n\n")
	p("Least-squares lines through each server's steps that succeeded: resident memory and idle CPU against connections. ")
	p("They are what an extrapolation to more connections starts from, not a measurement of it.\n\n")
	p("| Server | steps | KiB per connection (slope) | MiB at 0 (intercept) | idle CPU %% per 10,000 connections |\n|---|--:|--:|--:|--:|\n")
	for _, name := range names {
		var x, mem, cpu []float64
		for _, r := range rs {
			if r.Server == name && r.Error == "" {
				x = append(x, float64(r.Conns))
				mem = append(mem, float64(r.RSSKiB))
				cpu = append(cpu, r.IdleCPUPct)
			}
		}
		if len(x) < 2 {
			p("| %s | %d | — (needs two steps) | | |\n", serverOf(name).label, len(x))
			continue
		}
		ms, mi := fitLine(x, mem)
		cs, _ := fitLine(x, cpu)
		p("| %s | %d | %.1f | %.1f | %.2f |\n", serverOf(name).label, len(x), ms, mi/1024, cs*1e4)
	}
	p("\n## Command lines\n\n```\n")
	for _, r := range rs {
		p("%s\n%s\n", r.ServerCmd, r.ClientCmd)
	}
	p("```\n")
	return b.String()
}

// fitLine returns the slope and intercept of the least-squares line
// through the points (x[i], y[i]).
func fitLine(x, y []float64) (slope, intercept float64) {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0, sy / n
	}
	slope = (n*sxy - sx*sy) / d
	return slope, (sy - slope*sx) / n
}

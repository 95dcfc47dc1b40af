// Command loadgen drives and measures the WebSocket benchmark servers.
//
//	loadgen run    -url URL -pid PID -server NAME -conns N -inflight K [-duration D -warmup W | -count C]
//	loadgen idle   -url URL -pid PID -server NAME -conns N
//	loadgen scale  -url URL -pid PID -server NAME -conns N [-broadcasts B -idle D]
//	loadgen quiet  [-below PCT -for D -timeout T]
//	loadgen report -in results.jsonl -env env.txt -md RESULTS.md -svg chart.svg
//
// run and idle verify every reply, print a summary and append one JSON line
// to -out; they exit with status 1 when any reply is wrong or missing. run
// exits with status 3 when the rest of the machine used more CPU than
// -max-other during the measured window. quiet waits until the machine is
// nearly idle. scale opens N connections from worker processes (loadgen
// scale-worker), each from a source address of its own, and measures the
// time to accept them, the server's memory per connection and idle CPU,
// and broadcasts through the server's hub room; scale-report writes its
// table.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Result is one measurement, stored as a line of JSON.
type Result struct {
	Kind     string `json:"kind"` // "load", "idle" or "scale"
	Server   string `json:"server"`
	Scenario string `json:"scenario,omitempty"`
	Set      string `json:"set,omitempty"` // "ab" or "ab-A-B": a back-to-back repetition, reported on its own
	Conns    int    `json:"conns"`
	Inflight int    `json:"inflight,omitempty"`
	// Round numbers the interleaved rounds of compare.sh: the servers of a
	// round were measured one right after the other.
	Round int `json:"round,omitempty"`
	// Message is the shape of the messages when it is not the chat
	// workload's: "m470-500w" for 470–500 characters of words.
	Message string `json:"message,omitempty"`
	// Compression is the client's permessage-deflate offer (-compression);
	// Extensions what the server answered (Sec-WebSocket-Extensions).
	Compression string `json:"compression,omitempty"`
	Extensions  string `json:"extensions,omitempty"`

	Seconds      float64 `json:"seconds,omitempty"` // measured window
	Replies      int64   `json:"replies,omitempty"` // verified replies in the window
	Invalid      int64   `json:"invalid,omitempty"` // of which were 400s
	Rate         float64 `json:"rate,omitempty"`    // replies per second
	P50us        float64 `json:"p50_us,omitempty"`
	P99us        float64 `json:"p99_us,omitempty"`
	ServerCPUSec float64 `json:"server_cpu_s,omitempty"`
	CPUPer100k   float64 `json:"cpu_s_per_100k,omitempty"`
	ClientCPUPct float64 `json:"client_cpu_pct,omitempty"`
	// The server's write and read system calls in the window (syscw and
	// syscr of /proc/PID/io), per reply, and the bytes it wrote per reply
	// (wchar): a write system call carries one frame or several.
	ServerWrites   int64   `json:"server_writes,omitempty"`
	ServerReads    int64   `json:"server_reads,omitempty"`
	WritesPerReply float64 `json:"writes_per_reply,omitempty"`
	ReadsPerReply  float64 `json:"reads_per_reply,omitempty"`
	BytesPerReply  float64 `json:"bytes_per_reply,omitempty"`
	// OtherCPUPct is the CPU time, in % of one CPU, that the machine spent on
	// anything but the server and the load generator during the window:
	// kernel work not charged to either, and other processes.
	OtherCPUPct float64 `json:"other_cpu_pct,omitempty"`

	RSSKiB     int64   `json:"rss_kib,omitempty"`  // VmRSS at the end
	PeakKiB    int64   `json:"peak_kib,omitempty"` // VmHWM at the end
	BaseKiB    int64   `json:"base_kib,omitempty"` // idle: VmRSS before connecting
	PerConnKiB float64 `json:"per_conn_kib,omitempty"`

	// Scale: worker processes, time from the first handshake started to
	// the last one done and connections per second over it, the server's
	// CPU in % of one CPU over an idle window of IdleSec seconds, the time
	// until the last member read each broadcast, and deliveries per second
	// at the median of those.
	Workers          int       `json:"workers,omitempty"`
	AcceptSec        float64   `json:"accept_s,omitempty"`
	AcceptRate       float64   `json:"accept_per_s,omitempty"`
	IdleSec          float64   `json:"idle_s,omitempty"`
	IdleCPUPct       float64   `json:"idle_cpu_pct,omitempty"`
	BroadcastMs      []float64 `json:"broadcast_ms,omitempty"`
	DeliveriesPerSec float64   `json:"deliveries_per_s,omitempty"`

	Disturbed bool   `json:"disturbed,omitempty"` // OtherCPUPct was above -max-other
	Failures  int64  `json:"failures"`
	Reordered int64  `json:"reordered,omitempty"`
	Error     string `json:"error,omitempty"`

	ServerCmd string `json:"server_cmd,omitempty"`
	ClientCmd string `json:"client_cmd"`
	Time      string `json:"time"`
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("loadgen: ")
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "run", "idle":
		err = measure(ctx, cmd, args)
	case "scale":
		err = measureScale(ctx, args)
	case "scale-worker":
		err = scaleWorker(ctx, args)
	case "scale-report":
		err = scaleReport(args)
	case "quiet":
		err = quiet(ctx, args)
	case "report":
		err = report(args)
	default:
		usage()
	}
	if err != nil {
		log.Print(err)
		stop()
		if errors.As(err, new(disturbedError)) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen run|idle|scale|quiet|report|scale-report [flags]; loadgen CMD -h lists the flags")
	os.Exit(2)
}

func measure(ctx context.Context, cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	var (
		cfg       loadConfig
		server    = fs.String("server", "", "server name, as the report lists it")
		serverCmd = fs.String("server-cmd", "", "command line the server was started with, for the report")
		out       = fs.String("out", "", "append the result as a JSON line to this file")
		settle    = fs.Duration("settle", 2*time.Second, "idle: wait this long before reading memory")
		set       = fs.String("set", "", `"ab", or "ab-" and the pair's names ("ab-router-cafeto"), for a back-to-back repetition that the report shows apart`)
		maxOther  = fs.Float64("max-other", 0, "run: exit with status 3 when the rest of the machine used more than this % of a CPU (0: no limit)")
		round     = fs.Int("round", 0, "number of the interleaved round this measurement belongs to, for the report (0: none)")
		message   = fs.String("message", "40-60", "characters of a request's message, MIN-MAX")
		words     = fs.Bool("words", false, "messages of common English words instead of random characters")
	)
	fs.StringVar(&cfg.url, "url", "ws://127.0.0.1:8080/ws", "server endpoint")
	fs.IntVar(&cfg.pid, "pid", 0, "server process ID for CPU and memory figures (0: none)")
	fs.IntVar(&cfg.conns, "conns", 1, "connections")
	fs.IntVar(&cfg.inflight, "inflight", 1, "requests in flight per connection (1: closed loop)")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured time before the window")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured window")
	fs.IntVar(&cfg.count, "count", 0, "send this many requests in all and measure them all instead of a time window")
	fs.DurationVar(&cfg.timeout, "timeout", time.Minute, "give up a -count run or an idle run after this long")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the request pool")
	fs.BoolVar(&cfg.echo, "echo", false, "expect every request back unchanged instead of a chat reply")
	fs.StringVar(&cfg.compression, "compression", "", "use coder/websocket's client, offering permessage-deflate: disabled, no-context-takeover or context-takeover (default: gorilla's client, no offer)")
	fs.StringVar(&cfg.event, "event", "", `send each request as the data of this ws.Router event, {"event":…,"id":…,"data":…}`)
	fs.Parse(args)
	if *server == "" || cfg.conns < 1 || cfg.inflight < 1 || cfg.count < 0 {
		return fmt.Errorf("%s: -server is required; -conns and -inflight must be positive", cmd)
	}
	if _, ok := compressionModes[cfg.compression]; cfg.compression != "" && !ok {
		return fmt.Errorf("%s: -compression %q: want disabled, no-context-takeover or context-takeover", cmd, cfg.compression)
	}
	var err error
	if cfg.shape, err = parseShape(*message, *words); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}

	var res Result
	if cmd == "run" {
		res, err = runLoad(ctx, cfg)
	} else {
		res, err = runIdle(ctx, cfg, *settle)
	}
	res.Server = *server
	res.Set = *set
	res.Round = *round
	res.ServerCmd = *serverCmd
	res.ClientCmd = strings.Join(os.Args, " ")
	if cpus, err := allowedCPUs(0); err == nil && cpus != fmt.Sprintf("0-%d", runtime.NumCPU()-1) {
		res.ClientCmd = "taskset -c " + cpus + " " + res.ClientCmd
	}
	res.Time = time.Now().UTC().Format(time.RFC3339)
	if err != nil {
		res.Error = err.Error()
	} else if res.Failures > 0 {
		err = fmt.Errorf("%d wrong replies", res.Failures)
		res.Error = err.Error()
	} else if *maxOther > 0 && res.OtherCPUPct > *maxOther {
		res.Disturbed = true
		err = disturbedError{other: res.OtherCPUPct, limit: *maxOther}
	}
	fmt.Println(summary(res))
	if *out != "" {
		if werr := appendJSON(*out, res); werr != nil {
			return werr
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", res.Server, res.Scenario, err)
	}
	return nil
}

func summary(r Result) string {
	if r.Kind == "idle" {
		return fmt.Sprintf("%-8s idle %d conns: RSS %d → %d KiB, %.1f KiB/conn, failures %d",
			r.Server, r.Conns, r.BaseKiB, r.RSSKiB, r.PerConnKiB, r.Failures)
	}
	return fmt.Sprintf("%-8s %-10s %9.0f msg/s  p50 %7.0fµs  p99 %7.0fµs  CPU %.2fs/100k  RSS %d KiB (peak %d)  client CPU %.0f%%  other CPU %.0f%%  replies %d (%d to invalid requests)  failures %d",
		r.Server, r.Scenario, r.Rate, r.P50us, r.P99us, r.CPUPer100k, r.RSSKiB, r.PeakKiB, r.ClientCPUPct, r.OtherCPUPct, r.Replies, r.Invalid, r.Failures)
}

func appendJSON(path string, r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"
)

// quiet waits until the machine's CPUs have been nearly idle for a while, so
// that a measurement does not start while another workload runs. It gives
// up after -timeout with a warning, not an error.
func quiet(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("quiet", flag.ExitOnError)
	below := fs.Float64("below", 10, "busy CPU time allowed, in % of one CPU")
	span := fs.Duration("for", 2*time.Second, "how long the machine must stay below -below")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	fs.Parse(args)

	const tick = 500 * time.Millisecond
	deadline := time.Now().Add(*timeout)
	prev, err := machineBusy()
	if err != nil {
		return err
	}
	var calm time.Duration
	for calm < *span {
		if time.Now().After(deadline) {
			log.Printf("the machine is still busy after %v; going on", *timeout)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(tick):
		}
		busy, err := machineBusy()
		if err != nil {
			return err
		}
		if pct := 100 * (busy - prev).Seconds() / tick.Seconds(); pct < *below {
			calm += tick
		} else {
			calm = 0
		}
		prev = busy
	}
	return nil
}

// disturbedError reports a measurement taken while the rest of the machine
// was busy.
type disturbedError struct{ other, limit float64 }

func (e disturbedError) Error() string {
	return fmt.Sprintf("the rest of the machine used %.0f%% of a CPU during the window (limit %.0f%%)", e.other, e.limit)
}

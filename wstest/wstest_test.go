package wstest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/internal/leaktest"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
)

func TestMain(m *testing.M) { leaktest.Main(m, 5*time.Second) }

// failing is a testing.TB whose Fatalf records the message and ends the
// goroutine, as testing's does.
type failing struct {
	testing.TB
	msg string
}

func (f *failing) Helper() {}

func (f *failing) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fails runs fn with a failing TB on its own goroutine and returns what it
// failed with, or "".
func fails(t *testing.T, fn func(tb testing.TB)) string {
	f := &failing{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

type named struct {
	Name string `json:"name" validate:"required"`
}

func router() *ws.Router {
	r := ws.NewRouter()
	ws.Emits[string](r, "note")
	ws.On(r, "name", func(ctx context.Context, in named) (string, error) {
		return in.Name, nil
	})
	ws.On(r, "push", func(ctx context.Context, status int) (int, error) {
		conn := ws.ConnFromContext(ctx)
		return 0, conn.SendText(ctx, fmt.Appendf(nil, `{"event":"note","statusCode":%d,"body":"hi"}`, status))
	})
	ws.On(r, "bye", func(ctx context.Context, in struct{}) (int, error) {
		return 0, ws.ConnFromContext(ctx).Close(4000, "bye")
	})
	return r
}

// The helpers pass on what they promise and fail the test on anything
// else.
func TestHelpers(t *testing.T) {
	t.Parallel()
	c := wstest.Dial(t, router())
	ctx := t.Context()

	_, err := wsclient.Call[string](ctx, c, "name", struct{}{})
	if d := wstest.ErrorAt(t, err, "name"); d.Type != "missing" {
		t.Fatalf("ErrorAt = %+v", d)
	}
	if msg := fails(t, func(tb testing.TB) { wstest.ErrorAt(tb, err, "other") }); !strings.Contains(msg, "no entry at [other]") {
		t.Fatalf("ErrorAt at another loc: %q", msg)
	}
	if msg := fails(t, func(tb testing.TB) { wstest.ErrorAt(tb, errors.New("x"), "name") }); !strings.Contains(msg, "want a 400") {
		t.Fatalf("ErrorAt of another error: %q", msg)
	}

	if _, err := wsclient.Call[int](ctx, c, "push", 200); err != nil {
		t.Fatal(err)
	}
	if got := wstest.NextPush[string](t, c, "note"); got != "hi" {
		t.Fatalf("NextPush = %q", got)
	}
	if _, err := wsclient.Call[int](ctx, c, "push", 500); err != nil {
		t.Fatal(err)
	}
	if msg := fails(t, func(tb testing.TB) { wstest.NextPush[string](tb, c, "note") }); !strings.Contains(msg, "status 500") {
		t.Fatalf("NextPush of a 500: %q", msg)
	}
	if _, err := wsclient.Call[int](ctx, c, "push", 200); err != nil {
		t.Fatal(err)
	}
	if msg := fails(t, func(tb testing.TB) { wstest.NextPush[int](tb, c, "note") }); !strings.Contains(msg, "does not decode") {
		t.Fatalf("NextPush of another type: %q", msg)
	}

	go wsclient.Call[int](ctx, c, "bye", struct{}{})
	if msg := fails(t, func(tb testing.TB) { wstest.Closed(tb, c, 1000) }); !strings.Contains(msg, "want close 1000") {
		t.Fatalf("Closed with another code: %q", msg)
	}
	wstest.Closed(t, c, 4000)
	if msg := fails(t, func(tb testing.TB) { wstest.NextPush[string](tb, c, "note") }); !strings.Contains(msg, "the client has ended") {
		t.Fatalf("NextPush on an ended client: %q", msg)
	}
}

// Each server bounds the waits of its own clients: a short Timeout on one
// server cuts its clients' waits short and leaves the others' at 10 s,
// without a package variable that parallel tests would share.
func TestTimeoutPerServer(t *testing.T) {
	t.Parallel()
	short := wstest.NewServer(t, router())
	short.Timeout = 50 * time.Millisecond
	c := short.Dial(t, "")
	other := wstest.Dial(t, router())
	if got := wstest.Timeout(c); got != short.Timeout {
		t.Fatalf("Timeout of the short server's client = %v, want %v", got, short.Timeout)
	}
	if got := wstest.Timeout(other); got != 10*time.Second {
		t.Fatalf("Timeout of another client = %v, want 10s", got)
	}
	if msg := fails(t, func(tb testing.TB) { wstest.NextPush[string](tb, c, "note") }); !strings.Contains(msg, "no push \"note\" within 50ms") {
		t.Fatalf("NextPush with nothing to come: %q", msg)
	}
	if msg := fails(t, func(tb testing.TB) { wstest.Closed(tb, c, 1000) }); !strings.Contains(msg, "still connected after 50ms") {
		t.Fatalf("Closed on an open client: %q", msg)
	}
}

// Bot joins the chat demo as a user and answers the messages that mention
// it, with github.com/cafeto-go/ws/wsclient:
//
//	go run ./examples/chat &     # the demo, GET /ws
//	go run ./examples/bot        # then write "@bot hello" in the page
//	go run ./examples/bot -url ws://localhost:9000/ws -name helper
//
// It joins with chat.join {"user": name}, listens to the chat.message
// pushes, and answers a message that mentions it with chat.send
// {"message": …}: "@bot time" gives the server's time, anything else is
// echoed. When the demo restarts, the bot reconnects and joins again.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cafeto-go/ws/wsclient"
)

// JoinRequest is the data of chat.join.
type JoinRequest struct {
	User string `json:"user"`
}

// SendRequest is the data of chat.send.
type SendRequest struct {
	Message string `json:"message"`
}

// ChatMessage is the body of the chat.message push and of chat.send's
// reply.
type ChatMessage struct {
	Message string    `json:"message"`
	User    string    `json:"user"`
	Time    time.Time `json:"time"`
}

func main() {
	url := flag.String("url", "ws://localhost:8080/ws", "the chat's WebSocket endpoint")
	name := flag.String("name", "bot", "the name to join with")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *url, *name, slog.Default()); err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}

// run connects, joins as name and answers mentions until ctx is done or
// the client ends for good.
func run(ctx context.Context, url, name string, logger *slog.Logger) error {
	c := wsclient.New(url,
		wsclient.WithLogger(logger),
		wsclient.WithReconnect(500*time.Millisecond, 10*time.Second),
		// Join after every (re)connect: a new connection is in no room.
		wsclient.WithOnConnect(func(ctx context.Context, c *wsclient.Client) error {
			if _, err := wsclient.Call[any](ctx, c, "chat.join", JoinRequest{User: name}); err != nil {
				return fmt.Errorf("joining as %q: %w", name, err)
			}
			logger.InfoContext(ctx, "bot joined", "url", url, "user", name)
			return nil
		}))
	wsclient.On(c, "chat.message", func(ctx context.Context, m ChatMessage) {
		text, ok := answer(name, m)
		if !ok {
			return
		}
		// Calls from a push handler are fine: replies never wait for
		// handlers. This one is bounded, so a stalled server cannot hold
		// up the next pushes for long.
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := wsclient.Call[ChatMessage](ctx, c, "chat.send", SendRequest{Message: text}); err != nil {
			logger.WarnContext(ctx, "bot could not answer", "to", m.User, "error", err)
		}
	})
	if err := c.Connect(ctx); err != nil {
		return err
	}
	defer c.Close()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.Done():
		return c.Err()
	}
}

// answer returns the bot's answer to m, and false when m does not mention
// it.
func answer(name string, m ChatMessage) (string, bool) {
	if m.User == name {
		return "", false
	}
	// The message's words, without the mentions of the bot.
	var rest []string
	mentioned := false
	for _, w := range strings.Fields(m.Message) {
		if strings.EqualFold(strings.TrimRight(w, ",.:;!?"), "@"+name) {
			mentioned = true
			continue
		}
		rest = append(rest, w)
	}
	if !mentioned {
		return "", false
	}
	said := strings.Join(rest, " ")
	switch strings.ToLower(said) {
	case "time":
		return fmt.Sprintf("@%s it is %s UTC", m.User, time.Now().UTC().Format(time.TimeOnly)), true
	case "", "help":
		return fmt.Sprintf("@%s say \"@%s time\", or anything and I repeat it", m.User, name), true
	}
	return fmt.Sprintf("@%s you said: %s", m.User, said), true
}

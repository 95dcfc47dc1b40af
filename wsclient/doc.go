// Package wsclient is a typed Go client for the endpoints of
// github.com/cafeto-go/ws: the events, pushes and streams of a [ws.Router],
// and the plain request/reply of a [ws.Callback]. It speaks the wire of
// docs/protocol.md and decodes replies into your own types:
//
//	c, err := wsclient.Dial(ctx, "ws://localhost:8080/ws")
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//
//	// Pushes: {"event": "chat.message", "statusCode": 200, "body": {…}}.
//	wsclient.On(c, "chat.message", func(ctx context.Context, m ChatMessage) {
//		fmt.Println(m.User+":", m.Message)
//	})
//
//	// Requests: {"event": "chat.send", "id": 1, "data": {…}}.
//	msg, err := wsclient.Call[ChatMessage](ctx, c, "chat.send", SendRequest{Message: "hi"})
//	var e *ws.Error
//	if errors.As(err, &e) && e.Status == 400 {
//		for _, d := range e.Body.(ws.ErrorList).Errors {
//			fmt.Println(d.Loc, d.Msg) // [message] Field required
//		}
//	}
//
//	// Streams: items until the server ends it; break cancels it.
//	for m, err := range wsclient.Stream[ChatMessage](ctx, c, "chat.watch", WatchRequest{}) {
//		…
//	}
//
// Calls carry ids of the client's own and are matched to their replies by
// them: a Client serves any number of goroutines at once. A [ws.Callback]
// endpoint replies in order and without ids: [Send] matches its replies by
// order.
//
// # Rooms with history
//
// The pushes of a room whose history the server keeps (hub.WithHistory)
// carry the room's epoch and the push's offset. The client keeps, for
// each room, the position of the last push it handed to its handlers, and
// sends them in the resume parameter of every reconnect: the server then
// replays what the client missed, once and in order, or says it cannot.
// [WithOnRecover] tells the application which:
//
//	c, err := wsclient.Dial(ctx, url,
//		wsclient.WithReconnect(0, 0),
//		wsclient.WithOnConnect(func(ctx context.Context, c *wsclient.Client) error {
//			_, err := wsclient.Call[Joined](ctx, c, "chat.join", JoinRequest{Room: "lobby"})
//			return err
//		}),
//		wsclient.WithOnRecover(func(ctx context.Context, r wsclient.Recovery) {
//			if !r.Recovered {
//				reload(r.Room) // the history no longer reaches back: messages were lost
//			}
//		}))
//
// A push the client handed over already (offset at or before the room's
// position, same epoch) is dropped, whoever sent it twice; a push of such a
// room that does not fit in the push buffer drops the connection rather
// than leave a gap ([ErrPushOverflow]).
//
// # Defaults
//
// Every default can be changed with an [Option]:
//
//   - read limit: 1 MiB per message; a larger one closes the connection
//     with 1009 ([WithReadLimit]);
//   - write timeout: 10 s for each frame ([WithWriteTimeout]);
//   - ping interval: 30 s; a server silent for two intervals is dropped
//     ([WithPingInterval]);
//   - push buffer: 1024 pushes waiting for their handlers, and 1024 items
//     for each stream ([WithBuffer]);
//   - reconnect: off; a lost connection ends the client ([WithReconnect],
//     [WithOnConnect]);
//   - logger: discards everything ([WithLogger]).
//
// Package github.com/cafeto-go/ws/wstest starts handlers on test servers
// and dials them with a Client.
package wsclient

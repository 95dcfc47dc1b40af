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

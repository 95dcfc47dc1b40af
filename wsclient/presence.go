package wsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
)

// Presence is who is in a room with presence (docs/protocol.md,
// "Presence"): each key present (the server's identity for a member, such
// as the user), with the metas of its connections, one per connection. A
// key is present while it has a meta.
type Presence map[string][]Meta

// Meta is one connection's meta, as the server tracked it: a JSON object
// that carries "$ref", a string that tells its connection apart from every
// other.
type Meta struct {
	// Ref is the meta's "$ref".
	Ref string
	// JSON is the whole object, "$ref" included.
	JSON json.RawMessage
}

// Decode decodes the meta into v, as [json.Unmarshal] does.
func (m Meta) Decode(v any) error { return json.Unmarshal(m.JSON, v) }

// clone returns a copy of p whose lists are its own (the metas' JSON is
// shared: it is never written).
func (p Presence) clone() Presence {
	out := make(Presence, len(p))
	for key, metas := range p {
		out[key] = slices.Clone(metas)
	}
	return out
}

// PresenceChange is what the function of [WithOnPresence] gets for each
// $presence push: what changed in a room's presence since the function
// last saw it, and the whole presence after the change.
type PresenceChange struct {
	// Room is the room's name.
	Room string
	// Joins are the metas that joined, by key; Leaves those that left. A
	// key in Leaves that is not in State has left.
	Joins, Leaves Presence
	// State is the room's presence after the change: the caller's copy.
	State Presence
}

// presenceBody is the body of a $presence push.
type presenceBody struct {
	Joins  map[string][]json.RawMessage `json:"joins"`
	Leaves map[string][]json.RawMessage `json:"leaves"`
}

// presenceChange reads the body of a $presence push into joins and
// leaves; metas that are not objects with a string "$ref" are left out.
func presenceChange(body []byte) (joins, leaves Presence, ok bool) {
	var b presenceBody
	if json.Unmarshal(body, &b) != nil {
		return nil, nil, false
	}
	return metas(b.Joins), metas(b.Leaves), true
}

func metas(in map[string][]json.RawMessage) Presence {
	out := make(Presence, len(in))
	for key, list := range in {
		for _, raw := range list {
			var ref struct {
				Ref *string `json:"$ref"`
			}
			if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &ref) != nil || ref.Ref == nil {
				continue
			}
			out[key] = append(out[key], Meta{Ref: *ref.Ref, JSON: bytes.Clone(raw)})
		}
	}
	return out
}

// presencePush hands a $presence push to the push goroutine, on the
// reader. The first push of a room on a connection is the room's whole
// presence and replaces what the client held; the others are diffs. A
// push that does not fit in the buffer would leave the map wrong for
// good: the connection is dropped instead, as for a room with history, and
// the next connection's first push gives the whole presence again.
func (cn *conn) presencePush(f *frame) {
	if cn.behind {
		return
	}
	room, ok := eventName(f.Room)
	if !ok {
		return
	}
	joins, leaves, ok := presenceChange(f.Body)
	if !ok {
		cn.c.o.logger.WarnContext(cn.c.ctx, "wsclient: $presence does not decode", "room", room)
		return
	}
	if cn.present == nil {
		cn.present = make(map[string]bool)
	}
	snapshot := !cn.present[room]
	cn.present[room] = true
	c := cn.c
	ok = c.enqueue(push{
		run: func(ctx context.Context) error {
			ch := c.syncPresence(room, snapshot, joins, leaves)
			if fn := c.o.onPresence; fn != nil {
				fn(ctx, ch)
			}
			return nil
		},
		msg: Message{Event: "$presence", Room: room},
	})
	if !ok {
		cn.fallBehind(room)
	}
}

// syncPresence applies a $presence push to the room's presence, as
// Phoenix's Presence.syncState (snapshot) and syncDiff do, and returns
// the change as the application sees it. It runs on the push goroutine.
func (c *Client) syncPresence(room string, snapshot bool, joins, leaves Presence) PresenceChange {
	c.prmu.Lock()
	defer c.prmu.Unlock()
	old := c.presence[room]
	if snapshot {
		// What left is what the client held and the snapshot does not;
		// what joined, what the snapshot holds and the client did not.
		joins, leaves = diff(joins, old), diff(old, joins)
	}
	// Leaves first: a meta that changed leaves and joins under one $ref.
	state := old.clone()
	for key, metas := range leaves {
		state[key] = slices.DeleteFunc(state[key], func(o Meta) bool {
			return slices.ContainsFunc(metas, func(l Meta) bool { return l.Ref == o.Ref })
		})
		if len(state[key]) == 0 {
			delete(state, key)
		}
	}
	for key, metas := range joins {
		for _, m := range metas {
			// A meta already there (the same $ref) is replaced.
			i := slices.IndexFunc(state[key], func(o Meta) bool { return o.Ref == m.Ref })
			if i < 0 {
				state[key] = append(state[key], m)
			} else {
				state[key][i] = m
			}
		}
	}
	if len(state) == 0 {
		delete(c.presence, room)
	} else {
		c.presence[room] = state
	}
	return PresenceChange{Room: room, Joins: joins, Leaves: leaves, State: state.clone()}
}

// diff returns the metas of a that no meta of b's same key equals ($ref
// and JSON).
func diff(a, b Presence) Presence {
	out := Presence{}
	for key, metas := range a {
		for _, m := range metas {
			if !slices.ContainsFunc(b[key], func(o Meta) bool { return o.Ref == m.Ref && bytes.Equal(o.JSON, m.JSON) }) {
				out[key] = append(out[key], m)
			}
		}
	}
	return out
}

// Presence returns the presence of room as the client knows it: from the
// $presence pushes handed over so far (see [WithOnPresence]), a copy the
// caller may keep. It is empty for a room without presence, or that the
// client is not in. Presence is safe for concurrent use.
func (c *Client) Presence(room string) Presence {
	c.prmu.Lock()
	defer c.prmu.Unlock()
	return c.presence[room].clone()
}

// isPresence reports whether raw is the JSON string "$presence".
func isPresence(raw []byte) bool { return bytes.Equal(raw, []byte(`"$presence"`)) }

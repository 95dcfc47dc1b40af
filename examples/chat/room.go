package main

import (
	"sync"

	"github.com/cafeto-go/ws"
)

// queueSize is how many messages may wait for one member before it counts
// as too slow.
const queueSize = 16

// room is the set of connected members. Each member has a bounded queue,
// written to the connection by a goroutine of its own, so one slow browser
// never holds up the others: a member whose queue is full is disconnected
// with 1008 (policy violation).
type room struct {
	mu      sync.Mutex
	members map[*ws.Conn]chan []byte
}

func newRoom() *room {
	return &room{members: make(map[*ws.Conn]chan []byte)}
}

// join adds conn to the room until leave.
func (r *room) join(conn *ws.Conn) {
	queue := make(chan []byte, queueSize)
	r.mu.Lock()
	r.members[conn] = queue
	r.mu.Unlock()
	go func() {
		for msg := range queue {
			if conn.SendText(conn.Context(), msg) != nil {
				return // the connection has ended; leave closes the queue
			}
		}
	}()
}

// leave removes conn from the room. It does nothing if conn is not there.
func (r *room) leave(conn *ws.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if queue, ok := r.members[conn]; ok {
		delete(r.members, conn)
		close(queue)
	}
}

// broadcastExcept queues msg, one encoded text message, for every member but
// from. It never blocks.
func (r *room) broadcastExcept(from *ws.Conn, msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for conn, queue := range r.members {
		if conn == from {
			continue
		}
		select {
		case queue <- msg:
		default:
			delete(r.members, conn)
			close(queue)
			go conn.Close(ws.StatusPolicyViolation, "too slow")
		}
	}
}

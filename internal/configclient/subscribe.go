package configclient

import (
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/atelier-dev/atelier/internal/config"
)

// subscriber delivers changes to one callback from its own goroutine, so
// that a slow callback delays nobody else. Changes that pile up while the
// callback runs are merged: it then gets the oldest undelivered old
// snapshot and the newest new one.
type subscriber struct {
	fn       func(old, new *config.Snapshot)
	mu       sync.Mutex
	pending  *change
	wake     chan struct{} // capacity 1
	done     chan struct{}
	stopOnce sync.Once
}

type change struct{ old, new *config.Snapshot }

// Subscribe calls fn with the old and new snapshot after each change of
// the served snapshot, in order, from a goroutine of its own. A slow fn
// cannot block delivery to other subscribers; changes that arrive while it
// runs are merged into one call. cancel stops delivery; it does not wait
// for a call in progress.
func (c *Client) Subscribe(fn func(old, new *config.Snapshot)) (cancel func()) {
	s := &subscriber{fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.subsMu.Lock()
	if c.closed {
		c.subsMu.Unlock()
		return func() {}
	}
	c.subs[s] = struct{}{}
	c.subsMu.Unlock()
	go s.run(c)
	return func() {
		c.subsMu.Lock()
		delete(c.subs, s)
		c.subsMu.Unlock()
		s.stop()
	}
}

// notify queues a change for every subscriber without waiting for any.
func (c *Client) notify(old, new *config.Snapshot) {
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	for s := range c.subs {
		s.push(old, new)
	}
}

func (s *subscriber) push(old, new *config.Snapshot) {
	s.mu.Lock()
	if s.pending == nil {
		s.pending = &change{old: old, new: new}
	} else {
		s.pending.new = new
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // already woken; the pending change is picked up
	}
}

func (s *subscriber) stop() { s.stopOnce.Do(func() { close(s.done) }) }

func (s *subscriber) run(c *Client) {
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		s.mu.Lock()
		ch := s.pending
		s.pending = nil
		s.mu.Unlock()
		if ch == nil {
			continue
		}
		select {
		case <-s.done:
			return
		default:
		}
		s.call(c, ch)
	}
}

// call runs the callback; a panic in it is logged, not fatal.
func (s *subscriber) call(c *Client, ch *change) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("config subscriber panicked", "panic", fmt.Sprint(r),
				"stack", string(debug.Stack()))
		}
	}()
	s.fn(ch.old, ch.new)
}

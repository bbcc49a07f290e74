package configclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// maintainLoop runs the conditional full fetch of /all every SyncInterval
// (at once at start, sooner when the stream reconnects or the served config
// turns stale, with backoff after failures), and retries the cache and the
// local file while nothing usable is served.
func (c *Client) maintainLoop(ctx context.Context) {
	defer c.wg.Done()
	t := time.NewTicker(c.tune.tick)
	defer t.Stop()
	var (
		next, lastFloor time.Time // zero next: fetch now
		failures        int
		first           = true
		staleTried      bool
	)
	for {
		now := time.Now()
		if c.cur.Load() == nil && now.Sub(lastFloor) >= c.tune.localRetry && !first {
			lastFloor = now
			c.retryFloor()
		}
		stale := c.isStale(now)
		if !stale {
			staleTried = false
		}
		if c.base != "" && (first || !now.Before(next) || stale && !staleTried) {
			staleTried = staleTried || stale
			res := c.syncAll(ctx)
			if first {
				close(c.firstSync)
			}
			if res.ok() {
				failures = 0
				next = time.Now().Add(jitter(c.opt.SyncInterval))
			} else {
				failures++
				next = time.Now().Add(c.backoff(failures))
			}
		}
		if first {
			first, lastFloor = false, time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.revalidate:
			next = time.Time{}
		}
	}
}

func (c *Client) isStale(now time.Time) bool {
	have := c.cur.Load() != nil
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.staleLocked(have, now)
}

// requestRevalidate asks the fetch loop for a conditional fetch now.
func (c *Client) requestRevalidate() {
	select {
	case c.revalidate <- struct{}{}:
	default:
	}
}

// retryFloor serves the cache or the local file when nothing was usable.
func (c *Client) retryFloor() {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	if c.cur.Load() != nil {
		return
	}
	c.loadFloor()
	if snap := c.cur.Load(); snap != nil {
		c.seq++
		c.notify(nil, snap)
	}
}

// outcome is what one sync request achieved.
type outcome int

const (
	outApplied     outcome = iota // a release was applied or confirmed
	outNotModified                // the served release is current
	outNoRelease                  // the backend answers but has nothing published
	outRejected                   // an answer failed verification
	outFailed                     // no answer
)

func (o outcome) ok() bool { return o <= outNoRelease }

// syncAll performs one conditional fetch of /all.
func (c *Client) syncAll(ctx context.Context) outcome {
	c.noteAttempt()
	base := c.applySeq()
	rctx, cancel := context.WithTimeout(ctx, c.tune.fetchTimeout)
	defer cancel()
	a, err := get(rctx, c.hc, c.base+"/all", c.opt.Token, c.etag())
	return c.handleAnswer(ctx, a, err, base, "fetch")
}

// watchOnce performs one long poll.
func (c *Client) watchOnce(ctx context.Context) outcome {
	c.noteAttempt()
	base := c.applySeq()
	u := fmt.Sprintf("%s/watch?version=%d&timeout=%s", c.base, c.watchCursor(),
		c.tune.watchTimeout)
	rctx, cancel := context.WithTimeout(ctx, c.tune.watchTimeout+c.tune.fetchTimeout)
	defer cancel()
	a, err := get(rctx, c.hc, u, c.opt.Token, "")
	return c.handleAnswer(ctx, a, err, base, "watch")
}

// watchCursor is the version the long poll asks from: the applied one, or
// a newer one already received and rejected, so that the poll waits for the
// next publish instead of bringing the rejected release back at once. The
// applied cursor itself does not move: the stream and the full fetch still
// start from it.
func (c *Client) watchCursor() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.st.cursor
	if r := c.st.rejected; r != nil && r.Version > v {
		v = r.Version
	}
	return v
}

// handleAnswer applies, confirms or rejects one /all or /watch answer and
// records the result. ctx is the client's: its end is not a failure.
func (c *Client) handleAnswer(ctx context.Context, a answer, err error, base uint64,
	via string) outcome {
	var rj *rejectError
	switch {
	case ctx.Err() != nil:
		return outFailed
	case errors.As(err, &rj):
		c.reject(rj, a.version)
		return outRejected
	case errors.Is(err, ErrNoRelease):
		c.noteNoRelease()
		return outNoRelease
	case err != nil:
		c.noteFailure(err, via == "fetch")
		return outFailed
	case a.notModified:
		c.confirm(base)
		return outNotModified
	}
	snap, err := DecodeRelease(a.body)
	if errors.As(err, &rj) {
		c.reject(rj, a.version)
		return outRejected
	}
	c.apply(snap, base, via)
	return outApplied
}

// streamLoop follows releases over the event stream, or over the long
// poll while the stream cannot be held, reconnecting with backoff.
func (c *Client) streamLoop(ctx context.Context) {
	defer c.wg.Done()
	var (
		failures, early int
		watch           bool
		watchSince      time.Time
	)
	useWatch := func(msg string) {
		c.log.Warn(msg, "connect_wait", c.tune.connectWait, "retry_stream_after",
			c.tune.streamRetryAfter)
		watch, watchSince, early = true, time.Now(), 0
		c.setTransport(TransportWatch)
	}
	for ctx.Err() == nil {
		if watch && time.Since(watchSince) >= c.tune.streamRetryAfter {
			watch = false
			c.setTransport(TransportStream)
		}
		ok := false
		if watch {
			res := c.watchOnce(ctx)
			// A rejected release with a known version is skipped by the next
			// poll (see watchCursor); one without comes back at once: back off.
			ok = res == outApplied || res == outNotModified ||
				res == outRejected && c.watchCursor() > c.cursor()
		} else {
			switch r := c.runStream(ctx); r.kind {
			case streamNotHeld:
				// Plain requests work, streaming does not: a buffering proxy.
				if c.syncAll(ctx).ok() {
					useWatch("event stream not delivered in time (a buffering proxy?), " +
						"using the long poll")
					ok = true
				}
			case streamEnded:
				if r.held >= c.tune.minHold || r.events > 0 {
					early, ok = 0, true
				} else if early++; early >= c.tune.earlyLimit {
					useWatch("event stream keeps closing early, using the long poll")
					ok = true
				}
			}
		}
		if ok {
			failures = 0
			continue
		}
		failures++
		if !sleep(ctx, c.backoff(failures)) {
			return
		}
	}
}

type streamKind int

const (
	streamFailed  streamKind = iota // could not connect, or died; recorded
	streamNotHeld                   // nothing arrived within connectWait
	streamEnded                     // the server closed a connected stream
)

type streamResult struct {
	kind   streamKind
	held   time.Duration
	events int
}

// runStream holds one event stream until it ends, dies or ctx ends.
func (c *Client) runStream(ctx context.Context) streamResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := time.Now().Add(c.tune.connectWait)
	resp, res := c.openStream(ctx, cancel)
	if resp == nil {
		return res
	}
	defer resp.Body.Close()

	lines := make(chan []byte)
	errc := make(chan error, 1)
	go readLines(ctx, resp.Body, lines, errc)

	connectTimer := time.NewTimer(time.Until(deadline))
	defer connectTimer.Stop()
	var first []byte
	select {
	case first = <-lines:
	case <-connectTimer.C:
		return streamResult{kind: streamNotHeld}
	case err := <-errc:
		if ctx.Err() == nil {
			c.noteFailure(fmt.Errorf("GET /stream: closed before any data: %w", err), false)
		}
		return streamResult{kind: streamFailed}
	case <-ctx.Done():
		return streamResult{kind: streamFailed}
	}
	c.noteStream(true, "event stream connected")
	defer c.noteStream(false, "")
	c.requestRevalidate() // confirm the served release, or fetch the newer one
	return c.readStream(ctx, first, lines, errc)
}

// openStream sends the stream request. It returns a nil response and the
// result when there is nothing to read.
func (c *Client) openStream(ctx context.Context, cancel context.CancelFunc) (*http.Response,
	streamResult) {
	cursor := strconv.FormatInt(c.cursor(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		c.base+"/stream?version="+cursor, nil)
	if err != nil {
		c.noteFailure(fmt.Errorf("building stream request: %w", err), false)
		return nil, streamResult{kind: streamFailed}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("Last-Event-ID", cursor)
	if c.opt.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opt.Token)
	}
	c.noteAttempt()
	// Headers must come within connectWait too: a buffering proxy holds them.
	timedOut := make(chan struct{})
	t := time.AfterFunc(c.tune.connectWait, func() { close(timedOut); cancel() })
	resp, err := c.hc.Do(req)
	stopped := t.Stop()
	switch {
	case err != nil && !stopped:
		<-timedOut
		return nil, streamResult{kind: streamNotHeld}
	case err != nil:
		if ctx.Err() == nil {
			c.noteFailure(fmt.Errorf("GET /stream: %w", unwrapURLError(err)), false)
		}
		return nil, streamResult{kind: streamFailed}
	case !stopped:
		resp.Body.Close()
		return nil, streamResult{kind: streamNotHeld}
	case resp.StatusCode != http.StatusOK:
		err := readAPIError("GET /stream", resp)
		resp.Body.Close()
		c.noteFailure(err, false)
		return nil, streamResult{kind: streamFailed}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		c.noteFailure(fmt.Errorf("GET /stream: answered %q, not text/event-stream", mt), false)
		return nil, streamResult{kind: streamFailed}
	}
	return resp, streamResult{}
}

// readStream reads a connected stream's lines, dispatching events, until
// the stream ends or stays silent past HeartbeatTimeout.
func (c *Client) readStream(ctx context.Context, first []byte, lines <-chan []byte,
	errc <-chan error) streamResult {
	start := time.Now()
	hb := time.NewTimer(c.opt.HeartbeatTimeout)
	defer hb.Stop()
	ev := &sseEvent{}
	res := streamResult{kind: streamEnded}
	base := c.applySeq()
	handle := func(line []byte) {
		if ev.feed(line) {
			res.events++
			c.dispatch(ev, base)
			base = c.applySeq()
			ev.reset()
		} else if len(line) > 0 && line[0] == ':' {
			c.noteHeartbeat() // ": connected" and ": heartbeat" both say the backend is alive
		}
	}
	handle(first)
	for {
		select {
		case line := <-lines:
			hb.Reset(c.opt.HeartbeatTimeout)
			handle(line)
		case err := <-errc:
			res.held = time.Since(start)
			if ctx.Err() != nil {
				res.kind = streamFailed
			} else if !errors.Is(err, io.EOF) {
				c.log.Debug("event stream broke", "error", err, "held", res.held)
			}
			return res
		case <-hb.C:
			c.noteStreamDead(fmt.Errorf("event stream silent for more than %s",
				c.opt.HeartbeatTimeout))
			return streamResult{kind: streamFailed}
		case <-ctx.Done():
			return streamResult{kind: streamFailed}
		}
	}
}

// dispatch handles one complete stream event.
func (c *Client) dispatch(ev *sseEvent, base uint64) {
	if ev.name != "" && ev.name != "release" {
		return // unknown event types are for newer clients
	}
	hint, _ := strconv.ParseInt(ev.id, 10, 64)
	snap, err := DecodeRelease(ev.data.Bytes())
	var rj *rejectError
	if errors.As(err, &rj) {
		c.reject(rj, hint)
		return
	}
	c.apply(snap, base, "stream")
}

// sseEvent collects the fields of one Server-Sent Event.
type sseEvent struct {
	id, name string
	data     bytes.Buffer
	hasData  bool
}

func (e *sseEvent) reset() { *e = sseEvent{} }

// feed adds one line; it reports whether the line completed an event.
func (e *sseEvent) feed(line []byte) bool {
	if len(line) == 0 {
		return e.hasData
	}
	if line[0] == ':' {
		return false
	}
	field, value, _ := bytes.Cut(line, []byte(":"))
	value = bytes.TrimPrefix(value, []byte(" "))
	switch string(field) {
	case "id":
		e.id = string(value)
	case "event":
		e.name = string(value)
	case "data":
		if e.hasData {
			e.data.WriteByte('\n')
		}
		e.data.Write(value)
		e.hasData = true
	}
	return false
}

// readLines sends r's lines, without their line ends, until an error.
func readLines(ctx context.Context, r io.Reader, lines chan<- []byte, errc chan<- error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br, MaxReleaseBytes)
		if err != nil {
			errc <- err
			return
		}
		select {
		case lines <- line:
		case <-ctx.Done():
			errc <- ctx.Err()
			return
		}
	}
}

// readLine reads one line of at most max bytes. A last line without its
// line end is an error: an event cut off is never used.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > max+2 {
			return nil, fmt.Errorf("stream line longer than the %d MiB limit", max>>20)
		}
		line = append(line, frag...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

// backoff returns the wait before retry n (1-based): exponential from
// backoffBase, capped at backoffCap, with "equal jitter" so that many
// clients do not retry in step.
func (c *Client) backoff(n int) time.Duration {
	d := c.tune.backoffBase
	for i := 1; i < n && d < c.tune.backoffCap; i++ {
		d *= 2
	}
	d = min(d, c.tune.backoffCap)
	return d/2 + rand.N(d/2+1)
}

// jitter spreads a period by ±10%.
func jitter(d time.Duration) time.Duration {
	spread := d / 10
	return d - spread + rand.N(2*spread+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

package configclient

import (
	"fmt"
	"time"

	"github.com/atelier-dev/atelier/internal/config"
)

// applySeq returns the number of applies so far, the base a sync request
// records when it is sent.
func (c *Client) applySeq() uint64 {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	return c.seq
}

// apply serves a verified release from the backend, writes it to the cache
// and notifies subscribers. baseSeq is applySeq when the answer was asked
// for: an older version than the served one is applied (a restored admin
// database) only when nothing was applied in between; else the answer is
// merely late and is dropped. via names the channel for logs.
func (c *Client) apply(snap *config.Snapshot, baseSeq uint64, via string) {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	old := c.cur.Load()
	c.mu.Lock()
	fromLocal := c.st.origin == SourceLocal
	c.mu.Unlock()

	if old != nil && !fromLocal && old.Version == snap.Version && old.Hash == snap.Hash {
		c.sameRelease()
		return
	}
	if old != nil && !fromLocal && snap.Version < old.Version {
		if c.seq != baseSeq {
			c.log.Debug("dropping a late answer older than the served release",
				"release_version", snap.Version, "serving_version", old.Version, "via", via)
			return
		}
		c.log.Warn("admin service version went backwards, applying it",
			"release_version", snap.Version, "previous_version", old.Version, "via", via)
	}

	now := time.Now()
	c.mu.Lock()
	c.cur.Store(snap)
	c.seq++
	c.st.origin = SourceBackend
	c.st.lastUpdate, c.st.verifiedAt = now, now
	c.markReachableLocked()
	c.st.noReleaseLogged = false
	if r := c.st.rejected; r != nil && r.Version <= snap.Version {
		c.st.rejected = nil
	}
	c.noteTransitionLocked("release applied")
	c.mu.Unlock()

	c.m.attempts.WithLabelValues(resultApplied).Inc()
	c.m.version.Set(float64(snap.Version))
	latency := c.observeLatency(snap, now)
	c.persist(snap, now)
	c.notify(old, snap)

	attrs := []any{"release_version", snap.Version, "hash", snap.Hash, "via", via,
		"published_by", snap.PublishedBy}
	if old != nil {
		attrs = append(attrs, "previous_version", old.Version)
	}
	if latency >= 0 {
		attrs = append(attrs, "publish_to_apply", latency.Round(time.Millisecond))
	}
	c.log.Info("config release applied", attrs...)
}

// sameRelease handles an answer carrying the release already served.
func (c *Client) sameRelease() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markReachableLocked()
	// The backend delivered what is served: it is current, whenever asked.
	if c.st.origin == SourceCache {
		c.st.origin = SourceBackend
	}
	c.st.verifiedAt = time.Now()
	c.noteTransitionLocked("confirmed by the admin service")
}

// observeLatency records publish-to-apply time; -1 when unknown. A
// release published before this client started is catching up, not
// delivery, and is left out of the histogram.
func (c *Client) observeLatency(snap *config.Snapshot, now time.Time) time.Duration {
	if snap.PublishedAt.IsZero() {
		return -1
	}
	if snap.PublishedAt.Before(c.started) {
		return now.Sub(snap.PublishedAt)
	}
	d := now.Sub(snap.PublishedAt)
	if d < 0 {
		d = 0 // clocks of admin and client disagree
	}
	c.m.latency.Observe(d.Seconds())
	return d
}

// persist writes the applied release to the cache, then advances the
// cursor whether or not the write worked: a failed write is reported, and
// the release keeps being served.
func (c *Client) persist(snap *config.Snapshot, now time.Time) {
	var err error
	if c.opt.CacheDir != "" {
		err = writeCacheAt(c.opt.CacheDir, snap, now)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.cursor = snap.Version
	if err != nil {
		c.m.cacheFailure.Inc()
		msg := oneLine(err)
		if msg != c.st.cacheErr {
			c.log.Warn("writing config cache failed, serving the release from memory",
				"release_version", snap.Version, "cache_dir", c.opt.CacheDir, "error", msg)
		}
		c.st.cacheErr = msg
		c.st.lastErr = fmt.Sprintf("writing cache: %s", msg)
		return
	}
	if c.st.cacheErr != "" {
		c.log.Info("config cache writable again", "cache_dir", c.opt.CacheDir)
		c.st.lastErr = ""
	}
	c.st.cacheErr = ""
}

// cursor returns the applied version sync requests ask from.
func (c *Client) cursor() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.cursor
}

// etag returns the hash to send as If-None-Match: the served release's,
// when it came from the backend or the cache.
func (c *Client) etag() string {
	cur := c.cur.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur == nil || c.st.origin == SourceLocal {
		return ""
	}
	return cur.Hash
}

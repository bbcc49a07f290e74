package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atelier-dev/atelier/internal/httperr"
)

// MaxWatchTimeout caps the long poll's timeout parameter.
const MaxWatchTimeout = 120 * time.Second

var errNoRelease = httperr.New(http.StatusNotFound, "no_release",
	"nothing has been published yet; publish a release in the admin console first")

// syncSection serves /all or one section, from bytes encoded once per
// release, with the hash as ETag.
func (s *Server) syncSection(ep string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, _ := s.hub.current()
		if p == nil {
			s.metrics.syncRequests.WithLabelValues(ep, "no_release").Inc()
			return errNoRelease
		}
		body := p.all
		if ep != "all" {
			body = p.sections[ep]
		}
		if etagMatch(r.Header.Get("If-None-Match"), p.etag) {
			s.metrics.syncRequests.WithLabelValues(ep, "not_modified").Inc()
			setReleaseHeaders(w, p)
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		s.metrics.syncRequests.WithLabelValues(ep, "ok").Inc()
		writeRelease(w, p, body)
		return nil
	}
}

func setReleaseHeaders(w http.ResponseWriter, p *published) {
	w.Header().Set("ETag", p.etag)
	w.Header().Set("X-Config-Version", strconv.FormatInt(p.version, 10))
	w.Header().Set("Cache-Control", "no-cache")
}

func writeRelease(w http.ResponseWriter, p *published, body []byte) {
	setReleaseHeaders(w, p)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// sinceVersion reads the version a client already has: ?version=N, else
// Last-Event-ID; -1 when neither is sent (any release is news).
func sinceVersion(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("version")
	if v == "" {
		v = r.Header.Get("Last-Event-ID")
	}
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, httperr.BadRequest(fmt.Sprintf("version: %q is not a release version", v))
	}
	return n, nil
}

func (s *Server) newWatcher(r *http.Request, kind string, since int64) *Watcher {
	return &Watcher{Kind: kind, Remote: r.RemoteAddr, Client: principalFrom(r.Context()).Name,
		UserAgent: r.UserAgent(), Since: s.opt.Now().UTC(), Version: since}
}

// syncWatch is the long poll: it answers at once when the client's version
// is not current, else when a release is published, else 304 at timeout.
func (s *Server) syncWatch(w http.ResponseWriter, r *http.Request) error {
	since, err := sinceVersion(r)
	if err != nil {
		return err
	}
	timeout := 30 * time.Second
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Second, nil
		}
		if err != nil || d <= 0 {
			return httperr.BadRequest(fmt.Sprintf("timeout: %q is not a duration such as 30s", v))
		}
		timeout = min(d, MaxWatchTimeout)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	_, removeWatcher := s.hub.addWatcher(s.newWatcher(r, "watch", since))
	defer removeWatcher()
	s.metrics.watchers.WithLabelValues("watch").Inc()
	defer s.metrics.watchers.WithLabelValues("watch").Dec()
	for {
		p, changed := s.hub.current()
		authChanged := s.authWatch()
		if p != nil && p.version != since {
			if !s.stillAllowed(r) {
				return httperr.New(http.StatusUnauthorized, "unauthorized",
					"your access to the sync API was revoked")
			}
			s.metrics.syncRequests.WithLabelValues("watch", "ok").Inc()
			writeRelease(w, p, p.all)
			return nil
		}
		select {
		case <-authChanged:
			if !s.stillAllowed(r) {
				return httperr.New(http.StatusUnauthorized, "unauthorized",
					"your access to the sync API was revoked")
			}
		case <-changed:
		case <-timer.C:
			s.metrics.syncRequests.WithLabelValues("watch", "timeout").Inc()
			w.WriteHeader(http.StatusNotModified)
			return nil
		case <-s.hub.done:
			s.metrics.syncRequests.WithLabelValues("watch", "shutdown").Inc()
			w.WriteHeader(http.StatusNotModified)
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}

// syncStream sends releases as Server-Sent Events: the current one at once
// when the client's version differs, then each new one, with heartbeats.
func (s *Server) syncStream(w http.ResponseWriter, r *http.Request) error {
	since, err := sinceVersion(r)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no") // ask nginx not to buffer
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte(": connected\n\n")); err != nil {
		return nil
	}
	if err := rc.Flush(); err != nil {
		return nil
	}
	sentVersion, removeWatcher := s.hub.addWatcher(s.newWatcher(r, "stream", since))
	defer removeWatcher()
	s.metrics.watchers.WithLabelValues("stream").Inc()
	defer s.metrics.watchers.WithLabelValues("stream").Dec()
	heartbeat := time.NewTicker(s.opt.HeartbeatInterval)
	defer heartbeat.Stop()
	sent := since
	for {
		p, changed := s.hub.current()
		authChanged := s.authWatch()
		if p != nil && p.version != sent {
			if !s.stillAllowed(r) {
				_, _ = w.Write([]byte("event: revoked\ndata: access to the sync API was revoked\n\n"))
				return nil
			}
			s.metrics.syncRequests.WithLabelValues("stream", "ok").Inc()
			if _, err := w.Write(p.event); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
			sent = p.version
			sentVersion(sent)
		}
		select {
		case <-authChanged:
			if !s.stillAllowed(r) {
				_, _ = w.Write([]byte("event: revoked\ndata: access to the sync API was revoked\n\n"))
				return nil
			}
		case <-changed:
		case <-heartbeat.C:
			if _, err := w.Write([]byte(": heartbeat\n\n")); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		case <-s.hub.done:
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}

func (s *Server) syncHealth(w http.ResponseWriter, r *http.Request) error {
	var version int64
	if p, _ := s.hub.current(); p != nil {
		version = p.version
	}
	if err := s.store.Ping(r.Context()); err != nil {
		s.log.Warn("sync health: store unreachable", "err", err)
		httperr.JSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable",
			"store": "unreachable", "version": version})
		return nil
	}
	httperr.JSON(w, http.StatusOK, map[string]any{"status": "ok", "store": "ok",
		"version": version})
	return nil
}

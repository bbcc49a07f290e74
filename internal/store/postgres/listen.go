package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// listenerAppName tags the listener's connection in pg_stat_activity.
const listenerAppName = "atelier-release-listener"

func listenerConfig(base *pgx.ConnConfig) *pgx.ConnConfig {
	cfg := base.Copy()
	if name := cfg.RuntimeParams["application_name"]; name != "" {
		cfg.RuntimeParams["application_name"] = name + " " + listenerAppName
	} else {
		cfg.RuntimeParams["application_name"] = listenerAppName
	}
	return cfg
}

// WatchReleases calls fn with the version of every release any process
// publishes on this database, until ctx ends; it then returns ctx's error.
// It listens on a connection of its own and reconnects with backoff when
// that connection drops. Each time it starts listening, first and after
// every reconnect, it also calls fn with the latest version (when there is
// one), so releases published while it was not listening are not missed:
// fn must expect versions it has already seen. fn runs on WatchReleases'
// goroutine, one call at a time, and should return quickly.
func (s *Store) WatchReleases(ctx context.Context, fn func(version int64)) error {
	backoff := s.minBackoff
	failed := false // tells the listen after a failure to say it recovered
	for {
		listened, err := s.listen(ctx, fn, failed)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if listened {
			backoff = s.minBackoff // it was working: retry soon
		}
		failed = true
		// Jitter keeps many admin processes from reconnecting in step.
		wait := backoff/2 + rand.N(backoff)
		s.log.Warn("release listener disconnected, reconnecting",
			"error", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, s.maxBackoff)
	}
}

// listen runs one listening connection until it fails or ctx ends; listened
// tells whether LISTEN took effect.
func (s *Store) listen(ctx context.Context, fn func(version int64),
	recovering bool) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.listenConfig)
	if err != nil {
		return false, fmt.Errorf("connecting: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+releaseChannel); err != nil {
		return false, fmt.Errorf("listening: %w", err)
	}
	// Listening already, so a release committed from here on is notified
	// even if it is newer than what this query sees.
	var latest int64
	err = conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM releases`).Scan(&latest)
	if err != nil {
		return true, fmt.Errorf("reading latest version: %w", err)
	}
	if recovering {
		s.log.Info("release listener reconnected", "release_version", latest)
	}
	if latest > 0 {
		fn(latest)
	}

	for {
		wctx, cancel := context.WithTimeout(ctx, s.idleCheck)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			v, perr := strconv.ParseInt(n.Payload, 10, 64)
			if perr != nil {
				s.log.Warn("release notification ignored: payload is not a version",
					"payload", n.Payload)
				continue
			}
			fn(v)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case pgconn.Timeout(err):
			// Nothing for a while. A peer that vanished without closing the TCP
			// connection would leave us waiting forever, so make sure it answers.
			// The ping gets its own, longer bound: a busy server is not a dead one.
			pctx, cancel := context.WithTimeout(ctx, max(s.idleCheck, 10*time.Second))
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("checking idle connection: %w", err)
			}
		default:
			return true, fmt.Errorf("waiting for notifications: %w", err)
		}
	}
}

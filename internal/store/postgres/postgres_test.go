package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atelier-dev/atelier/internal/admin"
	"github.com/atelier-dev/atelier/internal/admin/storetest"
	"github.com/atelier-dev/atelier/internal/store/migrate"
	"github.com/atelier-dev/atelier/internal/store/postgres/pgtest"
)

// deliveryDeadline bounds waits for a notification. It only catches one
// that never comes; the observed latency is logged, not asserted.
const deliveryDeadline = 10 * time.Second

// freshDatabase creates an empty database on TEST_POSTGRES_DSN's server,
// drops it when the test ends, and returns its URL.
func freshDatabase(t *testing.T) string { return pgtest.FreshDatabase(t) }

func openStore(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	freshDatabase(t) // skips the whole suite at once when there is no server
	storetest.Run(t, func(t *testing.T) admin.Store {
		return openStore(t, freshDatabase(t))
	})
}

func TestConcurrentMigrations(t *testing.T) {
	dsn := freshDatabase(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			s, err := Open(t.Context(), dsn)
			if err != nil {
				t.Errorf("Open #%d: %v", i, err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	s := openStore(t, dsn)
	var applied int
	err := s.pool.QueryRow(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied)
	if err != nil {
		t.Fatal(err)
	}
	all, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(all) {
		t.Errorf("schema_migrations has %d rows, want %d (one per migration)", applied, len(all))
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dsn := freshDatabase(t)
	s := openStore(t, dsn)
	_, err := s.pool.Exec(t.Context(),
		`INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), dsn)
	if err == nil || !strings.Contains(err.Error(), "version 9999") {
		t.Fatalf("Open of a newer schema: error = %v, want one naming version 9999", err)
	}
}

func TestOpenBadURL(t *testing.T) {
	_, err := Open(t.Context(), "postgres://user:secret@[::1")
	if err == nil {
		t.Fatal("Open of a malformed URL = nil error, want one")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the password: %v", err)
	}
}

// TestAppendOnlyTables checks the database itself refuses to change
// releases and audit rows, whatever code runs against it.
func TestAppendOnlyTables(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, freshDatabase(t))
	publish(t, s)
	if err := s.AppendAudit(ctx, admin.AuditEntry{Actor: "ann", Action: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE releases SET hash = 'other'`,
		`DELETE FROM releases`,
		`TRUNCATE releases`,
		`UPDATE audit SET actor = 'eve'`,
		`DELETE FROM audit`,
		`TRUNCATE audit`,
	} {
		if _, err := s.pool.Exec(ctx, q); err == nil {
			t.Errorf("%s succeeded, want it refused", q)
		}
	}
}

// watcher runs WatchReleases in the background and collects what it sees.
type watcher struct {
	versions chan int64
	done     chan error
	cancel   context.CancelFunc
}

func watch(t *testing.T, s *Store) *watcher {
	ctx, cancel := context.WithCancel(t.Context())
	w := &watcher{versions: make(chan int64, 100), done: make(chan error, 1), cancel: cancel}
	go func() {
		w.done <- s.WatchReleases(ctx, func(v int64) { w.versions <- v })
	}()
	t.Cleanup(func() {
		cancel()
		<-w.done
	})
	return w
}

// await waits for version v, skipping repeats of older ones, and returns
// how long it took.
func (w *watcher) await(t *testing.T, v int64) time.Duration {
	t.Helper()
	start := time.Now()
	timeout := time.After(deliveryDeadline)
	for {
		select {
		case got := <-w.versions:
			if got == v {
				return time.Since(start)
			}
			if got > v {
				t.Fatalf("WatchReleases delivered %d while waiting for %d", got, v)
			}
		case err := <-w.done:
			t.Fatalf("WatchReleases returned %v while waiting for %d", err, v)
		case <-timeout:
			t.Fatalf("version %d not delivered within %v", v, deliveryDeadline)
		}
	}
}

func publish(t *testing.T, s *Store) int64 {
	t.Helper()
	r, err := s.CreateRelease(t.Context(), admin.Release{Hash: "h", Config: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatalf("CreateRelease: %v", err)
	}
	return r.Version
}

// listenerPID returns the backend pid of the one release listener on the
// store's database, waiting for it to appear.
func listenerPID(t *testing.T, s *Store, not int32) int32 {
	t.Helper()
	deadline := time.Now().Add(deliveryDeadline)
	for time.Now().Before(deadline) {
		var pids []int32
		rows, err := s.pool.Query(t.Context(), `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1`, listenerAppName)
		if err == nil {
			pids, err = pgx.CollectRows(rows, pgx.RowTo[int32])
		}
		if err != nil {
			t.Fatalf("finding the listener: %v", err)
		}
		if len(pids) > 1 {
			t.Fatalf("%d release listeners connected, want 1", len(pids))
		}
		if len(pids) == 1 && pids[0] != not {
			return pids[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no release listener connected within %v", deliveryDeadline)
	return 0
}

// TestWatchReleasesAcrossStores is two admin processes on one database: a
// release created through one reaches the other's WatchReleases.
func TestWatchReleasesAcrossStores(t *testing.T) {
	dsn := freshDatabase(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	publish(t, a)
	w := watch(t, b)
	w.await(t, 1) // the latest version, delivered on connecting

	for want := int64(2); want <= 4; want++ {
		if v := publish(t, a); v != want {
			t.Fatalf("publish = %d, want %d", v, want)
		}
		t.Logf("version %d delivered after %v", want, w.await(t, want))
	}
}

// TestWatchReleasesReconnects kills the listener's connection, publishes
// while it is down, and checks that the release published in the gap and
// the ones after it are delivered.
func TestWatchReleasesReconnects(t *testing.T) {
	dsn := freshDatabase(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	// A long first backoff makes it all but certain the next publish lands
	// while nobody listens, so only the catch-up after reconnecting can
	// deliver it.
	b.minBackoff = 500 * time.Millisecond
	publish(t, a)
	w := watch(t, b)
	w.await(t, 1)
	pid := listenerPID(t, a, 0)

	var killed bool
	err := a.pool.QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, pid).Scan(&killed)
	if err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, killed, err)
	}
	publish(t, a) // version 2, in the gap
	w.await(t, 2)
	newPID := listenerPID(t, a, pid)
	t.Logf("listener reconnected: pid %d -> %d", pid, newPID)

	publish(t, a)
	w.await(t, 3)
}

// TestWatchReleasesIdle lets the listener's idle check run several times
// and checks it keeps its connection and still delivers.
func TestWatchReleasesIdle(t *testing.T) {
	dsn := freshDatabase(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	b.idleCheck = 50 * time.Millisecond
	publish(t, a)
	w := watch(t, b)
	w.await(t, 1)
	pid := listenerPID(t, a, 0)
	time.Sleep(300 * time.Millisecond) // several idle checks
	publish(t, a)
	w.await(t, 2)
	if now := listenerPID(t, a, 0); now != pid {
		t.Errorf("listener pid changed from %d to %d while idle: it reconnected", pid, now)
	}
}

// TestWatchReleasesStops checks WatchReleases returns the context's error
// once its context ends, even while the database is unreachable.
func TestWatchReleasesStops(t *testing.T) {
	tests := []struct {
		name  string
		store func(t *testing.T) *Store
	}{
		{"connected", func(t *testing.T) *Store { return openStore(t, freshDatabase(t)) }},
		{"unreachable", func(t *testing.T) *Store {
			s := openStore(t, freshDatabase(t))
			cfg := s.listenConfig.Copy()
			cfg.Port = 1 // nothing listens there
			s.listenConfig = cfg
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.store(t)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- s.WatchReleases(ctx, func(int64) {}) }()
			time.Sleep(200 * time.Millisecond)
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("WatchReleases = %v, want context.Canceled", err)
				}
			case <-time.After(deliveryDeadline):
				t.Fatal("WatchReleases did not return after its context ended")
			}
		})
	}
}

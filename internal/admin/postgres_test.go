package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/admin"
	"github.com/atelier-dev/atelier/internal/store/postgres"
	"github.com/atelier-dev/atelier/internal/store/postgres/pgtest"
)

func openPostgres(t *testing.T, dsn string) admin.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestTwoAdminsOnOnePostgres publishes through one admin process and
// checks that a long poll and a stream held on another process sharing the
// database deliver the release (LISTEN/NOTIFY), and that the whole publish
// flow works on PostgreSQL.
func TestTwoAdminsOnOnePostgres(t *testing.T) {
	dsn := pgtest.FreshDatabase(t)
	a := newEnv(t, envOptions{store: openPostgres(t, dsn)})
	b := newEnv(t, envOptions{store: openPostgres(t, dsn), skipUsers: true})

	a.importStarter(a.tokens[admin.RoleEditor])
	v1 := a.publish("first")
	// b learns of version 1 through the notification.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st struct{ Version int64 }
		b.do(nil, "GET", "/api/admin/config-sync/health", a.tokens[admin.RoleViewer], nil,
			http.StatusOK, &st)
		if st.Version == v1.Version {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second admin still at version %d", st.Version)
		}
		time.Sleep(20 * time.Millisecond)
	}

	watchDone := make(chan publishAnswer, 1)
	go func() {
		var out publishAnswer
		b.do(nil, "GET", "/api/admin/config-sync/watch?version=1&timeout=20s",
			a.tokens[admin.RoleViewer], nil, http.StatusOK, &out)
		watchDone <- out
	}()
	events := openStream(t, b, "/api/admin/config-sync/stream?version=1", a.tokens[admin.RoleViewer])
	time.Sleep(300 * time.Millisecond)
	a.editDraft(func(s *snapshot) { s.Models[0].SortOrder = 9 })
	v2 := a.publish("second")
	published := time.Now()
	select {
	case got := <-watchDone:
		if got.Version != v2.Version {
			t.Errorf("watch on the other admin delivered version %d, want %d", got.Version,
				v2.Version)
		}
		t.Logf("other admin's long poll delivered %v after the publish", time.Since(published))
	case <-time.After(10 * time.Second):
		t.Fatal("the other admin's long poll never delivered the release")
	}
	select {
	case ev := <-events:
		if ev.id != "2" {
			t.Errorf("stream event id %q, want 2", ev.id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the other admin's stream never delivered the release")
	}
}

func TestPublishFlowPostgres(t *testing.T) {
	publishFlow(t, newEnv(t, envOptions{store: openPostgres(t, pgtest.FreshDatabase(t))}))
}

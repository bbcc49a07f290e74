package sqlite

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/atelier-dev/atelier/internal/admin"
	"github.com/atelier-dev/atelier/internal/admin/storetest"
	"github.com/atelier-dev/atelier/internal/store/migrate"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "admin.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) admin.Store { return openTemp(t) })
}

func TestOpenCreatesFolder(t *testing.T) {
	// Characters that mean something in a URI must still name the file.
	path := filepath.Join(t.TempDir(), "a b#c?d%e", "data", "admin.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not at %s: %v", path, err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := Open(t.Context(), ""); err == nil {
		t.Fatal("Open(\"\") = nil error, want one")
	}
}

func TestPragmas(t *testing.T) {
	s := openTemp(t)
	tests := []struct {
		name string
		db   *sql.DB
		want map[string]string
	}{
		{"writer", s.w, map[string]string{"journal_mode": "wal", "foreign_keys": "1",
			"busy_timeout": "10000", "synchronous": "2", "query_only": "0"}},
		{"reader", s.r, map[string]string{"journal_mode": "wal", "foreign_keys": "1",
			"busy_timeout": "10000", "query_only": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			for p := range tt.want {
				var v string
				if err := tt.db.QueryRow("PRAGMA " + p).Scan(&v); err != nil {
					t.Fatalf("PRAGMA %s: %v", p, err)
				}
				got[p] = v
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pragmas (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "admin.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	r, err := s.CreateRelease(ctx, admin.Release{Hash: "h1", Config: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatalf("CreateRelease: %v", err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	defer s.Close()
	got, err := s.LatestRelease(ctx)
	if err != nil {
		t.Fatalf("LatestRelease after reopening: %v", err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("release after reopening (-want +got):\n%s", diff)
	}
	var applied int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
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
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "admin.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	_, err = s.w.Exec(`INSERT INTO schema_migrations (version, name, applied_at)
		VALUES (9999, 'future', '2030-01-01T00:00:00.000000Z')`)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "version 9999") {
		t.Fatalf("Open of a newer schema: error = %v, want one naming version 9999", err)
	}
}

// TestAppendOnlyTables checks the database itself refuses to change
// releases and audit rows, whatever code runs against it.
func TestAppendOnlyTables(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	r := admin.Release{Hash: "h", Config: json.RawMessage(`{}`)}
	if _, err := s.CreateRelease(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, admin.AuditEntry{Actor: "ann", Action: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE releases SET hash = 'other'`,
		`DELETE FROM releases`,
		`UPDATE audit SET actor = 'eve'`,
		`DELETE FROM audit`,
	} {
		if _, err := s.w.Exec(q); err == nil {
			t.Errorf("%s succeeded, want it refused", q)
		}
	}
}

// TestTwoStoresOneFile stands for a CLI command writing while the server
// runs: two Stores on one file publish at once without SQLITE_BUSY and
// without sharing a version.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "admin.db")
	var stores []*Store
	for range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	const each = 20
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for range each {
				_, err := s.CreateRelease(ctx, admin.Release{Hash: "h", Config: json.RawMessage(`{}`)})
				if err != nil {
					t.Errorf("CreateRelease through store %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	list, err := stores[0].ListReleases(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range list {
		if want := int64(2*each - i); r.Version != want {
			t.Fatalf("ListReleases[%d].Version = %d, want %d", i, r.Version, want)
		}
	}
	if len(list) != 2*each {
		t.Errorf("ListReleases returned %d releases, want %d", len(list), 2*each)
	}
}

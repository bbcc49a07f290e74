// Package sqlite is the admin Store on a SQLite file through
// modernc.org/sqlite (pure Go, no cgo). The file is in WAL mode; all writes
// go through one connection and readers use a separate read-only pool, so
// writers never race each other for the lock and readers never wait for them.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/atelier-dev/atelier/internal/admin"
	"github.com/atelier-dev/atelier/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// busyTimeout is how long a statement waits for a write lock held by another
// process (say `atelier admin user add` while the server runs) before it
// fails with SQLITE_BUSY. Inside one process writes queue on the single
// write connection instead.
const busyTimeout = 10 * time.Second

// Store is an admin.Store on one SQLite file. It serves one admin process;
// other processes (CLI commands) may write to the same file, but only
// PostgreSQL tells other admin processes about new releases.
type Store struct {
	w *sql.DB // exactly one connection, every write transaction is BEGIN IMMEDIATE
	r *sql.DB // read-only connections
}

var _ admin.Store = (*Store)(nil)

// Open opens or creates the database file at path, creating its folder when
// missing, and applies the embedded migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("opening sqlite database: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening sqlite database %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("opening sqlite database: creating its folder: %w", err)
	}

	w, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("opening sqlite database %s: %w", abs, err)
	}
	// One write connection: database/sql queues writers in Go, so concurrent
	// CreateRelease calls never see SQLITE_BUSY from each other.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	r, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening sqlite database %s: %w", abs, err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	s := &Store{w: w, r: r}
	// The write connection comes first: it creates the file and switches it
	// to WAL before any reader opens it.
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening sqlite database %s: %w", abs, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening sqlite database %s: %w", abs, err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening sqlite database %s: %w", abs, err)
	}
	return s, nil
}

// dsn builds the driver's connection string. The path is escaped as a URI
// so names holding '?', '#' or '%' open the right file.
func dsn(abs string, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		q.Set("_journal_mode", "WAL")
		// FULL, not NORMAL: a release lost to a power cut could be published
		// again under the same version with other content, and main services
		// that saw the first one would never notice.
		q.Set("_synchronous", "FULL")
		// Take the write lock at BEGIN so a transaction that reads then
		// writes cannot fail halfway on a lock another process holds.
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
}

// migrate applies the embedded migrations not yet recorded, each in its own
// write transaction; BEGIN IMMEDIATE makes two processes starting at once
// take turns.
func (s *Store) migrate(ctx context.Context) error {
	all, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`)
	if err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	var maxApplied int64
	err = s.w.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&maxApplied)
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if err := migrate.CheckApplied(all, maxApplied); err != nil {
		return err
	}
	for _, m := range all {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("applying migration %d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migrate.Migration) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n)
		if err != nil || n > 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, formatTime(time.Now()))
		return err
	})
}

// exec runs one writing statement in its own transaction. An autocommit
// statement that reads before it writes (UPDATE … WHERE, INSERT … SELECT)
// would take the write lock only halfway and could fail with
// SQLITE_BUSY_SNAPSHOT when another process wrote in between; BEGIN
// IMMEDIATE takes the lock first and waits for it under busy_timeout.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// write runs fn in a transaction on the write connection.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Ping checks both connection pools reach the file.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("pinging sqlite database: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("pinging sqlite database: %w", err)
	}
	return nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// timeFormat keeps times as UTC text with exactly six fractional digits:
// readable in the sqlite3 shell, ordered as text, exact to the microsecond
// like PostgreSQL's timestamptz.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(timeFormat)
}

// dbTime scans a time column written by formatTime.
type dbTime struct{ t *time.Time }

func (d dbTime) Scan(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("scanning time: unexpected %T", v)
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return fmt.Errorf("scanning time: %w", err)
	}
	*d.t = t
	return nil
}

// dbNullTime scans a nullable time column into a *time.Time, nil for NULL.
type dbNullTime struct{ t **time.Time }

func (d dbNullTime) Scan(v any) error {
	if v == nil {
		*d.t = nil
		return nil
	}
	var t time.Time
	if err := (dbTime{&t}).Scan(v); err != nil {
		return err
	}
	*d.t = &t
	return nil
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

// orNow returns t, or the current time when t is zero, at the precision
// the store keeps.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// isCode reports whether err is a SQLite error with the extended result code.
func isCode(err error, code int) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

func isUnique(err error) bool {
	return isCode(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) ||
		isCode(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// notFound turns sql.ErrNoRows into admin.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return admin.ErrNotFound
	}
	return err
}

// checkAffected returns admin.ErrNotFound when a statement changed no row.
func checkAffected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return admin.ErrNotFound
	}
	return nil
}

func isForeignKey(err error) bool {
	return isCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY)
}

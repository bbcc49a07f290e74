// Package postgres is the admin Store on PostgreSQL through pgx. Several
// admin processes may share one database: release versions are assigned
// under a table lock, and every publish sends a NOTIFY that WatchReleases
// delivers to the other processes.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atelier-dev/atelier/internal/admin"
	"github.com/atelier-dev/atelier/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the pg_advisory_lock key that makes admin processes
// starting at once apply migrations one after the other ("atelier" in ASCII).
const migrationLock int64 = 0x61_74_65_6c_69_65_72

// Store is an admin.Store and admin.ReleaseNotifier on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	// listenConfig opens the listener's own connection, outside the pool.
	listenConfig *pgx.ConnConfig
	log          *slog.Logger
	// Listener timing; tests shorten it.
	minBackoff time.Duration // first wait before reconnecting
	maxBackoff time.Duration // longest wait between reconnects
	idleCheck  time.Duration // quiet time after which the connection is pinged
}

var (
	_ admin.Store           = (*Store)(nil)
	_ admin.ReleaseNotifier = (*Store)(nil)
)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string) and applies the embedded migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx leaves the password out of its parse errors.
		return nil, fmt.Errorf("opening postgres database: %w", err)
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port,
		cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening postgres database %s: %w", where, err)
	}
	s := &Store{
		pool:         pool,
		listenConfig: listenerConfig(cfg.ConnConfig),
		log:          slog.Default().With("component", "admin_store"),
		minBackoff:   250 * time.Millisecond,
		maxBackoff:   15 * time.Second,
		idleCheck:    30 * time.Second,
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening postgres database %s: %w", where, err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening postgres database %s: %w", where, err)
	}
	return s, nil
}

// migrate applies the embedded migrations not yet recorded, holding an
// advisory lock so two processes starting at once do not both apply them.
func (s *Store) migrate(ctx context.Context) error {
	all, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, migrationLock); err != nil {
			// Closed, the connection cannot go back to the pool still holding
			// the lock; the server drops the lock with the session.
			conn.Conn().Close(uctx)
		}
	}()

	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint      PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`)
	if err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	var maxApplied int64
	err = conn.QueryRow(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&maxApplied)
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if err := migrate.CheckApplied(all, maxApplied); err != nil {
		return err
	}
	for _, m := range all[maxApplied:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
				m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("applying migration %d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pinging postgres database: %w", err)
	}
	return nil
}

// Close closes the pool. Listeners end with their contexts.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// micro is t as the database keeps it: UTC, whole microseconds (truncated,
// where PostgreSQL itself would round).
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// orNow returns micro(t), or micro(now) when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return micro(t)
}

func microPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := micro(*t)
	return &v
}

// utcPtr gives a scanned nullable time in UTC; pgx scans in local time.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// PostgreSQL error codes the store maps to admin's sentinels.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

func hasCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// notFound turns pgx.ErrNoRows into admin.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return admin.ErrNotFound
	}
	return err
}

// checkAffected returns admin.ErrNotFound when a statement changed no row.
func checkAffected(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return admin.ErrNotFound
	}
	return nil
}

package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atelier-dev/atelier/internal/admin"
)

// releaseChannel is the NOTIFY channel; the payload is the new version.
const releaseChannel = "atelier_releases"

// GetDraft returns the draft, revision 0 and a nil Config when none was saved.
func (s *Store) GetDraft(ctx context.Context) (admin.Draft, error) {
	var d admin.Draft
	var cfg []byte
	err := s.pool.QueryRow(ctx,
		`SELECT revision, config, updated_at, updated_by FROM draft WHERE id = 1`).
		Scan(&d.Revision, &cfg, &d.UpdatedAt, &d.UpdatedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return admin.Draft{}, nil
	}
	if err != nil {
		return admin.Draft{}, fmt.Errorf("reading draft: %w", err)
	}
	d.Config = cfg
	d.UpdatedAt = d.UpdatedAt.UTC()
	return d, nil
}

// SaveDraft replaces the draft when its revision is still base (0 for a
// store with no draft) and returns the new revision, or admin.ErrConflict.
func (s *Store) SaveDraft(ctx context.Context, base int64, cfg json.RawMessage,
	actor string) (int64, error) {
	if !json.Valid(cfg) {
		return 0, errors.New("saving draft: config is not valid JSON")
	}
	now := micro(time.Now())
	var err error
	// One statement checks the revision and writes, atomically.
	if base == 0 {
		err = checkAffected(s.pool.Exec(ctx, `INSERT INTO draft
			(id, revision, config, updated_at, updated_by) VALUES (1, 1, $1, $2, $3)
			ON CONFLICT (id) DO NOTHING`, string(cfg), now, actor))
	} else {
		err = checkAffected(s.pool.Exec(ctx, `UPDATE draft
			SET revision = revision + 1, config = $1, updated_at = $2, updated_by = $3
			WHERE id = 1 AND revision = $4`, string(cfg), now, actor, base))
	}
	if errors.Is(err, admin.ErrNotFound) {
		return 0, fmt.Errorf("saving draft: revision %d is not the current one: %w",
			base, admin.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("saving draft: %w", err)
	}
	return base + 1, nil
}

// CreateRelease stores r as the next version and, in the same transaction,
// notifies every listening admin process. The table lock makes concurrent
// publishers, in this process or others, take turns, so versions have no
// gaps and are never reused.
func (s *Store) CreateRelease(ctx context.Context, r admin.Release) (admin.Release, error) {
	if !json.Valid(r.Config) {
		return admin.Release{}, errors.New("creating release: config is not valid JSON")
	}
	r.Config = append(json.RawMessage(nil), r.Config...) // the caller may reuse its slice
	r.PublishedAt = orNow(r.PublishedAt)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// EXCLUSIVE waits for other writers of releases and lets plain reads go
		// on; under READ COMMITTED the next statement then sees every release
		// committed before the lock was granted.
		if _, err := tx.Exec(ctx, `LOCK TABLE releases IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		err := tx.QueryRow(ctx,
			`SELECT COALESCE(MAX(version), 0) + 1 FROM releases`).Scan(&r.Version)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO releases
			(version, hash, config, message, published_at, published_by, rollback_of)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			r.Version, r.Hash, string(r.Config), r.Message, r.PublishedAt, r.PublishedBy,
			r.RollbackOf)
		if err != nil {
			return err
		}
		// Delivered at commit, never for a release that was rolled back.
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, releaseChannel,
			strconv.FormatInt(r.Version, 10))
		return err
	})
	if err != nil {
		return admin.Release{}, fmt.Errorf("creating release: %w", err)
	}
	return r, nil
}

const releaseColumns = `version, hash, config, message, published_at, published_by, rollback_of`

func scanRelease(row pgx.Row) (admin.Release, error) {
	var r admin.Release
	var cfg []byte
	err := row.Scan(&r.Version, &r.Hash, &cfg, &r.Message, &r.PublishedAt, &r.PublishedBy,
		&r.RollbackOf)
	r.Config = cfg
	r.PublishedAt = r.PublishedAt.UTC()
	return r, err
}

// LatestRelease returns the newest release, admin.ErrNotFound when none.
func (s *Store) LatestRelease(ctx context.Context) (admin.Release, error) {
	r, err := scanRelease(s.pool.QueryRow(ctx,
		`SELECT `+releaseColumns+` FROM releases ORDER BY version DESC LIMIT 1`))
	if err != nil {
		return admin.Release{}, fmt.Errorf("reading latest release: %w", notFound(err))
	}
	return r, nil
}

// GetRelease returns one release, admin.ErrNotFound when missing.
func (s *Store) GetRelease(ctx context.Context, version int64) (admin.Release, error) {
	r, err := scanRelease(s.pool.QueryRow(ctx,
		`SELECT `+releaseColumns+` FROM releases WHERE version = $1`, version))
	if err != nil {
		return admin.Release{}, fmt.Errorf("reading release %d: %w", version, notFound(err))
	}
	return r, nil
}

// ListReleases returns releases below before (0 = all) newest first,
// without Config, at most limit (no bound when limit <= 0).
func (s *Store) ListReleases(ctx context.Context, before int64, limit int) ([]admin.Release, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	var lim *int // NULL is LIMIT ALL
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `SELECT version, hash, message, published_at,
		published_by, rollback_of FROM releases WHERE version < $1
		ORDER BY version DESC LIMIT $2`, before, lim)
	if err != nil {
		return nil, fmt.Errorf("listing releases: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (admin.Release, error) {
		var r admin.Release
		err := row.Scan(&r.Version, &r.Hash, &r.Message, &r.PublishedAt, &r.PublishedBy,
			&r.RollbackOf)
		r.PublishedAt = r.PublishedAt.UTC()
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing releases: %w", err)
	}
	return nonNil(out), nil
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/atelier-dev/atelier/internal/admin"
)

// GetDraft returns the draft, revision 0 and a nil Config when none was saved.
func (s *Store) GetDraft(ctx context.Context) (admin.Draft, error) {
	var d admin.Draft
	var cfg []byte
	err := s.r.QueryRowContext(ctx,
		`SELECT revision, config, updated_at, updated_by FROM draft WHERE id = 1`).
		Scan(&d.Revision, &cfg, dbTime{&d.UpdatedAt}, &d.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return admin.Draft{}, nil
	}
	if err != nil {
		return admin.Draft{}, fmt.Errorf("reading draft: %w", err)
	}
	d.Config = cfg
	return d, nil
}

// SaveDraft replaces the draft when its revision is still base (0 for a
// store with no draft) and returns the new revision, or admin.ErrConflict.
func (s *Store) SaveDraft(ctx context.Context, base int64, cfg json.RawMessage,
	actor string) (int64, error) {
	if !json.Valid(cfg) {
		return 0, errors.New("saving draft: config is not valid JSON")
	}
	now := formatTime(time.Now())
	var res sql.Result
	var err error
	// One statement checks the revision and writes.
	if base == 0 {
		res, err = s.exec(ctx, `INSERT INTO draft (id, revision, config, updated_at, updated_by)
			VALUES (1, 1, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, string(cfg), now, actor)
	} else {
		res, err = s.exec(ctx, `UPDATE draft
			SET revision = revision + 1, config = ?, updated_at = ?, updated_by = ?
			WHERE id = 1 AND revision = ?`, string(cfg), now, actor, base)
	}
	if err != nil {
		return 0, fmt.Errorf("saving draft: %w", err)
	}
	if err := checkAffected(res); err != nil {
		if errors.Is(err, admin.ErrNotFound) {
			return 0, fmt.Errorf("saving draft: revision %d is not the current one: %w",
				base, admin.ErrConflict)
		}
		return 0, fmt.Errorf("saving draft: %w", err)
	}
	return base + 1, nil
}

// CreateRelease stores r as the next version. The version is computed in
// the INSERT itself, inside a write transaction on the single write
// connection, so versions have no gaps and are never reused.
func (s *Store) CreateRelease(ctx context.Context, r admin.Release) (admin.Release, error) {
	if !json.Valid(r.Config) {
		return admin.Release{}, errors.New("creating release: config is not valid JSON")
	}
	r.Config = append(json.RawMessage(nil), r.Config...) // the caller may reuse its slice
	r.PublishedAt = orNow(r.PublishedAt)
	err := s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO releases
			(version, hash, config, message, published_at, published_by, rollback_of)
			SELECT COALESCE(MAX(version), 0) + 1, ?, ?, ?, ?, ?, ? FROM releases
			RETURNING version`,
			r.Hash, string(r.Config), r.Message, formatTime(r.PublishedAt), r.PublishedBy,
			r.RollbackOf).Scan(&r.Version)
	})
	if err != nil {
		return admin.Release{}, fmt.Errorf("creating release: %w", err)
	}
	return r, nil
}

const releaseColumns = `version, hash, config, message, published_at, published_by, rollback_of`

func scanRelease(row interface{ Scan(...any) error }) (admin.Release, error) {
	var r admin.Release
	var cfg []byte
	err := row.Scan(&r.Version, &r.Hash, &cfg, &r.Message, dbTime{&r.PublishedAt},
		&r.PublishedBy, &r.RollbackOf)
	r.Config = cfg
	return r, err
}

// LatestRelease returns the newest release, admin.ErrNotFound when none.
func (s *Store) LatestRelease(ctx context.Context) (admin.Release, error) {
	r, err := scanRelease(s.r.QueryRowContext(ctx,
		`SELECT `+releaseColumns+` FROM releases ORDER BY version DESC LIMIT 1`))
	if err != nil {
		return admin.Release{}, fmt.Errorf("reading latest release: %w", notFound(err))
	}
	return r, nil
}

// GetRelease returns one release, admin.ErrNotFound when missing.
func (s *Store) GetRelease(ctx context.Context, version int64) (admin.Release, error) {
	r, err := scanRelease(s.r.QueryRowContext(ctx,
		`SELECT `+releaseColumns+` FROM releases WHERE version = ?`, version))
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
	if limit <= 0 {
		limit = -1 // SQLite's "no limit"
	}
	rows, err := s.r.QueryContext(ctx, `SELECT version, hash, message, published_at,
		published_by, rollback_of FROM releases WHERE version < ?
		ORDER BY version DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("listing releases: %w", err)
	}
	defer rows.Close()
	out := []admin.Release{}
	for rows.Next() {
		var r admin.Release
		err := rows.Scan(&r.Version, &r.Hash, &r.Message, dbTime{&r.PublishedAt},
			&r.PublishedBy, &r.RollbackOf)
		if err != nil {
			return nil, fmt.Errorf("listing releases: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing releases: %w", err)
	}
	return out, nil
}

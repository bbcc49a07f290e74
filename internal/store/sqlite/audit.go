package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/atelier-dev/atelier/internal/admin"
)

// AppendAudit records e; the store sets its ID and, when zero, its Time.
//
// TODO: audit rows are never removed (a trigger refuses DELETE), so the table
// grows for as long as the database lives; a retention policy needs a
// migration that replaces the trigger with one allowing age-based deletes.
func (s *Store) AppendAudit(ctx context.Context, e admin.AuditEntry) error {
	_, err := s.exec(ctx, `INSERT INTO audit (time, actor, source, action, target, summary)
		VALUES (?, ?, ?, ?, ?, ?)`,
		formatTime(orNow(e.Time)), e.Actor, e.Source, e.Action, e.Target, e.Summary)
	if err != nil {
		return fmt.Errorf("appending audit entry: %w", err)
	}
	return nil
}

// ListAudit returns the entries matching f newest first (highest ID first),
// at most f.Limit (no bound when f.Limit <= 0).
func (s *Store) ListAudit(ctx context.Context, f admin.AuditFilter) ([]admin.AuditEntry, error) {
	var where []string
	var args []any
	if f.Actor != "" {
		where = append(where, "actor = ?")
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		where = append(where, "action = ?")
		args = append(args, f.Action)
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, formatTime(f.Since))
	}
	if f.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, f.Before)
	}
	q := `SELECT id, time, actor, source, action, target, summary FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	limit := f.Limit
	if limit <= 0 {
		limit = -1 // SQLite's "no limit"
	}
	args = append(args, limit)

	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing audit entries: %w", err)
	}
	defer rows.Close()
	out := []admin.AuditEntry{}
	for rows.Next() {
		var e admin.AuditEntry
		err := rows.Scan(&e.ID, dbTime{&e.Time}, &e.Actor, &e.Source, &e.Action, &e.Target,
			&e.Summary)
		if err != nil {
			return nil, fmt.Errorf("listing audit entries: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing audit entries: %w", err)
	}
	return out, nil
}

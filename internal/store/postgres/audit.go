package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/atelier-dev/atelier/internal/admin"
)

// AppendAudit records e; the store sets its ID and, when zero, its Time.
//
// TODO: audit rows are never removed (a trigger refuses DELETE), so the table
// grows for as long as the database lives; a retention policy needs a
// migration that replaces the trigger with one allowing age-based deletes.
func (s *Store) AppendAudit(ctx context.Context, e admin.AuditEntry) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit (time, actor, source, action, target, summary)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		orNow(e.Time), e.Actor, e.Source, e.Action, e.Target, e.Summary)
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
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, cond+" $"+strconv.Itoa(len(args)))
	}
	if f.Actor != "" {
		add("actor =", f.Actor)
	}
	if f.Action != "" {
		add("action =", f.Action)
	}
	if !f.Since.IsZero() {
		add("time >=", micro(f.Since))
	}
	if f.Before > 0 {
		add("id <", f.Before)
	}
	q := `SELECT id, time, actor, source, action, target, summary FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += " LIMIT $" + strconv.Itoa(len(args))
	}

	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing audit entries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (admin.AuditEntry, error) {
		var e admin.AuditEntry
		err := row.Scan(&e.ID, &e.Time, &e.Actor, &e.Source, &e.Action, &e.Target, &e.Summary)
		e.Time = e.Time.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing audit entries: %w", err)
	}
	return nonNil(out), nil
}

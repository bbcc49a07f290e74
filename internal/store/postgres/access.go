package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atelier-dev/atelier/internal/admin"
)

// CreateUser adds u (CreatedAt set to now when zero); admin.ErrConflict when
// the name is taken.
func (s *Store) CreateUser(ctx context.Context, u admin.User) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO users (name, role, password_hash, disabled, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		u.Name, string(u.Role), u.PasswordHash, u.Disabled, orNow(u.CreatedAt))
	if hasCode(err, codeUniqueViolation) {
		return fmt.Errorf("creating user %q: name taken: %w", u.Name, admin.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("creating user %q: %w", u.Name, err)
	}
	return nil
}

const userColumns = `name, role, password_hash, disabled, created_at`

func scanUser(row pgx.Row) (admin.User, error) {
	var u admin.User
	err := row.Scan(&u.Name, &u.Role, &u.PasswordHash, &u.Disabled, &u.CreatedAt)
	u.CreatedAt = u.CreatedAt.UTC()
	return u, err
}

// GetUser returns a user, admin.ErrNotFound when missing.
func (s *Store) GetUser(ctx context.Context, name string) (admin.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	if err != nil {
		return admin.User{}, fmt.Errorf("reading user %q: %w", name, notFound(err))
	}
	return u, nil
}

// ListUsers returns every user ordered by name.
func (s *Store) ListUsers(ctx context.Context) ([]admin.User, error) {
	// COLLATE "C" orders by bytes, as SQLite does, whatever the database locale.
	rows, err := s.pool.Query(ctx,
		`SELECT `+userColumns+` FROM users ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (admin.User, error) {
		return scanUser(row)
	})
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	return nonNil(out), nil
}

// UpdateUser replaces role, password hash and disabled flag;
// admin.ErrNotFound when the user is missing.
func (s *Store) UpdateUser(ctx context.Context, u admin.User) error {
	err := checkAffected(s.pool.Exec(ctx, `UPDATE users
		SET role = $1, password_hash = $2, disabled = $3 WHERE name = $4`,
		string(u.Role), u.PasswordHash, u.Disabled, u.Name))
	if err != nil {
		return fmt.Errorf("updating user %q: %w", u.Name, err)
	}
	return nil
}

// DeleteUser removes a user and its sessions; admin.ErrNotFound when missing.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	err := checkAffected(s.pool.Exec(ctx, `DELETE FROM users WHERE name = $1`, name))
	if err != nil {
		return fmt.Errorf("deleting user %q: %w", name, err)
	}
	return nil
}

// CountUsers counts users, disabled ones included.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting users: %w", err)
	}
	return n, nil
}

// CreateToken stores t (CreatedAt set to now when zero) and returns it with
// its ID; admin.ErrConflict when another token has the same hash.
func (s *Store) CreateToken(ctx context.Context, t admin.Token) (admin.Token, error) {
	t.CreatedAt = orNow(t.CreatedAt)
	t.LastUsedAt = microPtr(t.LastUsedAt)
	t.RevokedAt = microPtr(t.RevokedAt)
	err := s.pool.QueryRow(ctx, `INSERT INTO tokens
		(name, kind, role, hash, created_at, created_by, last_used_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		t.Name, string(t.Kind), string(t.Role), t.Hash, t.CreatedAt, t.CreatedBy,
		t.LastUsedAt, t.RevokedAt).Scan(&t.ID)
	if hasCode(err, codeUniqueViolation) {
		return admin.Token{}, fmt.Errorf("creating token %q: hash taken: %w", t.Name,
			admin.ErrConflict)
	}
	if err != nil {
		return admin.Token{}, fmt.Errorf("creating token %q: %w", t.Name, err)
	}
	return t, nil
}

const tokenColumns = `id, name, kind, role, hash, created_at, created_by, last_used_at, revoked_at`

func scanToken(row pgx.Row) (admin.Token, error) {
	var t admin.Token
	err := row.Scan(&t.ID, &t.Name, &t.Kind, &t.Role, &t.Hash, &t.CreatedAt, &t.CreatedBy,
		&t.LastUsedAt, &t.RevokedAt)
	t.CreatedAt = t.CreatedAt.UTC()
	t.LastUsedAt = utcPtr(t.LastUsedAt)
	t.RevokedAt = utcPtr(t.RevokedAt)
	return t, err
}

// TokenByHash returns the token with that hash, revoked or not;
// admin.ErrNotFound when none.
func (s *Store) TokenByHash(ctx context.Context, hash string) (admin.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx,
		`SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash))
	if err != nil {
		return admin.Token{}, fmt.Errorf("reading token: %w", notFound(err))
	}
	return t, nil
}

// ListTokens returns every token, revoked ones included, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]admin.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (admin.Token, error) {
		return scanToken(row)
	})
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return nonNil(out), nil
}

// RevokeToken marks a token revoked at at; revoking it again keeps the first
// time. admin.ErrNotFound when missing.
func (s *Store) RevokeToken(ctx context.Context, id int64, at time.Time) error {
	err := checkAffected(s.pool.Exec(ctx, `UPDATE tokens
		SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, micro(at), id))
	if err != nil {
		return fmt.Errorf("revoking token %d: %w", id, err)
	}
	return nil
}

// TouchToken records a token's last use; admin.ErrNotFound when missing.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	err := checkAffected(s.pool.Exec(ctx, `UPDATE tokens SET last_used_at = $1 WHERE id = $2`,
		micro(at), id))
	if err != nil {
		return fmt.Errorf("recording use of token %d: %w", id, err)
	}
	return nil
}

// CountSyncTokens counts sync tokens that are not revoked.
func (s *Store) CountSyncTokens(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM tokens
		WHERE kind = 'sync' AND revoked_at IS NULL`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting sync tokens: %w", err)
	}
	return n, nil
}

// CreateSession stores s (CreatedAt set to now when zero) and removes the
// sessions that had expired by then, so the table does not grow with every
// login. admin.ErrNotFound when the user does not exist, admin.ErrConflict
// when the hash is taken.
func (s *Store) CreateSession(ctx context.Context, sess admin.Session) error {
	created := orNow(sess.CreatedAt)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, created)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO sessions (id_hash, user_name, created_at, expires_at)
			VALUES ($1, $2, $3, $4)`, sess.IDHash, sess.User, created, micro(sess.ExpiresAt))
		return err
	})
	switch {
	case hasCode(err, codeUniqueViolation):
		return fmt.Errorf("creating session: hash taken: %w", admin.ErrConflict)
	case hasCode(err, codeForeignKeyViolation):
		return fmt.Errorf("creating session: user %q: %w", sess.User, admin.ErrNotFound)
	case err != nil:
		return fmt.Errorf("creating session: %w", err)
	}
	return nil
}

// GetSession returns a session by hash; admin.ErrNotFound when missing or
// expired at now (ExpiresAt not after now).
func (s *Store) GetSession(ctx context.Context, idHash string, now time.Time) (admin.Session, error) {
	var sess admin.Session
	err := s.pool.QueryRow(ctx, `SELECT id_hash, user_name, created_at, expires_at
		FROM sessions WHERE id_hash = $1 AND expires_at > $2`, idHash, micro(now)).
		Scan(&sess.IDHash, &sess.User, &sess.CreatedAt, &sess.ExpiresAt)
	if err != nil {
		return admin.Session{}, fmt.Errorf("reading session: %w", notFound(err))
	}
	sess.CreatedAt = sess.CreatedAt.UTC()
	sess.ExpiresAt = sess.ExpiresAt.UTC()
	return sess, nil
}

// DeleteSession ends a session; ending one that does not exist is not an
// error, so logging out twice is harmless.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE user_name = $1`, user); err != nil {
		return fmt.Errorf("deleting sessions of %q: %w", user, err)
	}
	return nil
}

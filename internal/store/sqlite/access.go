package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/atelier-dev/atelier/internal/admin"
)

// CreateUser adds u (CreatedAt set to now when zero); admin.ErrConflict when
// the name is taken.
func (s *Store) CreateUser(ctx context.Context, u admin.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (name, role, password_hash, disabled, created_at)
		VALUES (?, ?, ?, ?, ?)`,
		u.Name, string(u.Role), u.PasswordHash, u.Disabled, formatTime(orNow(u.CreatedAt)))
	if isUnique(err) {
		return fmt.Errorf("creating user %q: name taken: %w", u.Name, admin.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("creating user %q: %w", u.Name, err)
	}
	return nil
}

const userColumns = `name, role, password_hash, disabled, created_at`

func scanUser(row interface{ Scan(...any) error }) (admin.User, error) {
	var u admin.User
	err := row.Scan(&u.Name, &u.Role, &u.PasswordHash, &u.Disabled, dbTime{&u.CreatedAt})
	return u, err
}

// GetUser returns a user, admin.ErrNotFound when missing.
func (s *Store) GetUser(ctx context.Context, name string) (admin.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if err != nil {
		return admin.User{}, fmt.Errorf("reading user %q: %w", name, notFound(err))
	}
	return u, nil
}

// ListUsers returns every user ordered by name.
func (s *Store) ListUsers(ctx context.Context) ([]admin.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	defer rows.Close()
	out := []admin.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("listing users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	return out, nil
}

// UpdateUser replaces role, password hash and disabled flag;
// admin.ErrNotFound when the user is missing.
func (s *Store) UpdateUser(ctx context.Context, u admin.User) error {
	res, err := s.exec(ctx, `UPDATE users SET role = ?, password_hash = ?, disabled = ?
		WHERE name = ?`, string(u.Role), u.PasswordHash, u.Disabled, u.Name)
	if err == nil {
		err = checkAffected(res)
	}
	if err != nil {
		return fmt.Errorf("updating user %q: %w", u.Name, err)
	}
	return nil
}

// DeleteUser removes a user and its sessions; admin.ErrNotFound when missing.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	res, err := s.exec(ctx, `DELETE FROM users WHERE name = ?`, name)
	if err == nil {
		err = checkAffected(res)
	}
	if err != nil {
		return fmt.Errorf("deleting user %q: %w", name, err)
	}
	return nil
}

// CountUsers counts users, disabled ones included.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting users: %w", err)
	}
	return n, nil
}

// CreateToken stores t (CreatedAt set to now when zero) and returns it with
// its ID; admin.ErrConflict when another token has the same hash.
func (s *Store) CreateToken(ctx context.Context, t admin.Token) (admin.Token, error) {
	t.CreatedAt = orNow(t.CreatedAt)
	t.LastUsedAt = truncPtr(t.LastUsedAt)
	t.RevokedAt = truncPtr(t.RevokedAt)
	err := s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO tokens
			(name, kind, role, hash, created_at, created_by, last_used_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			t.Name, string(t.Kind), string(t.Role), t.Hash, formatTime(t.CreatedAt), t.CreatedBy,
			nullTime(t.LastUsedAt), nullTime(t.RevokedAt)).Scan(&t.ID)
	})
	if isUnique(err) {
		return admin.Token{}, fmt.Errorf("creating token %q: hash taken: %w", t.Name,
			admin.ErrConflict)
	}
	if err != nil {
		return admin.Token{}, fmt.Errorf("creating token %q: %w", t.Name, err)
	}
	return t, nil
}

const tokenColumns = `id, name, kind, role, hash, created_at, created_by, last_used_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (admin.Token, error) {
	var t admin.Token
	err := row.Scan(&t.ID, &t.Name, &t.Kind, &t.Role, &t.Hash, dbTime{&t.CreatedAt},
		&t.CreatedBy, dbNullTime{&t.LastUsedAt}, dbNullTime{&t.RevokedAt})
	return t, err
}

// TokenByHash returns the token with that hash, revoked or not;
// admin.ErrNotFound when none.
func (s *Store) TokenByHash(ctx context.Context, hash string) (admin.Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx,
		`SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if err != nil {
		return admin.Token{}, fmt.Errorf("reading token: %w", notFound(err))
	}
	return t, nil
}

// ListTokens returns every token, revoked ones included, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]admin.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	defer rows.Close()
	out := []admin.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("listing tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return out, nil
}

// RevokeToken marks a token revoked at at; revoking it again keeps the first
// time. admin.ErrNotFound when missing.
func (s *Store) RevokeToken(ctx context.Context, id int64, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?)
		WHERE id = ?`, formatTime(at), id)
	if err == nil {
		err = checkAffected(res)
	}
	if err != nil {
		return fmt.Errorf("revoking token %d: %w", id, err)
	}
	return nil
}

// TouchToken records a token's last use; admin.ErrNotFound when missing.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`,
		formatTime(at), id)
	if err == nil {
		err = checkAffected(res)
	}
	if err != nil {
		return fmt.Errorf("recording use of token %d: %w", id, err)
	}
	return nil
}

// CountSyncTokens counts sync tokens that are not revoked.
func (s *Store) CountSyncTokens(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`,
			formatTime(created))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions
			(id_hash, user_name, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			sess.IDHash, sess.User, formatTime(created), formatTime(sess.ExpiresAt))
		return err
	})
	switch {
	case isUnique(err):
		return fmt.Errorf("creating session: hash taken: %w", admin.ErrConflict)
	case isForeignKey(err):
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
	err := s.r.QueryRowContext(ctx, `SELECT id_hash, user_name, created_at, expires_at
		FROM sessions WHERE id_hash = ? AND expires_at > ?`, idHash, formatTime(now)).
		Scan(&sess.IDHash, &sess.User, dbTime{&sess.CreatedAt}, dbTime{&sess.ExpiresAt})
	if err != nil {
		return admin.Session{}, fmt.Errorf("reading session: %w", notFound(err))
	}
	return sess, nil
}

// DeleteSession ends a session; ending one that does not exist is not an
// error, so logging out twice is harmless.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE user_name = ?`, user); err != nil {
		return fmt.Errorf("deleting sessions of %q: %w", user, err)
	}
	return nil
}

func truncPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}

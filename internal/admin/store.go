// Package admin is the configuration center: drafts, immutable releases,
// the audit log, users and tokens, the admin API and the sync API through
// which main services receive releases. Storage sits behind Store, which
// internal/store/sqlite and internal/store/postgres implement and
// internal/admin/storetest checks.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors every Store returns (wrapped or bare) so handlers can map
// them to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Role is what a user or token may do. Each role includes the ones below.
type Role string

// The roles, weakest first.
const (
	RoleViewer    Role = "viewer"
	RoleEditor    Role = "editor"
	RolePublisher Role = "publisher"
	RoleAdmin     Role = "admin"
)

// Draft is the working copy operators edit before publishing.
type Draft struct {
	// Revision grows by one on every save; writes must name the revision
	// they were based on.
	Revision  int64           `json:"revision"`
	Config    json.RawMessage `json:"config"` // a config.Snapshot as JSON, possibly invalid
	UpdatedAt time.Time       `json:"updated_at"`
	UpdatedBy string          `json:"updated_by"`
}

// Release is one immutable published configuration.
type Release struct {
	Version     int64           `json:"version"`
	Hash        string          `json:"hash"`
	Config      json.RawMessage `json:"config,omitempty"` // the four sections, canonical JSON
	Message     string          `json:"message"`
	PublishedAt time.Time       `json:"published_at"`
	PublishedBy string          `json:"published_by"`
	// RollbackOf is the version this release copies, 0 for a normal publish.
	RollbackOf int64 `json:"rollback_of,omitempty"`
}

// AuditEntry is one appended record of a change or a login.
type AuditEntry struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`
	Source  string    `json:"source"` // remote address
	Action  string    `json:"action"` // "draft.save", "release.publish", "login.failed", …
	Target  string    `json:"target"`
	Summary string    `json:"summary"`
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	Actor  string
	Action string
	Since  time.Time
	// Before is a cursor: only entries with ID < Before (0 = no bound).
	Before int64
	Limit  int
}

// User is a console user.
type User struct {
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
}

// TokenKind tells API tokens (automation, any role) from sync tokens (main
// services, read the sync API only).
type TokenKind string

// Token kinds.
const (
	TokenAPI  TokenKind = "api"
	TokenSync TokenKind = "sync"
)

// Token is a bearer token. Only its hash is stored.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Kind       TokenKind  `json:"kind"`
	Role       Role       `json:"role"`
	Hash       string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Session is a console login. Only the hash of its cookie value is stored.
type Session struct {
	IDHash    string
	User      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store keeps the admin service's state. Implementations must be safe for
// concurrent use; CreateRelease must assign versions without gaps or reuse
// even when several admin processes share one database.
type Store interface {
	// GetDraft returns the draft; a store with none returns revision 0 and
	// a nil Config.
	GetDraft(ctx context.Context) (Draft, error)
	// SaveDraft replaces the draft if its revision is still base, and
	// returns the new revision; otherwise it returns ErrConflict.
	SaveDraft(ctx context.Context, base int64, cfg json.RawMessage, actor string) (int64, error)

	// CreateRelease stores r with the next version (r.Version is ignored)
	// and returns it as stored. On PostgreSQL it notifies other processes.
	CreateRelease(ctx context.Context, r Release) (Release, error)
	// LatestRelease returns the newest release, ErrNotFound when none.
	LatestRelease(ctx context.Context) (Release, error)
	// GetRelease returns one release, ErrNotFound when missing.
	GetRelease(ctx context.Context, version int64) (Release, error)
	// ListReleases returns releases newest first without their Config,
	// only versions below before (0 = from the newest), at most limit.
	ListReleases(ctx context.Context, before int64, limit int) ([]Release, error)

	// AppendAudit records e (ID and, when zero, Time are set by the store).
	AppendAudit(ctx context.Context, e AuditEntry) error
	// ListAudit returns entries matching f, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	// CreateUser adds u; ErrConflict when the name is taken.
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser replaces role, password hash and disabled flag.
	UpdateUser(ctx context.Context, u User) error
	DeleteUser(ctx context.Context, name string) error
	CountUsers(ctx context.Context) (int, error)

	// CreateToken stores t and returns it with its ID.
	CreateToken(ctx context.Context, t Token) (Token, error)
	// TokenByHash returns the token with that hash, revoked or not.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken marks a token revoked; ErrNotFound when missing.
	RevokeToken(ctx context.Context, id int64, at time.Time) error
	// TouchToken records a token's last use.
	TouchToken(ctx context.Context, id int64, at time.Time) error
	// CountSyncTokens counts sync tokens that are not revoked.
	CountSyncTokens(ctx context.Context) (int, error)

	CreateSession(ctx context.Context, s Session) error
	// GetSession returns a session by hash, ErrNotFound when missing or
	// expired at now.
	GetSession(ctx context.Context, idHash string, now time.Time) (Session, error)
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteUserSessions ends every session of a user.
	DeleteUserSessions(ctx context.Context, user string) error

	// Ping checks the database is reachable.
	Ping(ctx context.Context) error
	Close() error
}

// ReleaseNotifier is implemented by stores shared by several admin
// processes: WatchReleases calls fn with the version of every release any
// process publishes, until ctx ends, reconnecting as needed.
type ReleaseNotifier interface {
	WatchReleases(ctx context.Context, fn func(version int64)) error
}

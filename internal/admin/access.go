package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/atelier-dev/atelier/internal/httperr"
)

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := s.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	if us == nil {
		us = []User{}
	}
	httperr.JSON(w, http.StatusOK, map[string]any{"users": us})
	return nil
}

type userRequest struct {
	Name     string  `json:"name"`
	Role     string  `json:"role"`
	Password string  `json:"password"`
	Disabled *bool   `json:"disabled"`
	NewRole  *string `json:"-"`
}

// CreateUser adds a user with a hashed password. It is shared by the API,
// the `atelier admin user add` command and first-start bootstrap.
func CreateUser(ctx context.Context, st Store, name string, role Role, password string,
	cost int) error {
	if err := CheckUserName(name); err != nil {
		return err
	}
	if !role.Allows(RoleViewer) {
		return fmt.Errorf("unknown role %q", role)
	}
	hash, err := HashPassword(password, cost)
	if err != nil {
		return err
	}
	return st.CreateUser(ctx, User{Name: name, Role: role, PasswordHash: hash})
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req userRequest
	if err := httperr.DecodeJSON(w, r, 64<<10, &req); err != nil {
		return err
	}
	role, err := ParseRole(req.Role)
	if err != nil {
		return httperr.BadRequest("role: " + err.Error())
	}
	err = CreateUser(r.Context(), s.store, req.Name, role, req.Password, s.cost())
	if errors.Is(err, ErrConflict) {
		return httperr.New(http.StatusConflict, "conflict",
			fmt.Sprintf("user %q exists", req.Name))
	}
	if err != nil {
		if strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), "user name") {
			return httperr.BadRequest(err.Error())
		}
		return err
	}
	p := principalFrom(r.Context())
	s.audit(r, p.Name, "user.create", "user:"+req.Name, "created with role "+string(role))
	httperr.JSON(w, http.StatusCreated, map[string]any{"name": req.Name, "role": role})
	return nil
}

type userPatch struct {
	Role     *string `json:"role"`
	Password *string `json:"password"`
	Disabled *bool   `json:"disabled"`
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var req userPatch
	if err := httperr.DecodeJSON(w, r, 64<<10, &req); err != nil {
		return err
	}
	u, err := s.store.GetUser(r.Context(), name)
	if errors.Is(err, ErrNotFound) {
		return httperr.New(http.StatusNotFound, "not_found", fmt.Sprintf("no user %q", name))
	}
	if err != nil {
		return err
	}
	var changes []string
	if req.Role != nil {
		role, err := ParseRole(*req.Role)
		if err != nil {
			return httperr.BadRequest("role: " + err.Error())
		}
		if u.Role == RoleAdmin && role != RoleAdmin {
			if err := s.keepOneAdmin(r, name); err != nil {
				return err
			}
		}
		u.Role = role
		changes = append(changes, "role "+string(role))
	}
	if req.Password != nil {
		if u.PasswordHash, err = HashPassword(*req.Password, s.cost()); err != nil {
			return httperr.BadRequest(err.Error())
		}
		changes = append(changes, "password changed")
	}
	if req.Disabled != nil {
		if *req.Disabled && u.Role == RoleAdmin {
			if err := s.keepOneAdmin(r, name); err != nil {
				return err
			}
		}
		u.Disabled = *req.Disabled
		changes = append(changes, fmt.Sprintf("disabled=%t", u.Disabled))
	}
	if err := s.store.UpdateUser(r.Context(), u); err != nil {
		return err
	}
	if req.Password != nil || (req.Disabled != nil && *req.Disabled) {
		if err := s.store.DeleteUserSessions(r.Context(), name); err != nil {
			return err
		}
		s.authChange()
	}
	p := principalFrom(r.Context())
	s.audit(r, p.Name, "user.update", "user:"+name, strings.Join(changes, ", "))
	httperr.JSON(w, http.StatusOK, u)
	return nil
}

// keepOneAdmin refuses to demote, disable or delete the last active admin.
func (s *Server) keepOneAdmin(r *http.Request, name string) error {
	us, err := s.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	for _, u := range us {
		if u.Name != name && u.Role == RoleAdmin && !u.Disabled {
			return nil
		}
	}
	return httperr.New(http.StatusConflict, "last_admin",
		fmt.Sprintf("%q is the last active admin; make another admin first", name))
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	u, err := s.store.GetUser(r.Context(), name)
	if errors.Is(err, ErrNotFound) {
		return httperr.New(http.StatusNotFound, "not_found", fmt.Sprintf("no user %q", name))
	}
	if err != nil {
		return err
	}
	if u.Role == RoleAdmin {
		if err := s.keepOneAdmin(r, name); err != nil {
			return err
		}
	}
	if err := s.store.DeleteUserSessions(r.Context(), name); err != nil {
		return err
	}
	if err := s.store.DeleteUser(r.Context(), name); err != nil {
		return err
	}
	s.authChange()
	p := principalFrom(r.Context())
	s.audit(r, p.Name, "user.delete", "user:"+name, "deleted")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.store.ListTokens(r.Context())
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []Token{}
	}
	httperr.JSON(w, http.StatusOK, map[string]any{"tokens": ts})
	return nil
}

type tokenRequest struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Role string `json:"role"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := httperr.DecodeJSON(w, r, 64<<10, &req); err != nil {
		return err
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > 100 {
		return httperr.BadRequest("name: required, at most 100 characters")
	}
	kind := TokenKind(req.Kind)
	var role Role
	switch kind {
	case TokenSync:
		if req.Role != "" && req.Role != string(RoleViewer) {
			return httperr.BadRequest("role: sync tokens have no role (they read the sync " +
				"API only); leave role out")
		}
		role = RoleViewer
	case TokenAPI:
		var err error
		if role, err = ParseRole(req.Role); err != nil {
			return httperr.BadRequest("role: " + err.Error())
		}
	default:
		return httperr.BadRequest(fmt.Sprintf("kind: %q is not \"api\" or \"sync\"", req.Kind))
	}
	secret := newSecret("atl_" + string(kind) + "_")
	p := principalFrom(r.Context())
	t, err := s.store.CreateToken(r.Context(), Token{Name: req.Name, Kind: kind, Role: role,
		Hash: hashSecret(secret), CreatedAt: s.opt.Now().UTC(), CreatedBy: p.Name})
	if err != nil {
		return err
	}
	s.audit(r, p.Name, "token.create", fmt.Sprintf("token:%d", t.ID),
		fmt.Sprintf("created %s token %q (role %s)", kind, t.Name, role))
	if kind == TokenSync {
		s.log.Info("sync token created; the sync API now requires a token", "token_id", t.ID)
		s.authChange() // readers of the open API must now show a token
	}
	httperr.JSON(w, http.StatusCreated, map[string]any{"id": t.ID, "name": t.Name,
		"kind": t.Kind, "role": t.Role, "token": secret, "created_at": t.CreatedAt,
		"note": "this is the only time the token is shown; store it now"})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return httperr.BadRequest(fmt.Sprintf("%q is not a token id", r.PathValue("id")))
	}
	err = s.store.RevokeToken(r.Context(), id, s.opt.Now().UTC())
	if errors.Is(err, ErrNotFound) {
		return httperr.New(http.StatusNotFound, "not_found", fmt.Sprintf("no token %d", id))
	}
	if err != nil {
		return err
	}
	s.revoked.Store(id, struct{}{})
	s.authChange() // held streams and long polls of this token end now
	if open, err := s.SyncOpen(r.Context()); err == nil && open {
		s.log.Warn("last sync token revoked: the sync API is open again to anyone on "+
			"loopback; create a sync token to close it", "token_id", id)
	}
	p := principalFrom(r.Context())
	s.audit(r, p.Name, "token.revoke", fmt.Sprintf("token:%d", id), "revoked")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/atelier-dev/atelier/internal/config"
	"github.com/atelier-dev/atelier/internal/httperr"
)

// draftView is GET /api/admin/draft's answer.
type draftView struct {
	Revision  int64           `json:"revision"`
	Config    json.RawMessage `json:"config"`
	UpdatedAt *time.Time      `json:"updated_at,omitempty"`
	UpdatedBy string          `json:"updated_by,omitempty"`
	Problems  config.Problems `json:"problems"`
	// BaseVersion is the current release's version (0 when none), so the
	// console can tell whether the draft differs from what is live.
	BaseVersion int64 `json:"base_version"`
}

var emptyConfig = json.RawMessage(`{"schema_version":1,"models":[],"loras":[],"workflows":[],` +
	`"image_gen":{"default_size":{"width":1024,"height":1024},"size_ratios":["1:1"],` +
	`"default_steps":20,"max_steps":60,"max_pixels":2097152,"max_batch":4}}`)

// currentDraft returns the draft; before the first save it is a copy of
// the current release, or an empty config.
func (s *Server) currentDraft(r *http.Request) (Draft, error) {
	d, err := s.store.GetDraft(r.Context())
	if err != nil {
		return d, err
	}
	if d.Config == nil {
		d.Config = emptyConfig
		if p, _ := s.hub.current(); p != nil {
			rel, err := s.store.GetRelease(r.Context(), p.version)
			if err != nil {
				return d, err
			}
			d.Config = rel.Config
		}
	}
	return d, nil
}

func (s *Server) getDraft(w http.ResponseWriter, r *http.Request) error {
	d, err := s.currentDraft(r)
	if err != nil {
		return err
	}
	v := draftView{Revision: d.Revision, Config: d.Config, UpdatedBy: d.UpdatedBy,
		Problems: config.Problems{}}
	if !d.UpdatedAt.IsZero() {
		t := d.UpdatedAt.UTC()
		v.UpdatedAt = &t
	}
	if p, _ := s.hub.current(); p != nil {
		v.BaseVersion = p.version
	}
	if snap, _, err := config.DecodeJSON(d.Config, ""); err == nil {
		v.Problems = validateDraft(snap)
	} else {
		v.Problems = problemsOf(err)
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(d.Revision, 10)))
	httperr.JSON(w, http.StatusOK, v)
	return nil
}

func validateDraft(s *config.Snapshot) config.Problems {
	ps := config.Validate(s)
	if ps == nil {
		return config.Problems{}
	}
	return ps
}

func problemsOf(err error) config.Problems {
	var ps config.Problems
	if errors.As(err, &ps) {
		for i := range ps {
			ps[i].File = ""
		}
		return ps
	}
	return config.Problems{{Message: err.Error()}}
}

// ifMatch reads the draft revision a write was based on.
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, httperr.New(http.StatusPreconditionRequired, "if_match_required",
			"send If-Match with the draft revision your edit is based on")
	}
	h = strings.TrimPrefix(h, "W/")
	if uq, err := strconv.Unquote(h); err == nil {
		h = uq
	}
	n, err := strconv.ParseInt(h, 10, 64)
	if err != nil || n < 0 {
		return 0, httperr.BadRequest(fmt.Sprintf("If-Match %q is not a draft revision", h))
	}
	return n, nil
}

// validateConfig checks a config without saving it, so the console can
// show an edit's problems before it reaches the shared draft.
func (s *Server) validateConfig(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return httperr.BodyError(err, MaxBodyBytes)
	}
	snap, _, err := config.DecodeJSON(body, "")
	if err != nil {
		httperr.JSON(w, http.StatusOK, map[string]any{"valid": false,
			"problems": problemsOf(err)})
		return nil
	}
	ps := validateDraft(snap)
	httperr.JSON(w, http.StatusOK, map[string]any{"valid": len(ps) == 0, "problems": ps})
	return nil
}

func (s *Server) putDraft(w http.ResponseWriter, r *http.Request) error {
	base, err := ifMatch(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return httperr.BodyError(err, MaxBodyBytes)
	}
	snap, _, err := config.DecodeJSON(body, "")
	if err != nil {
		return httperr.New(http.StatusBadRequest, "invalid_config",
			"the config cannot be read: "+problemsOf(err).Error()).With(problemsOf(err))
	}
	return s.saveDraft(w, r, base, snap, "draft.save", "saved the draft")
}

// saveDraft stores snap as the draft if base is still current. Problems do
// not stop the save; they are returned so the console can show them.
func (s *Server) saveDraft(w http.ResponseWriter, r *http.Request, base int64,
	snap *config.Snapshot, action, summary string) error {
	for i := range snap.Workflows {
		snap.Workflows[i].TemplatePath = ""
	}
	snap.Version, snap.Hash, snap.PublishedAt, snap.PublishedBy = 0, "", time.Time{}, ""
	cfg, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("encoding draft: %w", err)
	}
	p := principalFrom(r.Context())
	rev, err := s.store.SaveDraft(r.Context(), base, cfg, p.Name)
	if errors.Is(err, ErrConflict) {
		return s.draftConflict(r, snap)
	}
	if err != nil {
		return err
	}
	ps := validateDraft(snap)
	s.audit(r, p.Name, action, "draft", fmt.Sprintf("%s (revision %d, %d problems)",
		summary, rev, len(ps)))
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(rev, 10)))
	httperr.JSON(w, http.StatusOK, map[string]any{"revision": rev, "problems": ps,
		"valid": len(ps) == 0})
	return nil
}

// draftConflict answers a stale write with the current revision, who saved
// it, and how it differs from what the client sent.
func (s *Server) draftConflict(r *http.Request, sent *config.Snapshot) error {
	cur, err := s.currentDraft(r)
	if err != nil {
		return err
	}
	details := map[string]any{"current_revision": cur.Revision, "updated_by": cur.UpdatedBy,
		"updated_at": cur.UpdatedAt.UTC()}
	p := principalFrom(r.Context())
	s.audit(r, p.Name, "draft.conflict", "draft", fmt.Sprintf(
		"refused a stale write (409): the draft is at revision %d, saved by %s",
		cur.Revision, cur.UpdatedBy))
	if snap, _, err := config.DecodeJSON(cur.Config, ""); err == nil {
		if d, err := config.Compare(sent, snap); err == nil {
			details["changes"] = d
		}
	}
	return httperr.New(http.StatusConflict, "conflict", fmt.Sprintf(
		"the draft was changed by %s (now revision %d); reload it and apply your edit again",
		cur.UpdatedBy, cur.Revision)).With(details)
}

// importDraft replaces the draft with an uploaded local config: YAML or
// JSON as the body, or multipart with a "config" part and one part per
// template file, named by its template_path.
func (s *Server) importDraft(w http.ResponseWriter, r *http.Request) error {
	base, err := s.importBase(r)
	if err != nil {
		return err
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var snap *config.Snapshot
	switch {
	case mt == "multipart/form-data":
		snap, err = importMultipart(r, params["boundary"])
	case mt == "application/json":
		var body []byte
		if body, err = io.ReadAll(r.Body); err != nil {
			return httperr.BodyError(err, MaxBodyBytes)
		}
		snap, _, err = config.DecodeJSON(body, "upload")
	default:
		var body []byte
		if body, err = io.ReadAll(r.Body); err != nil {
			return httperr.BodyError(err, MaxBodyBytes)
		}
		snap, err = decodeYAMLUpload(body)
	}
	if err != nil {
		var he *httperr.Error
		if errors.As(err, &he) {
			return he
		}
		return httperr.New(http.StatusBadRequest, "invalid_config",
			"the uploaded config cannot be read").With(problemsOf(err))
	}
	return s.saveDraft(w, r, base, snap, "draft.import", "imported a config")
}

// importBase is If-Match when sent; an import without it replaces the
// current draft whatever its revision.
func (s *Server) importBase(r *http.Request) (int64, error) {
	if r.Header.Get("If-Match") != "" {
		return ifMatch(r)
	}
	d, err := s.store.GetDraft(r.Context())
	return d.Revision, err
}

// decodeYAMLUpload decodes YAML without reading templates: a body alone
// cannot carry them, so template_path entries stay for validation to name.
func decodeYAMLUpload(body []byte) (*config.Snapshot, error) {
	snap, _, err := config.DecodeYAML(body, "upload")
	if err != nil {
		return nil, err
	}
	for i, w := range snap.Workflows {
		if w.TemplatePath != "" && len(w.WorkflowJSON) == 0 {
			return nil, config.Problems{{Path: fmt.Sprintf("workflows[%d].template_path", i),
				Message: fmt.Sprintf("template %q cannot travel in a plain upload; send a "+
					"multipart form with the config and a part named %q holding the file, "+
					"or inline the graph as workflow_json", w.TemplatePath, w.TemplatePath)}}
		}
	}
	return snap, nil
}

func importMultipart(r *http.Request, boundary string) (*config.Snapshot, error) {
	if boundary == "" {
		return nil, httperr.BadRequest("multipart upload without a boundary")
	}
	dir, err := os.MkdirTemp("", "atelier-import-*")
	if err != nil {
		return nil, fmt.Errorf("creating temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	mr := multipart.NewReader(r.Body, boundary)
	var cfgName string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, httperr.BodyError(err, MaxBodyBytes)
		}
		name := part.FormName()
		target := name
		if name == "config" {
			cfgName = config.LocalConfigName
			if strings.HasSuffix(strings.ToLower(part.FileName()), ".json") {
				cfgName = "local_config.json"
			}
			target = cfgName
		}
		clean := filepath.Clean(filepath.FromSlash(target))
		if target == "" || filepath.IsAbs(clean) || clean == ".." ||
			strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return nil, httperr.BadRequest(fmt.Sprintf(
				"upload part %q: name it by the template_path it provides", name))
		}
		p := filepath.Join(dir, clean)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, httperr.BodyError(err, MaxBodyBytes)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
	}
	if cfgName == "" {
		return nil, httperr.BadRequest("multipart upload needs a part named \"config\" " +
			"holding local_config.yaml")
	}
	if err := checkTemplateParts(dir, cfgName); err != nil {
		return nil, err
	}
	snap, err := config.Load(filepath.Join(dir, cfgName))
	var ps config.Problems
	if errors.As(err, &ps) && snap != nil {
		// Decoded, with validation problems: save it, problems are shown.
		return snap, nil
	}
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// checkTemplateParts names every template_path the uploaded config uses
// that no upload part provided.
func checkTemplateParts(dir, cfgName string) error {
	b, err := os.ReadFile(filepath.Join(dir, cfgName))
	if err != nil {
		return err
	}
	var snap *config.Snapshot
	if strings.HasSuffix(cfgName, ".json") {
		snap, _, err = config.DecodeJSON(b, "upload")
	} else {
		snap, _, err = config.DecodeYAML(b, "upload")
	}
	if err != nil {
		return nil // the load that follows reports it with its place
	}
	var missing []string
	for _, w := range snap.Workflows {
		if w.TemplatePath == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(w.TemplatePath))); err != nil {
			missing = append(missing, w.TemplatePath)
		}
	}
	if len(missing) > 0 {
		return httperr.BadRequest(fmt.Sprintf("the config names template files that were not "+
			"uploaded: %s; add one part per file, named by its template_path",
			strings.Join(missing, ", ")))
	}
	return nil
}

type publishRequest struct {
	Message string `json:"message"`
	Force   bool   `json:"force"`
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) error {
	var req publishRequest
	if r.ContentLength != 0 {
		if err := httperr.DecodeJSON(w, r, 64<<10, &req); err != nil {
			return err
		}
	}
	d, err := s.store.GetDraft(r.Context())
	if err != nil {
		return err
	}
	if d.Config == nil {
		return httperr.New(http.StatusUnprocessableEntity, "empty_draft",
			"there is no draft to publish; edit or import a config first")
	}
	snap, _, err := config.DecodeJSON(d.Config, "")
	if err != nil {
		return httperr.New(http.StatusUnprocessableEntity, "invalid_config",
			"the draft cannot be read").With(problemsOf(err))
	}
	rel, err := s.release(r, snap, req.Message, req.Force, 0)
	if err != nil {
		return err
	}
	httperr.JSON(w, http.StatusCreated, map[string]any{"version": rel.Version, "hash": rel.Hash,
		"published_at": rel.PublishedAt.UTC()})
	return nil
}

// release validates snap and stores it as the next release, then makes it
// current for every waiter.
func (s *Server) release(r *http.Request, snap *config.Snapshot, message string, force bool,
	rollbackOf int64) (Release, error) {
	rel, err := s.releaseLocked(r, snap, message, force, rollbackOf)
	var he *httperr.Error
	if errors.As(err, &he) && he.Status < 500 {
		p := principalFrom(r.Context())
		s.audit(r, p.Name, "release.refused", "draft", fmt.Sprintf("refused (%d %s): %s",
			he.Status, he.Code, he.Message))
	}
	return rel, err
}

func (s *Server) releaseLocked(r *http.Request, snap *config.Snapshot, message string,
	force bool, rollbackOf int64) (Release, error) {
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	if ps := config.Validate(snap); len(ps) > 0 {
		return Release{}, httperr.New(http.StatusUnprocessableEntity, "invalid_config",
			fmt.Sprintf("the config has %d problem(s); nothing was published", len(ps))).With(ps)
	}
	hash, err := snap.ComputeHash()
	if err != nil {
		return Release{}, err
	}
	if cur, _ := s.hub.current(); cur != nil && !force {
		if err := s.checkDrop(r, cur.version, snap); err != nil {
			return Release{}, err
		}
		if cur.hash == hash && rollbackOf == 0 {
			return Release{}, httperr.New(http.StatusConflict, "unchanged", fmt.Sprintf(
				"the draft equals the current release %d; nothing to publish "+
					"(force to publish it again)", cur.version))
		}
	}
	p := principalFrom(r.Context())
	return s.createRelease(r.Context(), snap, hash, p.Name, remoteIP(r), message, rollbackOf)
}

// checkDrop refuses a release that would remove every model or every
// workflow of the current one.
func (s *Server) checkDrop(r *http.Request, version int64, next *config.Snapshot) error {
	cur, err := s.store.GetRelease(r.Context(), version)
	if err != nil {
		return err
	}
	old, _, err := config.DecodeJSON(cur.Config, "")
	if err != nil {
		return err
	}
	for _, c := range []struct {
		what     string
		old, new int
	}{{"model", len(old.Models), len(next.Models)},
		{"workflow", len(old.Workflows), len(next.Workflows)}} {
		if c.old > 0 && c.new == 0 {
			return httperr.New(http.StatusConflict, "would_drop_all", fmt.Sprintf(
				"this release would remove every %s (version %d has %d); "+
					"publish with force to do it anyway", c.what, version, c.old))
		}
	}
	return nil
}

type rollbackRequest struct {
	Message string `json:"message"`
	Force   bool   `json:"force"`
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request) error {
	v, err := versionParam(r, "version")
	if err != nil {
		return err
	}
	var req rollbackRequest
	if r.ContentLength != 0 {
		if err := httperr.DecodeJSON(w, r, 64<<10, &req); err != nil {
			return err
		}
	}
	old, err := s.store.GetRelease(r.Context(), v)
	if errors.Is(err, ErrNotFound) {
		return httperr.New(http.StatusNotFound, "not_found", fmt.Sprintf("no release %d", v))
	}
	if err != nil {
		return err
	}
	snap, _, err := config.DecodeJSON(old.Config, "")
	if err != nil {
		return err
	}
	if req.Message == "" {
		req.Message = fmt.Sprintf("rollback to version %d", v)
	}
	rel, err := s.release(r, snap, req.Message, req.Force, v)
	if err != nil {
		return err
	}
	httperr.JSON(w, http.StatusCreated, map[string]any{"version": rel.Version, "hash": rel.Hash,
		"rollback_of": v, "published_at": rel.PublishedAt.UTC()})
	return nil
}

func versionParam(r *http.Request, name string) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || v < 1 {
		return 0, httperr.BadRequest(fmt.Sprintf("%q is not a release version", r.PathValue(name)))
	}
	return v, nil
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	before, err := optInt(q.Get("before"), "before")
	if err != nil {
		return err
	}
	limit, err := optInt(q.Get("limit"), "limit")
	if err != nil {
		return err
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rels, err := s.store.ListReleases(r.Context(), before, int(limit))
	if err != nil {
		return err
	}
	if rels == nil {
		rels = []Release{}
	}
	out := map[string]any{"releases": rels}
	if len(rels) == int(limit) {
		out["next_before"] = rels[len(rels)-1].Version
	}
	httperr.JSON(w, http.StatusOK, out)
	return nil
}

func optInt(v, name string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, httperr.BadRequest(fmt.Sprintf("%s: %q is not a whole number", name, v))
	}
	return n, nil
}

func (s *Server) getRelease(w http.ResponseWriter, r *http.Request) error {
	v, err := versionParam(r, "version")
	if err != nil {
		return err
	}
	rel, err := s.store.GetRelease(r.Context(), v)
	if errors.Is(err, ErrNotFound) {
		return httperr.New(http.StatusNotFound, "not_found", fmt.Sprintf("no release %d", v))
	}
	if err != nil {
		return err
	}
	httperr.JSON(w, http.StatusOK, rel)
	return nil
}

func (s *Server) releaseSnapshot(r *http.Request, v int64) (*config.Snapshot, error) {
	rel, err := s.store.GetRelease(r.Context(), v)
	if errors.Is(err, ErrNotFound) {
		return nil, httperr.New(http.StatusNotFound, "not_found", fmt.Sprintf("no release %d", v))
	}
	if err != nil {
		return nil, err
	}
	snap, _, err := config.DecodeJSON(rel.Config, "")
	return snap, err
}

func (s *Server) diffReleases(w http.ResponseWriter, r *http.Request) error {
	a, err := versionParam(r, "a")
	if err != nil {
		return err
	}
	b, err := versionParam(r, "b")
	if err != nil {
		return err
	}
	sa, err := s.releaseSnapshot(r, a)
	if err != nil {
		return err
	}
	sb, err := s.releaseSnapshot(r, b)
	if err != nil {
		return err
	}
	d, err := config.Compare(sa, sb)
	if err != nil {
		return err
	}
	httperr.JSON(w, http.StatusOK, map[string]any{"from": a, "to": b, "diff": d,
		"empty": d.Empty()})
	return nil
}

// draftDiff compares the current release with the draft, for the publish
// dialog.
func (s *Server) draftDiff(w http.ResponseWriter, r *http.Request) error {
	d, err := s.currentDraft(r)
	if err != nil {
		return err
	}
	draft, _, err := config.DecodeJSON(d.Config, "")
	if err != nil {
		return httperr.New(http.StatusUnprocessableEntity, "invalid_config",
			"the draft cannot be read").With(problemsOf(err))
	}
	base := &config.Snapshot{}
	var from int64
	if p, _ := s.hub.current(); p != nil {
		from = p.version
		if base, err = s.releaseSnapshot(r, p.version); err != nil {
			return err
		}
	}
	diff, err := config.Compare(base, draft)
	if err != nil {
		return err
	}
	httperr.JSON(w, http.StatusOK, map[string]any{"from": from, "revision": d.Revision,
		"diff": diff, "empty": diff.Empty()})
	return nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := AuditFilter{Actor: q.Get("actor"), Action: q.Get("action")}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return httperr.BadRequest(fmt.Sprintf("since: %q is not an RFC 3339 time "+
				"such as 2026-01-02T15:04:05Z", v))
		}
		f.Since = t
	}
	limit, err := optInt(q.Get("limit"), "limit")
	if err != nil {
		return err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	f.Limit = int(limit)
	if f.Before, err = optInt(q.Get("cursor"), "cursor"); err != nil {
		return err
	}
	entries, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []AuditEntry{}
	}
	out := map[string]any{"entries": entries}
	if len(entries) == f.Limit {
		out["next_cursor"] = entries[len(entries)-1].ID
	}
	httperr.JSON(w, http.StatusOK, out)
	return nil
}

// status is the console dashboard's summary.
func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	watchers := s.hub.watchers()
	if watchers == nil {
		watchers = []Watcher{}
	}
	out := map[string]any{"version": 0, "watchers": watchers}
	if p, _ := s.hub.current(); p != nil {
		out["version"] = p.version
		out["hash"] = p.hash
		out["published_at"] = p.publishedAt.UTC()
		if rel, err := s.store.GetRelease(r.Context(), p.version); err == nil {
			out["published_by"] = rel.PublishedBy
			out["message"] = rel.Message
		}
	}
	recent, err := s.store.ListAudit(r.Context(), AuditFilter{Limit: 10})
	if err != nil {
		return err
	}
	if recent == nil {
		recent = []AuditEntry{}
	}
	out["recent_audit"] = recent
	open, err := s.SyncOpen(r.Context())
	if err != nil {
		return err
	}
	out["sync_open"] = open
	httperr.JSON(w, http.StatusOK, out)
	return nil
}

// Seed publishes snap as version 1 when nothing has been published yet,
// recording actor in the audit log; it does nothing otherwise. It returns
// the version in force and whether it published.
func (s *Server) Seed(ctx context.Context, snap *config.Snapshot, actor, message string) (
	int64, bool, error) {
	if p, _ := s.hub.current(); p != nil {
		return p.version, false, nil
	}
	rel, err := s.Publish(ctx, snap, actor, message)
	if err != nil {
		return 0, false, err
	}
	return rel.Version, true, nil
}

// Publish saves snap as the draft and publishes it at once, for tools that
// act outside the HTTP API (`atelier up`, tests). It validates like the API
// and records actor in the audit log.
func (s *Server) Publish(ctx context.Context, snap *config.Snapshot, actor, message string) (
	Release, error) {
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	if ps := config.Validate(snap); len(ps) > 0 {
		return Release{}, fmt.Errorf("config does not validate: %w", ps)
	}
	c := snap.Sections()
	for i := range c.Workflows {
		c.Workflows[i].TemplatePath = ""
	}
	draft, err := json.Marshal(&c)
	if err != nil {
		return Release{}, err
	}
	d, err := s.store.GetDraft(ctx)
	if err != nil {
		return Release{}, err
	}
	if _, err := s.store.SaveDraft(ctx, d.Revision, draft, actor); err != nil {
		return Release{}, fmt.Errorf("saving draft: %w", err)
	}
	hash, err := c.ComputeHash()
	if err != nil {
		return Release{}, err
	}
	return s.createRelease(ctx, &c, hash, actor, "local", message, 0)
}

// createRelease stores a validated snapshot as the next release, records it
// in the audit log and makes it current for every waiter. Callers hold
// publishMu.
func (s *Server) createRelease(ctx context.Context, snap *config.Snapshot, hash, actor,
	source, message string, rollbackOf int64) (Release, error) {
	canon, err := snap.Canonical()
	if err != nil {
		return Release{}, err
	}
	rel, err := s.store.CreateRelease(ctx, Release{Hash: hash, Config: canon,
		Message: message, PublishedAt: s.opt.Now().UTC(), PublishedBy: actor,
		RollbackOf: rollbackOf})
	if err != nil {
		return Release{}, fmt.Errorf("publishing: %w", err)
	}
	s.metrics.published.Inc()
	action, summary := "release.publish", fmt.Sprintf("published version %d: %s", rel.Version,
		message)
	if rollbackOf > 0 {
		action, summary = "release.rollback", fmt.Sprintf(
			"rolled back to version %d as version %d: %s", rollbackOf, rel.Version, message)
	}
	s.appendAudit(ctx, source, actor, action, fmt.Sprintf("release:%d", rel.Version), summary)
	s.log.Info("release published", "release_version", rel.Version, "hash", rel.Hash,
		"published_by", actor, "rollback_of", rollbackOf)
	if err := s.refresh(ctx); err != nil {
		s.log.Error("serving the new release failed", "release_version", rel.Version, "err", err)
	}
	return rel, nil
}

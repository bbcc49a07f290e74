// Package api is the main service's public HTTP API: the catalog of
// models, LoRAs, workflows and image-gen defaults read from the config
// client, health and status, and (with a dispatcher) image generation.
package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/atelier-dev/atelier/internal/config"
	"github.com/atelier-dev/atelier/internal/configclient"
	"github.com/atelier-dev/atelier/internal/httperr"
	"github.com/atelier-dev/atelier/internal/jobs"
)

// ConfigSource is what the API needs of the config client.
type ConfigSource interface {
	Current() *config.Snapshot
	Status() configclient.Status
}

// Inventory tells which model and LoRA files the ComfyUI backends have.
// A nil Inventory means nothing is known and config availability stands.
type Inventory interface {
	// ModelMissing returns "" when file is on at least one healthy
	// backend, else why not ("not installed on any ComfyUI backend").
	ModelMissing(file string) string
	// LoraMissing is ModelMissing for LoRA files.
	LoraMissing(name string) string
	// Generation changes whenever the answers above may change.
	Generation() uint64
	// Backends lists each backend and whether it is up.
	Backends() []BackendStatus
}

// BackendStatus is one ComfyUI backend as /api/health reports it.
type BackendStatus struct {
	URL   string `json:"url"`
	Up    bool   `json:"up"`
	Error string `json:"error,omitempty"`
}

// Options configure a Server.
type Options struct {
	Config    ConfigSource
	Inventory Inventory // may be nil
	Logger    *slog.Logger
	// Registry receives the API's metrics and is served on /metrics.
	Registry *prometheus.Registry
	// Studio is the built studio UI, nil when not built.
	Studio fs.FS
	// Jobs runs image generation; nil serves the catalog only.
	Jobs *jobs.Manager
}

// Server serves the main service's API.
type Server struct {
	opt   Options
	log   *slog.Logger
	views atomic.Pointer[views]
	mux   *http.ServeMux
}

// New returns a Server; Handle adds more routes (the generation API) to it.
func New(opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Registry == nil {
		opt.Registry = prometheus.NewRegistry()
	}
	s := &Server{opt: opt, log: opt.Logger, mux: http.NewServeMux()}
	s.routes()
	return s
}

// Handler returns the handler of every route.
func (s *Server) Handler() http.Handler { return httperr.WithRequestID(s.mux) }

// Handle adds a route.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

func (s *Server) routes() {
	for path, ep := range map[string]string{"/api/models": "models", "/api/image-gen": "image-gen",
		"/api/workflows": "workflows"} {
		s.mux.Handle("GET "+path, httperr.Func(s.log, s.serveView(ep)))
	}
	s.mux.Handle("GET /api/loras", httperr.Func(s.log, s.loras))
	s.jobRoutes()
	s.mux.Handle("GET /api/health", httperr.Func(s.log, s.health))
	s.mux.Handle("GET /api/config/status", httperr.Func(s.log, s.configStatus))
	s.mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httperr.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	s.mux.Handle("GET /readyz", httperr.Func(s.log, s.readyz))
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.opt.Registry, promhttp.HandlerOpts{}))
	s.mux.Handle("/api/", httperr.Unrouted(s.mux, s.log))
	s.mux.Handle("/", s.studio())
}

// views are the catalog answers for one snapshot, config source and
// inventory generation, encoded once and served as bytes.
type views struct {
	snap   *config.Snapshot
	source string
	gen    uint64
	etag   string
	bodies map[string][]byte
	loras  sync.Map // model name ("" = all) -> []byte
	meta   meta
}

type meta struct {
	ConfigSource  string     `json:"config_source"`
	ConfigVersion int64      `json:"config_version"`
	LastUpdated   *time.Time `json:"last_updated"`
}

// current returns the views for the config in force, building them when
// the snapshot, its source or the inventory changed. It fails with 503
// while no usable config exists.
func (s *Server) current() (*views, error) {
	snap := s.opt.Config.Current()
	if snap == nil {
		return nil, s.noConfig()
	}
	st := s.opt.Config.Status()
	var gen uint64
	if s.opt.Inventory != nil {
		gen = s.opt.Inventory.Generation()
	}
	if v := s.views.Load(); v != nil && v.snap == snap && v.source == st.Source && v.gen == gen {
		return v, nil
	}
	v, err := s.build(snap, st, gen)
	if err != nil {
		return nil, err
	}
	s.views.Store(v)
	return v, nil
}

func (s *Server) noConfig() error {
	st := s.opt.Config.Status()
	msg := "no usable configuration yet: the admin service, the disk cache and the local " +
		"config file all failed; the service keeps retrying"
	if st.LastError != "" {
		msg += "; admin service: " + st.LastError
	}
	if st.LocalError != "" {
		msg += "; local file: " + st.LocalError
	}
	return httperr.New(http.StatusServiceUnavailable, "no_config", msg)
}

func (s *Server) build(snap *config.Snapshot, st configclient.Status, gen uint64) (*views, error) {
	v := &views{snap: snap, source: st.Source, gen: gen, bodies: map[string][]byte{},
		meta: meta{ConfigSource: st.Source, ConfigVersion: snap.Version,
			LastUpdated: st.LastConfigUpdate}}
	v.etag = strconv.Quote(fmt.Sprintf("%s/%s/%d", snap.Hash, st.Source, gen))
	if snap.Hash == "" {
		h, _ := snap.ComputeHash()
		v.etag = strconv.Quote(fmt.Sprintf("%s/%s/%d", h, st.Source, gen))
	}
	var err error
	if v.bodies["models"], err = encode(s.modelsBody(v)); err != nil {
		return nil, err
	}
	if v.bodies["image-gen"], err = encode(imageGenBody(v)); err != nil {
		return nil, err
	}
	if v.bodies["workflows"], err = encode(workflowsBody(v)); err != nil {
		return nil, err
	}
	return v, nil
}

func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding answer: %w", err)
	}
	return b.Bytes(), nil
}

func (s *Server) serveView(ep string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := s.current()
		if err != nil {
			return err
		}
		writeCached(w, r, v.etag, v.bodies[ep])
		return nil
	}
}

// writeCached writes a pre-encoded body with its ETag, or 304.
func writeCached(w http.ResponseWriter, r *http.Request, etag string, body []byte) {
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// Model is one model as /api/models lists it.
type Model struct {
	Name              string                `json:"name"`
	DisplayName       string                `json:"display_name"`
	ModelType         string                `json:"model_type"`
	Available         bool                  `json:"available"`
	UnavailableReason string                `json:"unavailable_reason,omitempty"`
	SortOrder         int                   `json:"sort_order"`
	Defaults          *config.ModelDefaults `json:"defaults,omitempty"`
	SizeMultiple      int                   `json:"size_multiple"`
	Workflow          string                `json:"workflow,omitempty"`
}

func (s *Server) modelsBody(v *views) any {
	models := []Model{}
	missing := map[string]string{}
	for _, m := range sortedModels(v.snap) {
		if !m.IsAvailable() {
			continue // switched off by the operator: not offered at all
		}
		out := Model{Name: m.Name, DisplayName: m.DisplayName, ModelType: m.ModelType,
			Available: true, SortOrder: m.SortOrder, Defaults: m.Defaults,
			SizeMultiple: config.SizeMultiple(m.ModelType)}
		if wf, ok := config.WorkflowFor(v.snap, m); ok {
			out.Workflow = wf.Name
		} else {
			out.Available, out.UnavailableReason = false, "no workflow serves this model"
		}
		if s.opt.Inventory != nil && out.Available {
			if why := s.opt.Inventory.ModelMissing(m.File); why != "" {
				out.Available, out.UnavailableReason = false, why
				missing[m.Name] = why
			}
		}
		models = append(models, out)
	}
	return struct {
		Models  []Model           `json:"models"`
		Missing map[string]string `json:"missing"`
		meta
	}{models, missing, v.meta}
}

func sortedModels(s *config.Snapshot) []config.Model {
	ms := append([]config.Model(nil), s.Models...)
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].SortOrder != ms[j].SortOrder {
			return ms[i].SortOrder < ms[j].SortOrder
		}
		return ms[i].Name < ms[j].Name
	})
	return ms
}

// Lora is one LoRA as /api/loras lists it.
type Lora struct {
	Name              string   `json:"name"`
	DisplayName       string   `json:"display_name"`
	BaseModel         string   `json:"base_model"`
	Group             string   `json:"group"`
	Available         bool     `json:"available"`
	UnavailableReason string   `json:"unavailable_reason,omitempty"`
	SortOrder         int      `json:"sort_order"`
	DefaultStrength   float64  `json:"default_strength"`
	TriggerWords      []string `json:"trigger_words"`
}

// LoraGroup is the LoRAs of one group, in order.
type LoraGroup struct {
	Group string   `json:"group"`
	Loras []string `json:"loras"`
}

// LorasFor returns the LoRAs usable with model m (by name or model_type),
// switched-on ones only, in sort_order.
func LorasFor(s *config.Snapshot, m *config.Model) []config.Lora {
	var out []config.Lora
	for _, l := range s.Loras {
		if !l.IsAvailable() {
			continue
		}
		if m == nil || l.BaseModel == m.Name || l.BaseModel == m.ModelType {
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].SortOrder != out[j].SortOrder {
			return out[i].SortOrder < out[j].SortOrder
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// FindModel returns the model named name.
func FindModel(s *config.Snapshot, name string) (*config.Model, bool) {
	for i := range s.Models {
		if s.Models[i].Name == name {
			return &s.Models[i], true
		}
	}
	return nil, false
}

func (s *Server) loras(w http.ResponseWriter, r *http.Request) error {
	v, err := s.current()
	if err != nil {
		return err
	}
	name := r.URL.Query().Get("model")
	if b, ok := v.loras.Load(name); ok {
		writeCached(w, r, v.etag, b.([]byte))
		return nil
	}
	var model *config.Model
	if name != "" {
		m, ok := FindModel(v.snap, name)
		if !ok || !m.IsAvailable() {
			return httperr.New(http.StatusNotFound, "unknown_model",
				fmt.Sprintf("no model %q in the current config (see /api/models)", name))
		}
		model = m
	}
	b, err := encode(s.lorasBody(v, model))
	if err != nil {
		return err
	}
	v.loras.Store(name, b)
	writeCached(w, r, v.etag, b)
	return nil
}

func (s *Server) lorasBody(v *views, model *config.Model) any {
	list := []Lora{}
	var groups []LoraGroup
	groupIdx := map[string]int{}
	for _, l := range LorasFor(v.snap, model) {
		out := Lora{Name: l.Name, DisplayName: l.DisplayName, BaseModel: l.BaseModel,
			Group: l.Group, Available: true, SortOrder: l.SortOrder,
			DefaultStrength: l.Strength(), TriggerWords: l.TriggerWords}
		if out.TriggerWords == nil {
			out.TriggerWords = []string{}
		}
		if s.opt.Inventory != nil {
			if why := s.opt.Inventory.LoraMissing(l.Name); why != "" {
				out.Available, out.UnavailableReason = false, why
			}
		}
		list = append(list, out)
		i, ok := groupIdx[l.Group]
		if !ok {
			i = len(groups)
			groupIdx[l.Group] = i
			groups = append(groups, LoraGroup{Group: l.Group})
		}
		groups[i].Loras = append(groups[i].Loras, l.Name)
	}
	if groups == nil {
		groups = []LoraGroup{}
	}
	// grouped_by_model is the brief's shape: every model and its LoRAs.
	byModel := map[string][]string{}
	for _, m := range v.snap.Models {
		if !m.IsAvailable() {
			continue
		}
		names := []string{}
		for _, l := range LorasFor(v.snap, &m) {
			names = append(names, l.Name)
		}
		byModel[m.Name] = names
	}
	var modelName string
	if model != nil {
		modelName = model.Name
	}
	return struct {
		Loras          []Lora              `json:"loras"`
		Model          string              `json:"model,omitempty"`
		Groups         []LoraGroup         `json:"groups"`
		GroupedByModel map[string][]string `json:"grouped_by_model"`
		meta
	}{list, modelName, groups, byModel, v.meta}
}

// Ratio is one size preset with its pixel size.
type Ratio struct {
	Ratio  string `json:"ratio"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

func imageGenBody(v *views) any {
	g := v.snap.ImageGen
	mult := 8
	for _, m := range v.snap.Models {
		if m.IsAvailable() {
			mult = max(mult, config.SizeMultiple(m.ModelType))
		}
	}
	ratiosFor := func(mult int) []Ratio {
		ratios := []Ratio{}
		for _, r := range g.SizeRatios {
			if sz, err := config.SizeForRatio(g.DefaultSize, r, mult); err == nil {
				ratios = append(ratios, Ratio{Ratio: r, Width: sz.Width, Height: sz.Height})
			}
		}
		return ratios
	}
	// Each model's family rounds sizes to its own multiple: the sizes a
	// generation with that model will really have.
	byModel := map[string][]Ratio{}
	for _, m := range v.snap.Models {
		if m.IsAvailable() {
			byModel[m.Name] = ratiosFor(config.SizeMultiple(m.ModelType))
		}
	}
	return struct {
		DefaultSize  config.Size        `json:"default_size"`
		SizeRatios   []Ratio            `json:"size_ratios"`
		RatiosBy     map[string][]Ratio `json:"size_ratios_by_model"`
		DefaultSteps int                `json:"default_steps"`
		MaxSteps     int                `json:"max_steps"`
		MaxPixels    int                `json:"max_pixels"`
		MaxBatch     int                `json:"max_batch"`
		SizeMultiple int                `json:"size_multiple"`
		meta
	}{g.DefaultSize, ratiosFor(mult), byModel, g.DefaultSteps, g.MaxSteps, g.MaxPixels,
		g.MaxBatch, mult, v.meta}
}

func workflowsBody(v *views) any {
	type wf struct {
		Name          string   `json:"name"`
		BaseModelType string   `json:"base_model_type"`
		Models        []string `json:"models"`
		Available     bool     `json:"available"`
	}
	out := []wf{}
	for _, w := range v.snap.Workflows {
		served := []string{}
		for _, m := range sortedModels(v.snap) {
			if sel, ok := config.WorkflowFor(v.snap, m); ok && sel.Name == w.Name && m.IsAvailable() {
				served = append(served, m.Name)
			}
		}
		out = append(out, wf{w.Name, w.BaseModelType, served, w.IsAvailable()})
	}
	return struct {
		Workflows []wf `json:"workflows"`
		meta
	}{out, v.meta}
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) error {
	st := s.opt.Config.Status()
	backends := []BackendStatus{}
	if s.opt.Inventory != nil {
		backends = s.opt.Inventory.Backends()
	}
	status := "healthy"
	switch {
	case s.opt.Config.Current() == nil:
		status = "unavailable"
	case st.Source != "backend" || st.Stale || !anyUp(backends, s.opt.Inventory != nil):
		status = "degraded"
	}
	code := http.StatusOK
	if status == "unavailable" {
		code = http.StatusServiceUnavailable
	}
	httperr.JSON(w, code, map[string]any{"status": status,
		"backend_connected": st.BackendConnected, "config_source": st.Source,
		"config_version": st.Version, "last_config_update": st.LastConfigUpdate,
		"stale": st.Stale, "comfyui": backends})
	return nil
}

func anyUp(bs []BackendStatus, known bool) bool {
	if !known {
		return true
	}
	for _, b := range bs {
		if b.Up {
			return true
		}
	}
	return false
}

func (s *Server) configStatus(w http.ResponseWriter, _ *http.Request) error {
	st := s.opt.Config.Status()
	httperr.JSON(w, http.StatusOK, struct {
		configclient.Status
		ConfigSource  string `json:"config_source"`
		ConfigVersion int64  `json:"config_version"`
	}{st, st.Source, st.Version})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) error {
	if s.opt.Config.Current() == nil {
		return s.noConfig()
	}
	httperr.JSON(w, http.StatusOK, map[string]string{"status": "ready",
		"config_source": s.opt.Config.Status().Source})
	return nil
}

const studioMissing = `<!doctype html><meta charset="utf-8"><title>Atelier</title>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>Atelier studio</h1>
<p>The studio UI has not been built into this binary. Build it with
<code>make web</code> (needs Node.js 20 and npm), then rebuild with
<code>make build</code>. The API under <code>/api/</code> works without it:
try <a href="/api/models">/api/models</a>.</p>`

func (s *Server) studio() http.Handler {
	if s.opt.Studio == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(studioMissing))
		})
	}
	files := http.FileServerFS(s.opt.Studio)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/")
		if p != "" {
			if _, err := fs.Stat(s.opt.Studio, p); err != nil {
				r.URL.Path = "/"
			}
		}
		files.ServeHTTP(w, r)
	})
}

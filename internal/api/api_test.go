package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/atelier-dev/atelier/internal/api"
	"github.com/atelier-dev/atelier/internal/config"
	"github.com/atelier-dev/atelier/internal/configclient"
)

// source is a ConfigSource whose snapshot and status tests set.
type source struct {
	mu   sync.Mutex
	snap *config.Snapshot
	st   configclient.Status
}

func (s *source) Current() *config.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap
}

func (s *source) Status() configclient.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *source) set(snap *config.Snapshot, src string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap, s.st.Source = snap, src
}

// inventory is an Inventory with a fixed set of missing files.
type inventory struct {
	missing map[string]bool
	gen     uint64
}

func (i *inventory) ModelMissing(f string) string {
	if i.missing[f] {
		return "not installed on any ComfyUI backend"
	}
	return ""
}
func (i *inventory) LoraMissing(f string) string { return i.ModelMissing(f) }
func (i *inventory) Generation() uint64          { return i.gen }
func (i *inventory) Backends() []api.BackendStatus {
	return []api.BackendStatus{{URL: "http://sim", Up: true}}
}

func starter(t *testing.T) *config.Snapshot {
	t.Helper()
	dir := t.TempDir()
	if _, err := config.WriteStarter(dir, false); err != nil {
		t.Fatal(err)
	}
	s, err := config.Load(filepath.Join(dir, config.LocalConfigName))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, ts *httptest.Server, path string, want int, out any) http.Header {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d: %s", path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.Header
}

func TestCatalog(t *testing.T) {
	src := &source{}
	snap := starter(t)
	snap.Models[1].SortOrder = 0 // sdxl-base first now
	src.set(snap, "backend")
	inv := &inventory{missing: map[string]bool{"juggernautXL_v9.safetensors": true}}
	ts := httptest.NewServer(api.New(api.Options{Config: src, Inventory: inv}).Handler())
	defer ts.Close()

	var models struct {
		Models       []api.Model       `json:"models"`
		Missing      map[string]string `json:"missing"`
		ConfigSource string            `json:"config_source"`
	}
	hdr := get(t, ts, "/api/models", http.StatusOK, &models)
	var names []string
	for _, m := range models.Models {
		names = append(names, m.Name)
	}
	if diff := cmp.Diff([]string{"sdxl-base", "flux1-dev", "juggernaut-xl"}, names); diff != "" {
		t.Errorf("model order (-want +got):\n%s", diff)
	}
	if m := models.Models[2]; m.Available || !strings.Contains(m.UnavailableReason, "not installed") {
		t.Errorf("juggernaut-xl: available %v reason %q", m.Available, m.UnavailableReason)
	}
	if models.ConfigSource != "backend" || models.Missing["juggernaut-xl"] == "" {
		t.Errorf("source %q missing %v", models.ConfigSource, models.Missing)
	}

	// The same answer again is a 304 on its ETag.
	req, _ := http.NewRequest("GET", ts.URL+"/api/models", nil)
	req.Header.Set("If-None-Match", hdr.Get("ETag"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", resp.StatusCode)
	}

	var loras struct {
		Loras          []api.Lora          `json:"loras"`
		Groups         []api.LoraGroup     `json:"groups"`
		GroupedByModel map[string][]string `json:"grouped_by_model"`
	}
	get(t, ts, "/api/loras?model=flux1-dev", http.StatusOK, &loras)
	var lnames []string
	for _, l := range loras.Loras {
		lnames = append(lnames, l.Name)
	}
	if diff := cmp.Diff([]string{"flux/detail-tweaker.safetensors",
		"flux/film-grain.safetensors"}, lnames); diff != "" {
		t.Errorf("flux LoRAs (-want +got):\n%s", diff)
	}
	if len(loras.Groups) != 2 || loras.Groups[0].Group != "detail" {
		t.Errorf("groups: %+v", loras.Groups)
	}
	if len(loras.GroupedByModel["sdxl-base"]) != 2 {
		t.Errorf("grouped_by_model: %v", loras.GroupedByModel)
	}
	get(t, ts, "/api/loras?model=nope", http.StatusNotFound, nil)

	var ig struct {
		SizeRatios []api.Ratio `json:"size_ratios"`
	}
	get(t, ts, "/api/image-gen", http.StatusOK, &ig)
	for _, r := range ig.SizeRatios {
		if r.Width%16 != 0 || r.Height%16 != 0 || r.Width*r.Height > 1024*1024 {
			t.Errorf("ratio %s: %dx%d is not a multiple of 16 within 1024²", r.Ratio, r.Width,
				r.Height)
		}
	}

	// A new source is visible at once: answers are rebuilt per source.
	src.set(snap, "cache")
	get(t, ts, "/api/models", http.StatusOK, &models)
	if models.ConfigSource != "cache" {
		t.Errorf("after source change: %q", models.ConfigSource)
	}
}

func TestNoConfig(t *testing.T) {
	src := &source{}
	src.st.LastError = "admin unreachable"
	ts := httptest.NewServer(api.New(api.Options{Config: src}).Handler())
	defer ts.Close()
	var out struct {
		Error struct{ Code, Message string }
	}
	get(t, ts, "/readyz", http.StatusServiceUnavailable, &out)
	if out.Error.Code != "no_config" || !strings.Contains(out.Error.Message, "admin unreachable") {
		t.Errorf("readyz: %+v", out)
	}
	get(t, ts, "/api/models", http.StatusServiceUnavailable, nil)
	get(t, ts, "/healthz", http.StatusOK, nil)
	src.set(starter(t), "local")
	get(t, ts, "/readyz", http.StatusOK, nil)
	get(t, ts, "/api/models", http.StatusOK, nil)
}

package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update if the change is intended):\n%s", p,
			cmp.Diff(string(want), string(got)))
	}
}

// loadStarter writes the starter files into a temporary folder and loads
// them.
func loadStarter(t *testing.T) (*Snapshot, string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := WriteStarter(dir, false); err != nil {
		t.Fatal(err)
	}
	s, err := Load(filepath.Join(dir, LocalConfigName))
	if err != nil {
		t.Fatalf("loading the starter config: %v", err)
	}
	return s, dir
}

func TestStarterCanonicalGolden(t *testing.T) {
	s, _ := loadStarter(t)
	canon, err := s.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := s.ComputeHash()
	if err != nil {
		t.Fatal(err)
	}
	norm, err := normalizedJSON(canon)
	if err != nil {
		t.Fatal(err)
	}
	if hash != HashBytes(norm) {
		t.Errorf("ComputeHash = %s; HashBytes(numbers normalized) = %s", hash, HashBytes(norm))
	}
	if !strings.HasPrefix(hash, "sha256:") || len(hash) != len("sha256:")+64 {
		t.Errorf("hash %q is not sha256: and 64 hex digits", hash)
	}
	golden(t, "starter.canonical.json", append(canon, '\n'))
	golden(t, "starter.hash", []byte(hash+"\n"))
}

func TestCanonicalIsCompactSortedAndUnescaped(t *testing.T) {
	s := validBase()
	s.Models[0].DisplayName = "Flux <dev> & co"
	canon, err := s.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(canon, []byte(`"display_name":"Flux <dev> & co"`)) {
		t.Errorf("canonical JSON escapes HTML or adds space: %s", canon)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, canon); err != nil || !bytes.Equal(compact.Bytes(), canon) {
		t.Errorf("canonical JSON is not compact (%v)", err)
	}
	if !bytes.HasPrefix(canon, []byte(`{"image_gen":`)) {
		t.Errorf("top-level keys are not sorted: %.40s", canon)
	}
}

func TestCanonicalLeavesOutMetaAndTemplatePaths(t *testing.T) {
	base, err := validBase().Canonical()
	if err != nil {
		t.Fatal(err)
	}
	s := validBase()
	s.Version, s.Hash, s.PublishedBy = 41, "sha256:old", "ops"
	s.PublishedAt = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s.Workflows[0].TemplatePath = "workflows/flux.json"
	got, err := s.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(base, got) {
		t.Errorf("meta or template_path changed the canonical form:\n%s", cmp.Diff(base, got))
	}
	if s.Models[0].Available != nil || s.Version != 41 {
		t.Errorf("Canonical changed the snapshot it was called on")
	}
}

func TestCanonicalChangesWithContent(t *testing.T) {
	base, _ := validBase().ComputeHash()
	for name, modify := range map[string]func(*Snapshot){
		"a graph value": func(s *Snapshot) {
			s.Workflows[0].WorkflowJSON = RawJSON(strings.Replace(testGraph, `"x"`, `"y"`, 1))
		},
		"availability":  func(s *Snapshot) { s.Loras[0].Available = ptr(false) },
		"model order":   func(s *Snapshot) { s.Models[0], s.Models[1] = s.Models[1], s.Models[0] },
		"ratio":         func(s *Snapshot) { s.ImageGen.SizeRatios[0] = "4:3" },
		"trigger words": func(s *Snapshot) { s.Loras[0].TriggerWords = nil },
	} {
		s := validBase()
		modify(s)
		if h, _ := s.ComputeHash(); h == base {
			t.Errorf("changing %s did not change the hash", name)
		}
	}
}

// TestSameContentAsJSONSameHash writes the starter config as one JSON file
// (graphs inline, keys in reverse order, indented, defaults left out) and
// checks that it gives the starter's hash.
func TestSameContentAsJSONSameHash(t *testing.T) {
	s, _ := loadStarter(t)
	want, err := s.ComputeHash()
	if err != nil {
		t.Fatal(err)
	}
	canon, _ := s.Canonical()
	dec := json.NewDecoder(bytes.NewReader(canon))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	doc["schema_version"] = json.Number("1")
	for _, sec := range []string{"models", "loras", "workflows"} {
		for _, it := range doc[sec].([]any) {
			item := it.(map[string]any)
			delete(item, "available") // true, the default
			if sec == "loras" && item["default_strength"] == json.Number("1") {
				delete(item, "default_strength")
			}
			if tw, ok := item["trigger_words"].([]any); ok && len(tw) == 0 {
				delete(item, "trigger_words")
			}
		}
	}
	var buf bytes.Buffer
	writeReversed(&buf, doc, "")
	if bytes.Contains(buf.Bytes(), []byte(`"available"`)) {
		t.Fatal("the JSON variant still spells out available")
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	js, err := Load(file)
	if err != nil {
		t.Fatalf("loading the JSON variant: %v\n%s", err, buf.Bytes())
	}
	if got, _ := js.ComputeHash(); got != want {
		t.Errorf("JSON variant hash = %s; want the YAML starter's %s", got, want)
	}
}

// writeReversed writes v as indented JSON with object keys in reverse
// order, numbers as written.
func writeReversed(buf *bytes.Buffer, v any, indent string) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Sort(sort.Reverse(sort.StringSlice(keys)))
		buf.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				buf.WriteString(",")
			}
			buf.WriteString("\n" + indent + "  ")
			kb, _ := json.Marshal(k)
			buf.Write(kb)
			buf.WriteString(": ")
			writeReversed(buf, v[k], indent+"  ")
		}
		buf.WriteString("\n" + indent + "}")
	case []any:
		buf.WriteString("[")
		for i, e := range v {
			if i > 0 {
				buf.WriteString(", ")
			}
			writeReversed(buf, e, indent)
		}
		buf.WriteString("]")
	default:
		b, _ := json.Marshal(v)
		buf.Write(b)
	}
}

// TestHandWrittenYAMLAndJSONSameHash compares two files written by hand:
// the YAML with defaults left out, the JSON with them spelled out, keys in
// another order, the graph in other white space.
func TestHandWrittenYAMLAndJSONSameHash(t *testing.T) {
	const spelledOut = `{
  "image_gen": {"max_batch": 4, "max_pixels": 2097152, "max_steps": 60, "default_steps": 20,
    "size_ratios": ["1:1"], "default_size": {"height": 1024, "width": 1024}},
  "workflows": [{"available": true,
    "workflow_json": {
      "7": {"inputs": {"images": ["6", 0], "filename_prefix": "atelier"}, "class_type": "SaveImage"},
      "6": {"inputs": {"vae": ["1", 2], "samples": ["5", 0]}, "class_type": "VAEDecode"},
      "5": {"_meta": {"title": "Sampler"}, "inputs": {"latent_image": ["4", 0],
        "negative": ["3", 0], "positive": ["2", 0], "model": ["1", 0], "denoise": 1,
        "scheduler": "normal", "sampler_name": "euler", "cfg": 7.50, "steps": 20,
        "seed": 18446744073709551615}, "class_type": "KSampler"},
      "4": {"inputs": {"batch_size": 1, "height": 1024, "width": 1024},
        "class_type": "EmptyLatentImage"},
      "3": {"inputs": {"clip": ["1", 1], "text": "blurry"}, "class_type": "CLIPTextEncode"},
      "2": {"inputs": {"clip": ["1", 1], "text": "a cat"}, "class_type": "CLIPTextEncode"},
      "1": {"inputs": {"ckpt_name": "m1.safetensors"}, "class_type": "CheckpointLoaderSimple"}
    },
    "base_model_type": "sdxl", "name": "w1"}],
  "loras": [{"trigger_words": [], "default_strength": 1, "sort_order": 0, "group": "",
    "available": true, "base_model": "m1", "display_name": "Lora One", "name": "l1.safetensors"}],
  "models": [{"sort_order": 0, "available": true, "file": "m1.safetensors",
    "model_type": "sdxl", "display_name": "Model One", "name": "m1"}],
  "schema_version": 1
}`
	ys, err := ParseYAML([]byte(minimalYAML), "c.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	js, err := ParseJSON([]byte(spelledOut), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	yc, _ := ys.Canonical()
	jc, _ := js.Canonical()
	if diff := cmp.Diff(string(yc), string(jc)); diff != "" {
		t.Errorf("canonical forms differ (-yaml +json):\n%s", diff)
	}
}

func TestCanonicalNumber(t *testing.T) {
	for in, want := range map[string]string{
		"1": "1", "-0": "0", "1.0": "1", "7.50": "7.5", "1e3": "1000", "1E+3": "1000",
		"2.5e-3": "0.0025", "-0.10": "-0.1", "18446744073709551615": "18446744073709551615",
		"18446744073709551615.0": "18446744073709551615", "0.1000000000000000055511151231257827": "0.1000000000000000055511151231257827",
		"1e400": "1" + strings.Repeat("0", 400), "1e99999": "1e99999",
	} {
		if got := CanonicalNumber(in); got != want {
			t.Errorf("CanonicalNumber(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestHashIgnoresNumberSpelling(t *testing.T) {
	a := validBase()
	b := validBase()
	b.Workflows[0].WorkflowJSON = RawJSON(strings.Replace(testGraph, `"cfg":7`, `"cfg":7.0e0`, 1))
	if string(a.Workflows[0].WorkflowJSON) == string(b.Workflows[0].WorkflowJSON) {
		t.Fatal("fixture: the graphs are spelled alike")
	}
	ha, _ := a.ComputeHash()
	hb, _ := b.ComputeHash()
	if ha != hb {
		t.Errorf("7 and 7.0e0 hash differently: %s vs %s", ha, hb)
	}
	if d, _ := Compare(a, b); !d.Empty() {
		t.Errorf("7 and 7.0e0 compare as a change: %+v", d)
	}
	// The graph itself keeps its text.
	if c, _ := b.Canonical(); !strings.Contains(string(c), "7.0e0") {
		t.Error("Canonical lost the graph's number text")
	}
}

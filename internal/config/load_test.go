package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// inlineGraph is minimalYAML's workflow_json: a renderable ComfyUI graph
// written as YAML, with a 64-bit seed and a number with a trailing zero.
const inlineGraph = `    workflow_json:
      "1": {class_type: CheckpointLoaderSimple, inputs: {ckpt_name: m1.safetensors}}
      "2": {class_type: CLIPTextEncode, inputs: {text: a cat, clip: ["1", 1]}}
      "3": {class_type: CLIPTextEncode, inputs: {text: blurry, clip: ["1", 1]}}
      "4": {class_type: EmptyLatentImage, inputs: {width: 1024, height: 1024, batch_size: 1}}
      "5":
        class_type: KSampler
        inputs:
          seed: 18446744073709551615
          steps: 20
          cfg: 7.50
          sampler_name: euler
          scheduler: normal
          denoise: 1
          model: ["1", 0]
          positive: ["2", 0]
          negative: ["3", 0]
          latent_image: ["4", 0]
        _meta: {title: Sampler}
      "6": {class_type: VAEDecode, inputs: {samples: ["5", 0], vae: ["1", 2]}}
      "7": {class_type: SaveImage, inputs: {filename_prefix: atelier, images: ["6", 0]}}
`

// minimalYAML is a small valid config with an inline graph.
const minimalYAML = `schema_version: 1
models:
  - name: m1
    display_name: Model One
    model_type: sdxl
    file: m1.safetensors
loras:
  - name: l1.safetensors
    display_name: Lora One
    base_model: m1
workflows:
  - name: w1
    base_model_type: sdxl
` + inlineGraph + `image_gen:
  default_size: {width: 1024, height: 1024}
  size_ratios: ["1:1"]
  default_steps: 20
  max_steps: 60
  max_pixels: 2097152
  max_batch: 4
`

// graphJSON is inlineGraph as JSON, for template files and minimalJSON.
const graphJSON = `{
  "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m1.safetensors"}},
  "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
  "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
  "4": {"class_type": "EmptyLatentImage",
        "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
  "5": {"class_type": "KSampler",
        "inputs": {"seed": 18446744073709551615, "steps": 20, "cfg": 7.50,
                   "sampler_name": "euler", "scheduler": "normal", "denoise": 1,
                   "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0],
                   "latent_image": ["4", 0]},
        "_meta": {"title": "Sampler"}},
  "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
  "7": {"class_type": "SaveImage", "inputs": {"filename_prefix": "atelier", "images": ["6", 0]}}
}`

const minimalJSON = `{
  "schema_version": 1,
  "models": [
    {"name": "m1", "display_name": "Model One", "model_type": "sdxl", "file": "m1.safetensors"}
  ],
  "loras": [
    {"name": "l1.safetensors", "display_name": "Lora One", "base_model": "m1"}
  ],
  "workflows": [
    {"name": "w1", "base_model_type": "sdxl",
     "workflow_json": ` + graphJSON + `}
  ],
  "image_gen": {
    "default_size": {"width": 1024, "height": 1024},
    "size_ratios": ["1:1"],
    "default_steps": 20, "max_steps": 60, "max_pixels": 2097152, "max_batch": 4
  }
}
`

// lineOf returns the 1-based line of the first occurrence of marker in
// content, 0 for an empty marker.
func lineOf(t *testing.T, content, marker string) int {
	t.Helper()
	if marker == "" {
		return 0
	}
	i := strings.Index(content, marker)
	if i < 0 {
		t.Fatalf("marker %q not in the test input", marker)
	}
	return strings.Count(content[:i], "\n") + 1
}

// replaced returns in with old replaced by new once; old must be there.
func replaced(in, old, new string) string {
	if !strings.Contains(in, old) {
		panic(fmt.Sprintf("test input lacks %q", old))
	}
	return strings.Replace(in, old, new, 1)
}

// writeFiles writes files (by slash path) below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// problemsOf returns err as Problems, failing the test when it is not.
func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T (%v), want Problems", err, err)
	}
	return ps
}

// place is where a problem is expected: file, line (0: any), exact path and
// a message fragment.
type place struct {
	file    string
	line    int
	path    string
	message string
}

// at is a place whose line is the first line holding marker ("": any).
type at struct {
	marker  string
	path    string
	message string
}

// expectProblem checks that err holds a problem at p.
func expectProblem(t *testing.T, err error, p place) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want a problem at %s:%d %s: %q", p.file, p.line, p.path, p.message)
	}
	for _, got := range problemsOf(t, err) {
		if got.File == p.file && (p.line == 0 || got.Line == p.line) && got.Path == p.path &&
			strings.Contains(got.Message, p.message) {
			return
		}
	}
	t.Errorf("no problem at %s:%d path %q containing %q; got:\n%v", p.file, p.line, p.path,
		p.message, err)
}

func TestLoadYAMLAndJSON(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"c.yaml": minimalYAML, "c.json": minimalJSON,
		"C.JSON": minimalJSON})
	for _, name := range []string{"c.yaml", "c.json", "C.JSON"} {
		t.Run(name, func(t *testing.T) {
			s, err := Load(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(s.Models) != 1 || s.Models[0].DisplayName != "Model One" ||
				s.Loras[0].BaseModel != "m1" || s.ImageGen.MaxBatch != 4 {
				t.Errorf("loaded snapshot is not the file's content: %+v", s)
			}
			if !s.Models[0].IsAvailable() || s.Loras[0].Strength() != 1 {
				t.Errorf("omitted available/default_strength not defaulted: %+v", s)
			}
		})
	}
}

func TestLoadByteOrderMark(t *testing.T) {
	if _, err := ParseJSON([]byte("\ufeff"+minimalJSON), "c.json"); err != nil {
		t.Errorf("JSON with a byte order mark: %v", err)
	}
	if _, err := ParseYAML([]byte("\ufeff"+minimalYAML), "c.yaml", ""); err != nil {
		t.Errorf("YAML with a byte order mark: %v", err)
	}
}

func TestLoadStarter(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteStarter(dir, false); err != nil {
		t.Fatal(err)
	}
	s, err := Load(filepath.Join(dir, LocalConfigName))
	if err != nil {
		t.Fatalf("the starter config does not load: %v", err)
	}
	for _, w := range s.Workflows {
		if len(w.WorkflowJSON) == 0 {
			t.Errorf("workflow %s: template %s not read", w.Name, w.TemplatePath)
		}
	}
	var types []string
	for _, m := range s.Models {
		types = append(types, m.ModelType)
	}
	if got := strings.Join(types, ","); !strings.Contains(got, "flux1") ||
		!strings.Contains(got, "sdxl") {
		t.Errorf("starter model types = %s; want at least one flux1 and one sdxl", got)
	}
}

func TestWriteStarterRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"workflows/sdxl.json": "mine"})
	_, err := WriteStarter(dir, false)
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "sdxl.json") {
		t.Fatalf("WriteStarter over an existing file: %v; want ErrExists naming it", err)
	}
	if _, err := os.Stat(filepath.Join(dir, LocalConfigName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteStarter wrote %s before refusing (stat: %v)", LocalConfigName, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "workflows/sdxl.json")); string(b) != "mine" {
		t.Errorf("existing file changed to %q", b)
	}
	if _, err := WriteStarter(dir, true); err != nil {
		t.Fatalf("WriteStarter with force: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "workflows/sdxl.json"))
	if string(b) != string(StarterFiles()["workflows/sdxl.json"]) {
		t.Errorf("with force, sdxl.json was not replaced")
	}
}

// TestLoadBadInput covers the bad inputs and the loaders' other
// refusals: each is a problem naming file, line and path.
func TestLoadBadInput(t *testing.T) {
	yamlWith := func(old, new string) string { return replaced(minimalYAML, old, new) }
	jsonWith := func(old, new string) string { return replaced(minimalJSON, old, new) }
	dupYAML := yamlWith("    file: m1.safetensors", "    file: m1.safetensors\n    file: m2.safetensors")
	firstFile := strconv.Itoa(lineOf(t, dupYAML, "file: m1.safetensors"))
	tests := []struct {
		name    string
		file    string // written in the test folder, then loaded
		content string
		want    at
	}{
		{"unknown field", "c.yaml", yamlWith("display_name: Model One", "dispaly_name: Model One"),
			at{"dispaly_name", "models[0]",
				`unknown field "dispaly_name" (did you mean "display_name"?)`}},
		{"unknown top-level field", "c.yaml", "modles: []\n" + minimalYAML,
			at{"modles", "", `unknown field "modles" (did you mean "models"?)`}},
		{"unknown field far from any name", "c.yaml",
			yamlWith("  max_batch: 4", "  max_batch: 4\n  colour_space: srgb"),
			at{"colour_space", "image_gen", `unknown field "colour_space" (known: default_size`}},
		{"unknown field in JSON", "c.json", jsonWith(`"display_name": "Lora One"`,
			`"dispaly_name": "Lora One"`),
			at{"dispaly_name", "loras[0]",
				`unknown field "dispaly_name" (did you mean "display_name"?)`}},
		{"tab indentation", "c.yaml", yamlWith("    model_type: sdxl", "\tmodel_type: sdxl"),
			at{"\tmodel_type", "", "tab character"}},
		{"duplicate YAML key", "c.yaml", dupYAML, at{"file: m2", "models[0].file",
			`duplicate key "file" (first defined at line ` + firstFile + ")"}},
		{"duplicate JSON key", "c.json", jsonWith(`"default_steps": 20,`,
			`"default_steps": 20, "default_steps": 30,`),
			at{`"default_steps": 30`, "image_gen.default_steps", `duplicate key "default_steps"`}},
		{"duplicate key inside a YAML graph", "c.yaml",
			yamlWith("class_type: KSampler\n", "class_type: KSampler\n        class_type: X\n"),
			at{"class_type: X", "workflows[0].workflow_json", `duplicate key "class_type"`}},
		{"wrong type in YAML", "c.yaml", yamlWith("    file: m1.safetensors",
			"    file: m1.safetensors\n    sort_order: \"one\""),
			at{"sort_order", "models[0].sort_order", `expected a whole number, got the text "one"`}},
		{"wrong type in JSON", "c.json", jsonWith(`"base_model": "m1"`,
			`"base_model": "m1", "sort_order": "one"`),
			at{`"sort_order"`, "loras[0].sort_order", "expected a whole number, got a JSON string"}},
		{"list where a mapping belongs", "c.yaml", yamlWith("{width: 1024, height: 1024}",
			"[1024, 1024]"),
			at{"[1024, 1024]", "image_gen.default_size", "expected a mapping, got a list"}},
		{"non-UTF-8", "c.yaml", yamlWith("Lora One", "Lora \xff\xfeOne"),
			at{"\xff", "", "invalid UTF-8 byte 0xff at column 24"}},
		{"non-UTF-8 JSON", "c.json", "{\"models\": \"\xc3\x28\"}", at{"{", "", "invalid UTF-8"}},
		{"empty file", "c.yaml", "", at{"", "", "file is empty"}},
		{"blank file", "c.json", " \n\t\n", at{"", "", "file is empty"}},
		{"only comments", "c.yaml", "# nothing here\n   # yet\n",
			at{"", "", "file is empty (only comments)"}},
		{"top level a list", "c.yaml", "- models\n- loras\n",
			at{"- models", "", "the top level must be a mapping"}},
		{"two YAML documents", "c.yaml", minimalYAML + "---\nmodels: []\n",
			at{"---", "", "more than one YAML document"}},
		{"YAML syntax error", "c.yaml", yamlWith("  - name: w1", "  - name: [w1"),
			at{"", "", "did not find expected"}},
		{"truncated JSON", "c.json", minimalJSON[:len(minimalJSON)/2],
			at{"", "", "the file ends too early"}},
		{"JSON syntax error", "c.json", jsonWith(`"schema_version": 1,`, `"schema_version": 1,,`),
			at{"1,,", "", "invalid JSON"}},
		{"data after the JSON object", "c.json", minimalJSON + "{}\n",
			at{"", "", "unexpected data after the JSON object"}},
		{"validation problem with its YAML line", "c.yaml", yamlWith("base_model: m1",
			"base_model: flux2"),
			at{"flux2", "loras[0].base_model", `no model or model_type "flux2"`}},
		{"validation problem with its JSON line", "c.json", jsonWith(`"max_batch": 4`,
			`"max_batch": 400`),
			at{`"max_batch": 400`, "image_gen.max_batch", "between 1 and 64, got 400"}},
		{"YAML number that JSON cannot hold", "c.yaml", yamlWith("cfg: 7.50", "cfg: .nan"),
			at{".nan", "workflows[0].workflow_json", `number ".nan" cannot be written`}},
		{"template_path in JSON", "c.json", jsonWith(`"workflow_json": `+graphJSON,
			`"template_path": "w.json"`),
			at{`"template_path"`, "workflows[0].template_path", "only allowed in a local YAML file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{tt.file: tt.content})
			_, err := Load(filepath.Join(dir, tt.file))
			expectProblem(t, err, place{filepath.Join(dir, tt.file),
				lineOf(t, tt.content, tt.want.marker), tt.want.path, tt.want.message})
		})
	}
}

func TestLoadReportsEveryProblemInLineOrder(t *testing.T) {
	in := strings.NewReplacer("base_model: m1", "base_model: flux2",
		"max_steps: 60", "max_steps: 0", "display_name: Model One", "display_name: ''").
		Replace(minimalYAML)
	_, err := ParseYAML([]byte(in), "c.yaml", "")
	ps := problemsOf(t, err)
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%d %s", p.Line, p.Path))
	}
	want := []string{
		fmt.Sprintf("%d models[0].display_name", lineOf(t, in, "display_name: ''")),
		fmt.Sprintf("%d loras[0].base_model", lineOf(t, in, "flux2")),
		fmt.Sprintf("%d image_gen.max_steps", lineOf(t, in, "max_steps: 0")),
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("problems = %q; want %q\n%v", got, want, err)
	}
}

func TestLoadSizeLimit(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse 50 MB file: refused from its size, before any read.
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Load(big)
	if err == nil || !strings.Contains(err.Error(), "50 MiB, larger than the 8 MiB limit") ||
		!strings.Contains(err.Error(), "refused without reading") {
		t.Errorf("Load(50 MB file) = %v; want a refusal naming the size and the limit", err)
	}

	// A file whose size is unknown up front is cut at the limit.
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err := ReadLimited("/dev/zero", 1<<20)
		if err == nil || !strings.Contains(err.Error(), "larger than the 1 MiB limit") {
			t.Errorf("ReadLimited(/dev/zero) = %v; want the limit", err)
		}
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("Load(folder) = %v; want 'is a folder'", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil ||
		!strings.Contains(err.Error(), "missing.yaml") ||
		!strings.Contains(err.Error(), "no such file") {
		t.Errorf("Load(missing) = %v; want the file and the reason", err)
	}
}

func TestLoadTemplates(t *testing.T) {
	graph := graphJSON
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.json": graph})
	cfgWith := func(templatePath string) string {
		return replaced(minimalYAML, inlineGraph, "    template_path: "+templatePath+"\n")
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns template_path
		message string                                // "": loads
	}{
		{"plain file", func(t *testing.T, dir string) string {
			writeFiles(t, dir, map[string]string{"workflows/w.json": graph})
			return "workflows/w.json"
		}, ""},
		{"symlink inside the folder", func(t *testing.T, dir string) string {
			writeFiles(t, dir, map[string]string{"real/w.json": graph})
			if err := os.Symlink(filepath.Join("real", "w.json"),
				filepath.Join(dir, "link.json")); err != nil {
				t.Fatal(err)
			}
			return "link.json"
		}, ""},
		{"parent path", func(t *testing.T, dir string) string {
			return "../../etc/passwd"
		}, `"../../etc/passwd" points outside the config folder`},
		{"parent inside path", func(t *testing.T, dir string) string {
			return "workflows/../../x.json"
		}, "points outside the config folder"},
		{"absolute path", func(t *testing.T, dir string) string {
			return filepath.Join(outside, "secret.json")
		}, "must be relative to the config folder"},
		{"symlink leading out", func(t *testing.T, dir string) string {
			if err := os.Symlink(filepath.Join(outside, "secret.json"),
				filepath.Join(dir, "w.json")); err != nil {
				t.Fatal(err)
			}
			return "w.json"
		}, `"w.json" leads through a symlink outside the config folder`},
		{"symlinked folder leading out", func(t *testing.T, dir string) string {
			if err := os.Symlink(outside, filepath.Join(dir, "shared")); err != nil {
				t.Fatal(err)
			}
			return "shared/secret.json"
		}, "leads through a symlink outside the config folder"},
		{"missing template", func(t *testing.T, dir string) string {
			return "workflows/nope.json"
		}, `template file "workflows/nope.json" not found`},
		{"template not JSON", func(t *testing.T, dir string) string {
			writeFiles(t, dir, map[string]string{"w.json": "{\n  \"1\": ,\n}"})
			return "w.json"
		}, `template "w.json": not valid JSON (line 2`},
		{"template a folder", func(t *testing.T, dir string) string {
			writeFiles(t, dir, map[string]string{"workflows/x": ""})
			return "workflows"
		}, "is a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tp := tt.setup(t, dir)
			cfg := filepath.Join(dir, LocalConfigName)
			writeFiles(t, dir, map[string]string{LocalConfigName: cfgWith(tp)})
			s, err := Load(cfg)
			if tt.message == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if string(s.Workflows[0].WorkflowJSON) != graph {
					t.Errorf("template content = %s; want %s", s.Workflows[0].WorkflowJSON, graph)
				}
				return
			}
			expectProblem(t, err, place{cfg, lineOf(t, cfgWith(tp), "template_path"),
				"workflows[0].template_path", tt.message})
			if strings.Contains(err.Error(), outside) && tt.name != "absolute path" {
				t.Errorf("the problem names the resolved outside path: %v", err)
			}
		})
	}
}

func TestLoadTemplateThroughSymlinkedConfigFolder(t *testing.T) {
	real := t.TempDir()
	if _, err := WriteStarter(real, false); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "cfg")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(link, LocalConfigName)); err != nil {
		t.Errorf("a config folder reached through a symlink: %v", err)
	}
}

func TestLoadTemplateAndInlineGraph(t *testing.T) {
	dir := t.TempDir()
	in := replaced(minimalYAML, "    base_model_type: sdxl\n",
		"    base_model_type: sdxl\n    template_path: w.json\n")
	writeFiles(t, dir, map[string]string{"c.yaml": in, "w.json": "{}"})
	_, err := Load(filepath.Join(dir, "c.yaml"))
	expectProblem(t, err, place{filepath.Join(dir, "c.yaml"), lineOf(t, in, "- name: w1"),
		"workflows[0]", "set template_path or workflow_json, not both"})
}

func TestLoadTemplateTooLarge(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "w.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxTemplateFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	in := replaced(minimalYAML, inlineGraph, "    template_path: w.json\n")
	writeFiles(t, dir, map[string]string{"c.yaml": in})
	_, err = Load(filepath.Join(dir, "c.yaml"))
	expectProblem(t, err, place{filepath.Join(dir, "c.yaml"), lineOf(t, in, "template_path"),
		"workflows[0].template_path",
		"w.json is 16.0 MiB, larger than the 16 MiB limit"})
	if strings.Contains(err.Error(), dir+"/w.json") {
		t.Errorf("the problem names the absolute template path: %v", err)
	}
}

// TestLoadAliasBombs checks that YAML aliases inside workflow_json cannot
// expand without bound: the classic "billion laughs" (many small values)
// and one long string repeated.
func TestLoadAliasBombs(t *testing.T) {
	bomb := func(leaf string) string {
		var g strings.Builder
		g.WriteString("    workflow_json:\n      a0: &a0 " + leaf + "\n")
		for i := 1; i <= 9; i++ {
			fmt.Fprintf(&g, "      a%d: &a%d [", i, i)
			for j := 0; j < 10; j++ {
				fmt.Fprintf(&g, "*a%d, ", i-1)
			}
			g.WriteString("]\n")
		}
		return replaced(minimalYAML, inlineGraph, g.String())
	}
	for name, leaf := range map[string]string{
		"billion laughs": `"lol"`,
		"long string":    `"` + strings.Repeat("x", 1<<20) + `"`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseYAML([]byte(bomb(leaf)), "c.yaml", "")
			expectProblem(t, err, place{"c.yaml", 0, "workflows[0].workflow_json",
				"inline workflow is too large"})
		})
	}
	t.Run("self reference", func(t *testing.T) {
		in := replaced(minimalYAML, inlineGraph, "    workflow_json: &g {a: [*g]}\n")
		_, err := ParseYAML([]byte(in), "c.yaml", "")
		if err == nil {
			t.Fatal("a graph that contains itself was accepted")
		}
	})
}

func TestSeedSurvivesByteExact(t *testing.T) {
	for name, parse := range map[string]func([]byte) (*Snapshot, error){
		"yaml": func(b []byte) (*Snapshot, error) { return ParseYAML(b, "c.yaml", "") },
		"json": func(b []byte) (*Snapshot, error) { return ParseJSON(b, "c.json") },
	} {
		t.Run(name, func(t *testing.T) {
			in := minimalYAML
			if name == "json" {
				in = minimalJSON
			}
			s, err := parse([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			canon, err := s.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`"seed":18446744073709551615`, `"cfg":7.50`} {
				if !strings.Contains(string(canon), want) {
					t.Errorf("canonical JSON lacks %s:\n%s", want, canon)
				}
			}
		})
	}
}

func TestYAMLGraphScalars(t *testing.T) {
	tests := []struct{ yaml, json string }{
		{"0x1F", "31"},
		{"1_000", "1000"},
		{"+5", "5"},
		{"-0.5", "-0.5"},
		{"1e3", "1e3"},
		{".5", "0.5"},
		{"true", "true"},
		{"~", "null"},
		{"'007'", `"007"`},
		{`"a\"<b>&"`, `"a\"<b>&"`},
		{"[1, {k: v}]", `[1,{"k":"v"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			in := replaced(minimalYAML, "title: Sampler", "title: Sampler, x: "+tt.yaml)
			s, err := ParseYAML([]byte(in), "c.yaml", "")
			if err != nil {
				t.Fatal(err)
			}
			want := `"x":` + tt.json + `}`
			if got := string(s.Workflows[0].WorkflowJSON); !strings.Contains(got, want) {
				t.Errorf("graph = %s; want it to contain %s", got, want)
			}
		})
	}
}

func TestStringListParams(t *testing.T) {
	yamlIn := replaced(minimalYAML, "    base_model_type: sdxl\n",
		"    base_model_type: sdxl\n    params: {seed: 5.seed, prompt: [2.text]}\n")
	jsonIn := replaced(minimalJSON, `"base_model_type": "sdxl",`,
		`"base_model_type": "sdxl", "params": {"seed": "5.seed", "prompt": ["2.text"]},`)
	ys, err := ParseYAML([]byte(yamlIn), "c.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	js, err := ParseJSON([]byte(jsonIn), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Snapshot{ys, js} {
		p := s.Workflows[0].Params
		if len(p["seed"]) != 1 || p["seed"][0] != "5.seed" || len(p["prompt"]) != 1 {
			t.Errorf("params = %v", p)
		}
	}
	bad := replaced(jsonIn, `"seed": "5.seed"`, `"seed": 5`)
	_, err = ParseJSON([]byte(bad), "c.json")
	expectProblem(t, err, place{"c.json", lineOf(t, bad, `"params"`), "workflows[0].params",
		"expected a string or a list of strings"})
}

// TestYAMLFractionsInWholeNumberFields: the YAML decoder would truncate
// 4.5 to 4 and hash it like 4; JSON refuses it, and so must YAML.
func TestYAMLFractionsInWholeNumberFields(t *testing.T) {
	for _, tt := range []struct{ from, to, path string }{
		{"  max_batch: 4", "  max_batch: 4.5", "image_gen.max_batch"},
		{"    file: m1.safetensors\n", "    file: m1.safetensors\n    sort_order: 1.5\n",
			"models[0].sort_order"},
		{"  default_steps: 20", "  default_steps: 20.0", "image_gen.default_steps"},
	} {
		t.Run(tt.to, func(t *testing.T) {
			in := strings.Replace(minimalYAML, tt.from, tt.to, 1)
			if in == minimalYAML {
				t.Fatalf("%q not in the fixture", tt.from)
			}
			_, err := ParseYAML([]byte(in), "c.yaml", "")
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 || ps[0].Path != tt.path ||
				!strings.Contains(ps[0].Message, "whole number") || ps[0].Line == 0 {
				t.Errorf("got %v, want a whole-number problem at %s with its line", err, tt.path)
			}
		})
	}
}

package workflow

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// sharedDir holds the real workflows beside the project (../shared/workflows
// from the module root).
const sharedDir = "../../../shared/workflows"

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	return readFile(t, filepath.Join("testdata", name))
}

func mustParse(t testing.TB, data []byte) *Graph {
	t.Helper()
	g, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return g
}

// sharedFiles lists the shared workflow files, skipping the test when the
// folder is not there.
func sharedFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no shared workflows in %s (%v); skipping", sharedDir, err)
	}
	return files
}

// decode reads a graph into generic values with numbers as json.Number.
func decode(t testing.TB, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding graph: %v", err)
	}
	return m
}

// expect is what a test knows about a workflow, written by hand.
type expect struct {
	points        map[string][]string // point -> "node.input"; absent = missing
	loader        string
	modelUsers    []string
	clipUsers     []string
	loraClass     string
	templateLoras []string
	// split holds KSamplerAdvanced start/end steps expected after scaling to
	// fullRequest's 12 steps.
	split map[string]string
}

// pointRefs summarises an inspection the way expect.points is written.
func pointRefs(ins *Inspection) map[string][]string {
	out := map[string][]string{}
	for _, p := range ins.Points {
		for _, tg := range p.Targets {
			out[p.Name] = append(out[p.Name], tg.Ref().String())
		}
	}
	return out
}

func refStrings(refs []Ref) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.String())
	}
	return out
}

// checkInspection compares an inspection with the hand-written expectation.
func checkInspection(t *testing.T, ins *Inspection, want expect) {
	t.Helper()
	if diff := cmp.Diff(want.points, pointRefs(ins)); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
	if ins.Loader == nil {
		t.Fatalf("no loader found, want %s", want.loader)
	}
	got := expect{
		loader: ins.Loader.Node, modelUsers: refStrings(ins.Loader.ModelConsumers),
		clipUsers: refStrings(ins.Loader.CLIPConsumers), loraClass: ins.Loader.LoraClass(),
	}
	for _, l := range ins.Loras {
		got.templateLoras = append(got.templateLoras, l.Node)
	}
	want.points, want.split = nil, nil
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(expect{})); diff != "" {
		t.Errorf("loader (-want +got):\n%s", diff)
	}
}

// fullRequest sets every point, so that every target changes.
func fullRequest(loras ...Lora) Request {
	cfg, guidance := 4.5, 2.5
	return Request{
		Prompt: "a new prompt", NegativePrompt: "a new negative", Seed: 18446744073709551615,
		Steps: 12, CFG: &cfg, Guidance: &guidance, Sampler: "uni_pc", Scheduler: "exponential",
		Width: 832, Height: 1216, BatchSize: 2,
		ModelFile: "models/new.safetensors", Loras: loras, FilenamePrefix: "atelier/job-1",
	}
}

// expectedRender builds, independently of Render, the graph a request should
// give: the template with each expected target set, the LoRA chain added
// after the expected loader and every expected consumer re-pointed.
func expectedRender(t *testing.T, template []byte, want expect, r Request) map[string]any {
	t.Helper()
	_, unwrapped, err := Detect(template)
	if err != nil {
		t.Fatal(err)
	}
	g := decode(t, unwrapped)
	values := map[string]any{
		PointPrompt: r.Prompt, PointNegativePrompt: r.NegativePrompt,
		PointSeed:     json.Number(strconv.FormatUint(r.Seed, 10)),
		PointSteps:    json.Number(strconv.Itoa(r.Steps)),
		PointCFG:      json.Number(strconv.FormatFloat(*r.CFG, 'f', -1, 64)),
		PointGuidance: json.Number(strconv.FormatFloat(*r.Guidance, 'f', -1, 64)),
		PointSampler:  r.Sampler, PointScheduler: r.Scheduler,
		PointWidth:     json.Number(strconv.Itoa(r.Width)),
		PointHeight:    json.Number(strconv.Itoa(r.Height)),
		PointBatchSize: json.Number(strconv.Itoa(r.BatchSize)),
		PointModel:     r.ModelFile, PointOutput: r.FilenamePrefix,
	}
	for name, refs := range want.points {
		for _, s := range refs {
			ref, err := ParseRef(s)
			if err != nil {
				t.Fatal(err)
			}
			g[ref.Node].(map[string]any)["inputs"].(map[string]any)[ref.Input] = values[name]
		}
	}
	for s, v := range want.split {
		ref, _ := ParseRef(s)
		g[ref.Node].(map[string]any)["inputs"].(map[string]any)[ref.Input] = json.Number(v)
	}
	if len(r.Loras) == 0 {
		return g
	}
	next := 1 // Render numbers from 1 when no id is numeric
	for id := range g {
		if n, err := strconv.Atoi(id); err == nil && n >= next {
			next = n + 1
		}
	}
	link := func(id string, out int) []any { return []any{id, json.Number(strconv.Itoa(out))} }
	model, clip := link(want.loader, 0), link(want.loader, 1)
	for i, l := range r.Loras {
		id := strconv.Itoa(next + i)
		s := json.Number(strconv.FormatFloat(l.Strength, 'f', -1, 64))
		inputs := map[string]any{"lora_name": l.Name, "strength_model": s, "model": model}
		if want.loraClass == "LoraLoader" {
			inputs["strength_clip"] = s
			inputs["clip"] = clip
		}
		g[id] = map[string]any{
			"inputs": inputs, "class_type": want.loraClass,
			"_meta": map[string]any{"title": "LoRA " + strconv.Itoa(i+1) + " (atelier)"},
		}
		model, clip = link(id, 0), link(id, 1)
	}
	repoint := func(refs []string, to []any) {
		for _, s := range refs {
			ref, _ := ParseRef(s)
			g[ref.Node].(map[string]any)["inputs"].(map[string]any)[ref.Input] = to
		}
	}
	repoint(want.modelUsers, model)
	if want.loraClass == "LoraLoader" {
		repoint(want.clipUsers, clip)
	}
	return g
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name,
			cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")))
	}
}

func indent(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		t.Fatalf("render output is not JSON: %v", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

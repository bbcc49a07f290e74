package workflow

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nameInputs are, by class, the inputs that hold a sampler or scheduler
// name in ComfyUI's core nodes. The test reads them from the rendered graph
// without asking the engine's discovery.
var nameInputs = map[string]map[string]string{
	PointSampler: {"KSampler": "sampler_name", "KSamplerAdvanced": "sampler_name",
		"KSamplerSelect": "sampler_name"},
	PointScheduler: {"KSampler": "scheduler", "KSamplerAdvanced": "scheduler",
		"BasicScheduler": "scheduler"},
}

// namesIn collects, for a point, the value of every name input in a decoded
// graph, keyed "node.input".
func namesIn(g map[string]any, point string) map[string]any {
	out := map[string]any{}
	for id, v := range g {
		n := v.(map[string]any)
		class, _ := n["class_type"].(string)
		if in, ok := nameInputs[point][class]; ok {
			out[id+"."+in] = n["inputs"].(map[string]any)[in]
		}
	}
	return out
}

// same maps every key of m to v.
func same(m map[string]any, v any) map[string]any {
	out := make(map[string]any, len(m))
	for k := range m {
		out[k] = v
	}
	return out
}

// TestRenderNamesEverywhere renders every shared API workflow and fixture
// with a sampler and a scheduler and checks that each sampler node, refiner
// and KSamplerSelect included, carries them; without them the template's
// names stay. Two pairs of names, so that no template value can pass for a
// requested one.
func TestRenderNamesEverywhere(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedDir, "api_*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no shared workflows in %s (%v); skipping", sharedDir, err)
	}
	for name := range fixtureExpect {
		files = append(files, filepath.Join("testdata", name))
	}
	requests := []struct{ sampler, scheduler string }{
		{"dpmpp_2m", "karras"}, {"euler_ancestral", "normal"},
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := readFile(t, path)
			_, unwrapped, err := Detect(data)
			if err != nil {
				t.Fatal(err)
			}
			template := decode(t, unwrapped)
			g := mustParse(t, data)
			for _, r := range requests {
				out, err := g.Render(Request{Prompt: "p", KeepSeed: true, Sampler: r.sampler,
					Scheduler: r.scheduler})
				if err != nil {
					t.Fatalf("Render(%s, %s): %v", r.sampler, r.scheduler, err)
				}
				got := decode(t, out)
				for point, v := range map[string]string{
					PointSampler: r.sampler, PointScheduler: r.scheduler,
				} {
					names := namesIn(got, point)
					if len(names) == 0 {
						t.Fatalf("no %s input in the rendered graph", point)
					}
					if diff := cmp.Diff(same(names, v), names); diff != "" {
						t.Errorf("%s %q (-want +got):\n%s", point, v, diff)
					}
				}
			}
			out, err := g.Render(Request{Prompt: "p", KeepSeed: true})
			if err != nil {
				t.Fatal(err)
			}
			for point := range nameInputs {
				want, got := namesIn(template, point), namesIn(decode(t, out), point)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s without a request (-template +got):\n%s", point, diff)
				}
			}
		})
	}
}

// selectorGraph is the small SD graph whose KSampler takes its sampler name
// from a custom selector node.
func selectorGraph(t *testing.T) []byte {
	return graphWith(t, map[string]string{
		"5": `{"class_type":"KSampler","inputs":{"seed":1,"steps":20,"cfg":7,` +
			`"sampler_name":["8",0],"scheduler":"normal","denoise":1,"model":["1",0],` +
			`"positive":["2",0],"negative":["3",0],"latent_image":["4",0]}}`,
		"8": `{"class_type":"Sampler Selector","inputs":{"sampler_name":"euler"}}`,
	})
}

// TestNamesBehindLinks checks that a sampler behind a custom node's link
// leaves the graph usable, and that Render refuses only a requested sampler,
// until params name the custom node's input.
func TestNamesBehindLinks(t *testing.T) {
	data := selectorGraph(t)
	if probs := Check(data, nil); probs != nil {
		t.Errorf("Check = %v, want none", probs)
	}
	g := mustParse(t, data)
	ins, err := g.Inspect(nil)
	if err != nil {
		t.Fatal(err)
	}
	pt := ins.Point(PointSampler)
	wantLink := `node "5" (KSampler) input "sampler_name" is a link to node "8" ` +
		`(Sampler Selector), which the engine does not understand`
	want := Point{Name: PointSampler, Missing: hiddenByLink, Unresolved: []string{wantLink},
		Notes: []string{"the graph keeps its own sampler there; Render refuses a " +
			"requested sampler until params.sampler names the inputs"}}
	if diff := cmp.Diff(want, *pt); diff != "" {
		t.Errorf("sampler point (-want +got):\n%s", diff)
	}

	if _, err := g.Render(Request{Prompt: "p", Scheduler: "karras"}); err != nil {
		t.Errorf("Render without a sampler: %v", err)
	}
	_, err = g.Render(Request{Prompt: "p", Sampler: "dpmpp_2m"})
	wantErr := `filling workflow: workflow_json: sampler "dpmpp_2m" cannot be set: ` +
		wantLink + "; name the point in params.sampler"
	if err == nil || err.Error() != wantErr {
		t.Errorf("Render with a sampler: error = %v, want %q", err, wantErr)
	}

	p := Params{PointSampler: {"8.sampler_name"}}
	out, err := g.Render(Request{Prompt: "p", Sampler: "dpmpp_2m", Params: p})
	if err != nil {
		t.Fatalf("Render with params.sampler: %v", err)
	}
	got := decode(t, out)
	if v := got["8"].(map[string]any)["inputs"].(map[string]any)["sampler_name"]; v != "dpmpp_2m" {
		t.Errorf("8.sampler_name = %v, want dpmpp_2m", v)
	}
	link := got["5"].(map[string]any)["inputs"].(map[string]any)["sampler_name"]
	if diff := cmp.Diff([]any{"8", "0"}, asStrings(link)); diff != "" {
		t.Errorf("5.sampler_name link changed (-want +got):\n%s", diff)
	}
}

// TestNamesMissingInput checks that a sampler node without its name input
// is noted, not refused: ComfyUI reports the missing input itself.
func TestNamesMissingInput(t *testing.T) {
	g := mustParse(t, graphWith(t, map[string]string{
		"5": `{"class_type":"KSampler","inputs":{"seed":1,"steps":20,"cfg":7,` +
			`"scheduler":"normal","model":["1",0],"positive":["2",0],"negative":["3",0],` +
			`"latent_image":["4",0]}}`,
	}))
	ins, err := g.Inspect(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Point{Name: PointSampler, Missing: missingReasons[PointSampler],
		Notes: []string{`node "5" (KSampler) has no sampler_name input, which ComfyUI requires`}}
	if diff := cmp.Diff(want, *ins.Point(PointSampler)); diff != "" {
		t.Errorf("sampler point (-want +got):\n%s", diff)
	}
	if probs := ins.Problems(); len(probs) > 0 {
		t.Errorf("problems = %v, want none", probs)
	}
	if diff := cmp.Diff([]string{`sampler "lcm" is ignored: ` + missingReasons[PointSampler]},
		ins.Warnings(Request{Sampler: "lcm", Scheduler: "karras"})); diff != "" {
		t.Errorf("Warnings (-want +got):\n%s", diff)
	}
}

func TestRenderNameErrors(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"sampler too long", Request{Sampler: strings.Repeat("a", 65)},
			"sampler is 65 bytes long: want at most 64"},
		{"scheduler with a newline", Request{Scheduler: "karras\n"},
			`scheduler "karras\n" holds a control character`},
		{"sampler with spaces", Request{Sampler: " euler"},
			`sampler " euler": want a name without leading or trailing space`},
		{"scheduler only spaces", Request{Scheduler: "  "},
			`scheduler "  ": want a name without leading or trailing space`},
	}
	g := mustParse(t, fixture(t, "sdxl.json"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.Render(tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// The longest name passes and is written as a JSON string, escapes and all.
	long := strings.Repeat("x", 63) + `"`
	out, err := g.Render(Request{Prompt: "p", Sampler: long, Scheduler: "AYS SDXL"})
	if err != nil {
		t.Fatalf("Render with a 64-byte sampler: %v", err)
	}
	inputs := decode(t, out)["3"].(map[string]any)["inputs"].(map[string]any)
	if inputs["sampler_name"] != long || inputs["scheduler"] != "AYS SDXL" {
		t.Errorf("3.sampler_name = %v, 3.scheduler = %v; want %q, %q", inputs["sampler_name"],
			inputs["scheduler"], long, "AYS SDXL")
	}
}

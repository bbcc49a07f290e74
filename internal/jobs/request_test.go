package jobs

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/atelier-dev/atelier/internal/config"
	"github.com/atelier-dev/atelier/internal/workflow"
)

func ptr[T any](v T) *T { return &v }

// testSnapshot is a config with a model of every family rule Resolve
// knows: flux1 and sd3 (multiples of 16), sdxl and an unknown family
// (multiples of 8), a model switched off and one without a workflow.
func testSnapshot() *config.Snapshot {
	graph := config.RawJSON(`{}`) // Resolve never reads the graph
	return &config.Snapshot{
		Version: 7,
		Hash:    "sha256:test",
		Models: []config.Model{
			{Name: "flux1-dev", ModelType: "flux1", File: "flux1-dev-fp8.safetensors",
				Defaults: &config.ModelDefaults{Steps: ptr(20), CFG: ptr(1.0), Guidance: ptr(3.5),
					Sampler: "euler", Scheduler: "simple"}},
			{Name: "sdxl-base", ModelType: "sdxl", File: "sd_xl_base_1.0.safetensors",
				Defaults: &config.ModelDefaults{Steps: ptr(25), CFG: ptr(7.0),
					Sampler: "dpmpp_2m", Scheduler: "karras"}},
			{Name: "juggernaut-xl", ModelType: "sdxl", File: "juggernautXL_v9.safetensors"},
			{Name: "sd35", ModelType: "sd3", File: "sd3.5_medium.safetensors"},
			{Name: "pixart", ModelType: "pixart", File: "pixart.safetensors"},
			{Name: "retired", ModelType: "sdxl", File: "old.safetensors", Available: ptr(false)},
			{Name: "orphan", ModelType: "sd15", File: "v1-5.safetensors"},
		},
		Loras: []config.Lora{
			{Name: "flux/detail.safetensors", BaseModel: "flux1", DefaultStrength: ptr(0.8)},
			{Name: "flux/grain.safetensors", BaseModel: "flux1-dev"}, // strength: 1 when omitted
			{Name: "sdxl/pixel.safetensors", BaseModel: "sdxl", DefaultStrength: ptr(0.9)},
			{Name: "sdxl/old.safetensors", BaseModel: "sdxl", Available: ptr(false)},
		},
		Workflows: []config.Workflow{
			{Name: "flux-wf", BaseModelType: "flux1", WorkflowJSON: graph},
			{Name: "sdxl-wf", BaseModelType: "sdxl", WorkflowJSON: graph},
			// A model name wins over the model_type.
			{Name: "juggernaut-wf", BaseModelType: "juggernaut-xl", WorkflowJSON: graph},
			{Name: "sd3-wf", BaseModelType: "sd3", WorkflowJSON: graph},
			{Name: "pixart-wf", BaseModelType: "pixart", WorkflowJSON: graph},
			{Name: "sd15-wf", BaseModelType: "sd15", WorkflowJSON: graph, Available: ptr(false)},
		},
		ImageGen: config.ImageGen{
			DefaultSize:  config.Size{Width: 1024, Height: 1024},
			SizeRatios:   []string{"1:1", "4:3", "16:9", "9:16"},
			DefaultSteps: 30,
			MaxSteps:     60,
			MaxPixels:    2097152,
			MaxBatch:     4,
		},
	}
}

// resolved is the part of a Plan the table checks.
type resolved struct {
	Model, Workflow string
	Loras           []workflow.Lora
	Width, Height   int
	Steps           int
	CFG, Guidance   *float64
	Sampler         string
	Scheduler       string
	Seed            uint64
	BatchSize       int
	Prompt          string
	Negative        string
}

func summarize(p *Plan) resolved {
	return resolved{Model: p.Model.Name, Workflow: p.Workflow.Name, Loras: p.Loras,
		Width: p.Width, Height: p.Height, Steps: p.Steps, CFG: p.CFG, Guidance: p.Guidance,
		Sampler: p.Sampler, Scheduler: p.Scheduler, Seed: p.Seed, BatchSize: p.BatchSize, Prompt: p.Prompt, Negative: p.Negative}
}

// decodeRequest reads body as the API does: unknown fields are errors.
func decodeRequest(t *testing.T, body string) Request {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	var r Request
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return r
}

// fluxBase is what a bare flux1-dev request resolves to.
func fluxBase() resolved {
	return resolved{Model: "flux1-dev", Workflow: "flux-wf", Width: 1024, Height: 1024,
		Steps: 20, CFG: ptr(1.0), Guidance: ptr(3.5), Sampler: "euler", Scheduler: "simple",
		Seed: 42, BatchSize: 1, Prompt: "a fox"}
}

func sdxlBase() resolved {
	return resolved{Model: "sdxl-base", Workflow: "sdxl-wf", Width: 1024, Height: 1024,
		Steps: 25, CFG: ptr(7.0), Sampler: "dpmpp_2m", Scheduler: "karras", Seed: 42,
		BatchSize: 1, Prompt: "a fox"}
}

// longName is a sampler name of MaxNameLength characters.
var longName = strings.Repeat("dpmpp_2m", MaxNameLength/8)

func with(r resolved, f func(*resolved)) resolved {
	f(&r)
	return r
}

func TestResolveAccepts(t *testing.T) {
	tests := []struct {
		name string
		body string
		want resolved
	}{
		{"model defaults: steps, cfg, guidance, sampler, scheduler",
			`{"prompt":"a fox","model":"flux1-dev","seed":42}`, fluxBase()},
		{"model defaults without guidance",
			`{"prompt":"a fox","model":"sdxl-base","seed":42}`, sdxlBase()},
		{"no model defaults: image_gen's steps, template's cfg, sampler and scheduler",
			`{"prompt":"a fox","model":"juggernaut-xl","seed":42}`,
			resolved{Model: "juggernaut-xl", Workflow: "juggernaut-wf", Width: 1024, Height: 1024,
				Steps: 30, Seed: 42, BatchSize: 1, Prompt: "a fox"}},
		{"workflow by model_type",
			`{"prompt":"a fox","model":"sd35","seed":42}`,
			resolved{Model: "sd35", Workflow: "sd3-wf", Width: 1024, Height: 1024, Steps: 30,
				Seed: 42, BatchSize: 1, Prompt: "a fox"}},
		{"request overrides defaults",
			`{"prompt":"a fox","model":"flux1-dev","seed":42,"steps":8,"cfg":2.5,"guidance":0}`,
			with(fluxBase(), func(r *resolved) { r.Steps, r.CFG, r.Guidance = 8, ptr(2.5), ptr(0.0) })},
		{"request overrides sampler and scheduler",
			`{"prompt":"a fox","model":"sdxl-base","seed":42,"sampler":"euler_ancestral",
				"scheduler":"sgm_uniform"}`,
			with(sdxlBase(), func(r *resolved) { r.Sampler, r.Scheduler = "euler_ancestral", "sgm_uniform" })},
		{"request overrides only the sampler",
			`{"prompt":"a fox","model":"flux1-dev","seed":42,"sampler":"dpmpp_2m"}`,
			with(fluxBase(), func(r *resolved) { r.Sampler = "dpmpp_2m" })},
		{"null keeps the model's defaults",
			`{"prompt":"a fox","model":"flux1-dev","seed":42,"sampler":null,"scheduler":null}`,
			fluxBase()},
		{"sampler without model defaults",
			`{"prompt":"a fox","model":"juggernaut-xl","seed":42,"scheduler":"beta"}`,
			resolved{Model: "juggernaut-xl", Workflow: "juggernaut-wf", Width: 1024, Height: 1024,
				Steps: 30, Scheduler: "beta", Seed: 42, BatchSize: 1, Prompt: "a fox"}},
		{"names of 64 characters, every allowed one",
			`{"prompt":"a fox","model":"sdxl-base","seed":42,"sampler":"` + longName +
				`","scheduler":"A.z+0-9_"}`,
			with(sdxlBase(), func(r *resolved) { r.Sampler, r.Scheduler = longName, "A.z+0-9_" })},
		{"prompts trimmed",
			`{"prompt":"  a fox \n","negative_prompt":" blurry ","model":"sdxl-base","seed":42}`,
			with(sdxlBase(), func(r *resolved) { r.Negative = "blurry" })},
		{"two LoRAs: by model_type and by model name, default strengths",
			`{"prompt":"a fox","model":"flux1-dev","seed":42,"loras":[
				{"name":"flux/detail.safetensors"},{"name":"flux/grain.safetensors"}]}`,
			with(fluxBase(), func(r *resolved) {
				r.Loras = []workflow.Lora{{Name: "flux/detail.safetensors", Strength: 0.8},
					{Name: "flux/grain.safetensors", Strength: 1}}
			})},
		{"LoRA strength given, negative and at the limit",
			`{"prompt":"a fox","model":"sdxl-base","seed":42,"loras":[
				{"name":"sdxl/pixel.safetensors","strength":-100}]}`,
			with(sdxlBase(), func(r *resolved) {
				r.Loras = []workflow.Lora{{Name: "sdxl/pixel.safetensors", Strength: -100}}
			})},
		// 4:3 of 1024×1024 is 1182.4×886.8: to 16s 1184×880 (1,041,920 px);
		// to 8s 1184×888 is over 1,048,576 px, so the width drops to 1176.
		{"ratio, flux1 rounds to 16",
			`{"prompt":"a fox","model":"flux1-dev","seed":42,"ratio":"4:3"}`,
			with(fluxBase(), func(r *resolved) { r.Width, r.Height = 1184, 880 })},
		{"ratio, sd3 rounds to 16",
			`{"prompt":"a fox","model":"sd35","seed":42,"ratio":"4:3"}`,
			resolved{Model: "sd35", Workflow: "sd3-wf", Width: 1184, Height: 880, Steps: 30,
				Seed: 42, BatchSize: 1, Prompt: "a fox"}},
		{"ratio, sdxl rounds to 8",
			`{"prompt":"a fox","model":"sdxl-base","seed":42,"ratio":"4:3"}`,
			with(sdxlBase(), func(r *resolved) { r.Width, r.Height = 1176, 888 })},
		{"ratio, unknown family rounds to 8",
			`{"prompt":"a fox","model":"pixart","seed":42,"ratio":"4:3"}`,
			resolved{Model: "pixart", Workflow: "pixart-wf", Width: 1176, Height: 888, Steps: 30,
				Seed: 42, BatchSize: 1, Prompt: "a fox"}},
		// 9:16 of 1024×1024 is 768×1365.3: 1360 is the nearest multiple of 16.
		{"portrait ratio",
			`{"prompt":"a fox","model":"flux1-dev","seed":42,"ratio":"9:16"}`,
			with(fluxBase(), func(r *resolved) { r.Width, r.Height = 768, 1360 })},
		{"explicit size, multiple of 16 for flux1",
			`{"prompt":"a fox","model":"flux1-dev","seed":42,"width":1024,"height":576}`,
			with(fluxBase(), func(r *resolved) { r.Width, r.Height = 1024, 576 })},
		{"explicit size, multiple of 8 enough for sdxl",
			`{"prompt":"a fox","model":"sdxl-base","seed":42,"width":1000,"height":520}`,
			with(sdxlBase(), func(r *resolved) { r.Width, r.Height = 1000, 520 })},
		{"explicit size at max_pixels",
			`{"prompt":"a fox","model":"sdxl-base","seed":42,"width":2048,"height":1024}`,
			with(sdxlBase(), func(r *resolved) { r.Width, r.Height = 2048, 1024 })},
		{"smallest size",
			`{"prompt":"a fox","model":"sdxl-base","seed":42,"width":64,"height":64}`,
			with(sdxlBase(), func(r *resolved) { r.Width, r.Height = 64, 64 })},
		{"steps at max_steps",
			`{"prompt":"a fox","model":"sdxl-base","seed":42,"steps":60}`,
			with(sdxlBase(), func(r *resolved) { r.Steps = 60 })},
		{"batch at max_batch",
			`{"prompt":"a fox","model":"sdxl-base","seed":42,"batch_size":4}`,
			with(sdxlBase(), func(r *resolved) { r.BatchSize = 4 })},
		{"largest seed as a number",
			`{"prompt":"a fox","model":"sdxl-base","seed":18446744073709551615}`,
			with(sdxlBase(), func(r *resolved) { r.Seed = 1<<64 - 1 })},
		{"largest seed as a string",
			`{"prompt":"a fox","model":"sdxl-base","seed":"18446744073709551615"}`,
			with(sdxlBase(), func(r *resolved) { r.Seed = 1<<64 - 1 })},
		{"seed zero",
			`{"prompt":"a fox","model":"sdxl-base","seed":0}`,
			with(sdxlBase(), func(r *resolved) { r.Seed = 0 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Resolve(testSnapshot(), decodeRequest(t, tt.body))
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(tt.want, summarize(p)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveRandomSeedWhenAbsent(t *testing.T) {
	seeds := map[uint64]bool{}
	for _, body := range []string{`{"prompt":"a fox","model":"sdxl-base"}`,
		`{"prompt":"a fox","model":"sdxl-base","seed":null}`} {
		for range 4 {
			p, err := Resolve(testSnapshot(), decodeRequest(t, body))
			if err != nil {
				t.Fatalf("Resolve(%s): %v", body, err)
			}
			seeds[p.Seed] = true
		}
	}
	// Eight draws from 2^64 values: a repeat means the seed is not random.
	if len(seeds) != 8 {
		t.Errorf("8 requests without a seed got %d different seeds: %v", len(seeds), seeds)
	}
}

// problem is one expected FieldError: its field and words its message holds.
type problem struct {
	field string
	words []string
}

func TestResolveRefuses(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []problem
	}{
		{"no model", `{"prompt":"a fox"}`,
			[]problem{{"model", []string{"required"}}}},
		{"unknown model", `{"prompt":"a fox","model":"flux2"}`,
			[]problem{{"model", []string{`"flux2"`, "version 7"}}}},
		{"model switched off", `{"prompt":"a fox","model":"retired"}`,
			[]problem{{"model", []string{`"retired"`, "switched off"}}}},
		{"model without an available workflow", `{"prompt":"a fox","model":"orphan"}`,
			[]problem{{"model", []string{"workflow", `"orphan"`}}}},
		{"no prompt", `{"model":"sdxl-base"}`,
			[]problem{{"prompt", []string{"required"}}}},
		{"blank prompt", `{"prompt":" \n\t ","model":"sdxl-base"}`,
			[]problem{{"prompt", []string{"required"}}}},
		{"prompt too long", `{"prompt":"` + strings.Repeat("é", MaxPromptLength+1) +
			`","model":"sdxl-base"}`,
			[]problem{{"prompt", []string{"10000"}}}},
		{"negative prompt too long", `{"prompt":"a fox","negative_prompt":"` +
			strings.Repeat("x", MaxPromptLength+1) + `","model":"sdxl-base"}`,
			[]problem{{"negative_prompt", []string{"10000"}}}},
		{"LoRA for another family", `{"prompt":"a fox","model":"flux1-dev",
			"loras":[{"name":"sdxl/pixel.safetensors"}]}`,
			[]problem{{"loras[0].name", []string{`"sdxl/pixel.safetensors"`, `"sdxl"`, `"flux1-dev"`}}}},
		{"LoRA for another model of the family", `{"prompt":"a fox","model":"sdxl-base",
			"loras":[{"name":"flux/grain.safetensors"}]}`,
			[]problem{{"loras[0].name", []string{`"flux/grain.safetensors"`, `"flux1-dev"`}}}},
		{"unknown LoRA", `{"prompt":"a fox","model":"sdxl-base",
			"loras":[{"name":"sdxl/pixel.safetensors"},{"name":"nope.safetensors"}]}`,
			[]problem{{"loras[1].name", []string{`"nope.safetensors"`}}}},
		{"LoRA switched off", `{"prompt":"a fox","model":"sdxl-base",
			"loras":[{"name":"sdxl/old.safetensors"}]}`,
			[]problem{{"loras[0].name", []string{`"sdxl/old.safetensors"`, "switched off"}}}},
		{"LoRA without a name", `{"prompt":"a fox","model":"sdxl-base","loras":[{"strength":1}]}`,
			[]problem{{"loras[0].name", []string{"required"}}}},
		{"LoRA twice", `{"prompt":"a fox","model":"sdxl-base","loras":[
			{"name":"sdxl/pixel.safetensors"},{"name":"sdxl/pixel.safetensors"}]}`,
			[]problem{{"loras[1].name", []string{"twice"}}}},
		{"LoRA strength out of range", `{"prompt":"a fox","model":"sdxl-base",
			"loras":[{"name":"sdxl/pixel.safetensors","strength":100.5}]}`,
			[]problem{{"loras[0].strength", []string{"100.5"}}}},
		{"ratio not configured", `{"prompt":"a fox","model":"sdxl-base","ratio":"2:1"}`,
			[]problem{{"ratio", []string{`"2:1"`, "16:9"}}}},
		{"ratio not a ratio", `{"prompt":"a fox","model":"sdxl-base","ratio":"wide"}`,
			[]problem{{"ratio", []string{`"wide"`}}}},
		{"ratio and size", `{"prompt":"a fox","model":"sdxl-base","ratio":"1:1","width":512,
			"height":512}`,
			[]problem{{"ratio", []string{"not both"}}}},
		{"width without height", `{"prompt":"a fox","model":"sdxl-base","width":512}`,
			[]problem{{"width", []string{"both"}}}},
		{"height without width", `{"prompt":"a fox","model":"sdxl-base","height":512}`,
			[]problem{{"width", []string{"both"}}}},
		{"flux1 size not a multiple of 16", `{"prompt":"a fox","model":"flux1-dev","width":1000,
			"height":520}`,
			[]problem{{"width", []string{"1000", "16", "flux1"}},
				{"height", []string{"520", "16"}}}},
		{"sd3 size not a multiple of 16", `{"prompt":"a fox","model":"sd35","width":1024,
			"height":1000}`,
			[]problem{{"height", []string{"1000", "16", "sd3"}}}},
		{"sdxl size not a multiple of 8", `{"prompt":"a fox","model":"sdxl-base","width":1001,
			"height":1024}`,
			[]problem{{"width", []string{"1001", "8"}}}},
		{"over max_pixels", `{"prompt":"a fox","model":"sdxl-base","width":2048,"height":1032}`,
			[]problem{{"width", []string{"2113536", "2097152"}}}},
		{"size too small", `{"prompt":"a fox","model":"sdxl-base","width":56,"height":-8}`,
			[]problem{{"width", []string{"64", "56"}}, {"height", []string{"64", "-8"}}}},
		{"steps over max_steps", `{"prompt":"a fox","model":"sdxl-base","steps":61}`,
			[]problem{{"steps", []string{"60", "61"}}}},
		{"steps zero", `{"prompt":"a fox","model":"sdxl-base","steps":0}`,
			[]problem{{"steps", []string{"0"}}}},
		{"cfg out of range", `{"prompt":"a fox","model":"sdxl-base","cfg":-1}`,
			[]problem{{"cfg", []string{"-1"}}}},
		{"guidance out of range", `{"prompt":"a fox","model":"flux1-dev","guidance":101}`,
			[]problem{{"guidance", []string{"101"}}}},
		{"batch over max_batch", `{"prompt":"a fox","model":"sdxl-base","batch_size":5}`,
			[]problem{{"batch_size", []string{"4", "5"}}}},
		{"batch zero", `{"prompt":"a fox","model":"sdxl-base","batch_size":0}`,
			[]problem{{"batch_size", []string{"0"}}}},
		{"seed -1", `{"prompt":"a fox","model":"sdxl-base","seed":-1}`,
			[]problem{{"seed", []string{`"-1"`, "18446744073709551615"}}}},
		{"seed 2^64", `{"prompt":"a fox","model":"sdxl-base","seed":18446744073709551616}`,
			[]problem{{"seed", []string{`"18446744073709551616"`}}}},
		{"seed 2^64 as a string", `{"prompt":"a fox","model":"sdxl-base",
			"seed":"18446744073709551616"}`,
			[]problem{{"seed", []string{`"18446744073709551616"`}}}},
		{"seed not a number", `{"prompt":"a fox","model":"sdxl-base","seed":"abc"}`,
			[]problem{{"seed", []string{`"abc"`, "unsigned 64-bit"}}}},
		{"seed empty", `{"prompt":"a fox","model":"sdxl-base","seed":""}`,
			[]problem{{"seed", []string{`""`}}}},
		{"seed with a fraction", `{"prompt":"a fox","model":"sdxl-base","seed":1.5}`,
			[]problem{{"seed", []string{`"1.5"`}}}},
		{"sampler empty", `{"prompt":"a fox","model":"sdxl-base","sampler":""}`,
			[]problem{{"sampler", []string{"empty", "leave it out"}}}},
		{"scheduler too long", `{"prompt":"a fox","model":"sdxl-base","scheduler":"` +
			longName + `x"}`,
			[]problem{{"scheduler", []string{"longer than 64"}}}},
		{"sampler with a space", `{"prompt":"a fox","model":"sdxl-base","sampler":"dpmpp 2m"}`,
			[]problem{{"sampler", []string{`"dpmpp 2m" holds " "`, "_ . + -", "dpmpp_2m"}}}},
		{"scheduler with an accent", `{"prompt":"a fox","model":"sdxl-base",
			"scheduler":"karrás"}`,
			[]problem{{"scheduler", []string{`holds "á"`, "karras"}}}},
		{"sampler with a newline", `{"prompt":"a fox","model":"sdxl-base",
			"sampler":"euler\n"}`,
			[]problem{{"sampler", []string{`holds "\n"`}}}},
		{"sampler and scheduler with quotes", `{"prompt":"a fox","model":"sdxl-base",
			"sampler":"e\"uler","scheduler":"<b>"}`,
			[]problem{{"sampler", []string{`holds "\""`}}, {"scheduler", []string{`holds "<"`}}}},
		{"every problem at once", `{"prompt":"","model":"flux1-dev",
			"loras":[{"name":"sdxl/pixel.safetensors"}],"ratio":"2:1","steps":100,"cfg":200,
			"batch_size":9,"seed":-1,"sampler":"","scheduler":"a b"}`,
			[]problem{{"prompt", nil}, {"loras[0].name", nil}, {"ratio", nil}, {"steps", nil},
				{"sampler", nil}, {"scheduler", nil}, {"cfg", nil}, {"batch_size", nil},
				{"seed", nil}}},
		{"size problems with others", `{"prompt":"a fox","model":"flux1-dev","width":1000,
			"height":1024,"steps":61}`,
			[]problem{{"width", nil}, {"steps", nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Resolve(testSnapshot(), decodeRequest(t, tt.body))
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Resolve = %+v, %v; want an *InvalidError", p, err)
			}
			if p != nil {
				t.Errorf("Resolve returned a plan with its error: %+v", p)
			}
			var got, want []string
			for _, fe := range inv.Problems {
				got = append(got, fe.Field)
			}
			for _, w := range tt.want {
				want = append(want, w.field)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("problem fields (-want +got):\n%s\nall: %v", diff, inv)
			}
			for i, w := range tt.want {
				for _, word := range w.words {
					if !strings.Contains(inv.Problems[i].Message, word) {
						t.Errorf("%s: message %q does not say %q", w.field,
							inv.Problems[i].Message, word)
					}
				}
			}
			if len(inv.Problems) > 0 && !strings.Contains(inv.Error(), inv.Problems[0].Message) {
				t.Errorf("Error() = %q does not hold the first problem", inv.Error())
			}
		})
	}
}

func TestSeedRefusesOtherJSON(t *testing.T) {
	for _, seed := range []string{"true", `{"n":1}`, "[1]"} {
		var r Request
		err := json.Unmarshal([]byte(`{"seed":`+seed+`}`), &r)
		if err == nil || !strings.Contains(err.Error(), "seed: want a whole number") {
			t.Errorf("seed %s: %v, want an error that says what a seed is", seed, err)
		}
	}
}

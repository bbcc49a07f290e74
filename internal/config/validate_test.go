package config

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

// testGraph is a small renderable ComfyUI graph (loader, prompts, latent,
// sampler, decoder, output) in canonical form: compact, keys sorted.
const testGraph = `{"1":{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"x"}},` +
	`"2":{"class_type":"CLIPTextEncode","inputs":{"clip":["1",1],"text":"a"}},` +
	`"3":{"class_type":"CLIPTextEncode","inputs":{"clip":["1",1],"text":"b"}},` +
	`"4":{"class_type":"EmptyLatentImage","inputs":{"batch_size":1,"height":512,"width":512}},` +
	`"5":{"class_type":"KSampler","inputs":{"cfg":7,"denoise":1,"latent_image":["4",0],` +
	`"model":["1",0],"negative":["3",0],"positive":["2",0],"sampler_name":"euler",` +
	`"scheduler":"normal","seed":1,"steps":20}},` +
	`"6":{"class_type":"VAEDecode","inputs":{"samples":["5",0],"vae":["1",2]}},` +
	`"7":{"class_type":"SaveImage","inputs":{"filename_prefix":"t","images":["6",0]}}}`

// validBase returns a snapshot that validates, for the cases to break.
func validBase() *Snapshot {
	return &Snapshot{
		SchemaVersion: 1,
		Models: []Model{
			{Name: "flux1-dev", DisplayName: "Flux.1 Dev", ModelType: "flux1",
				File: "flux1-dev-fp8.safetensors", SortOrder: 1,
				Defaults: &ModelDefaults{Steps: ptr(20), CFG: ptr(1.0), Guidance: ptr(3.5)}},
			{Name: "sdxl-base", DisplayName: "SDXL Base", ModelType: "sdxl",
				File: "sdxl/sd_xl_base_1.0.safetensors", SortOrder: 2},
		},
		Loras: []Lora{
			{Name: "flux/detail.safetensors", DisplayName: "Detail", BaseModel: "flux1",
				Group: "detail", SortOrder: 1, DefaultStrength: ptr(0.8),
				TriggerWords: []string{"detailed"}},
			{Name: "sdxl/pixel.safetensors", DisplayName: "Pixel", BaseModel: "sdxl-base",
				Group: "style", SortOrder: 2},
		},
		Workflows: []Workflow{
			{Name: "flux1-workflow", BaseModelType: "flux1", WorkflowJSON: RawJSON(testGraph)},
			{Name: "sdxl-workflow", BaseModelType: "sdxl-base", WorkflowJSON: RawJSON(testGraph)},
		},
		ImageGen: ImageGen{
			DefaultSize:  Size{Width: 1024, Height: 1024},
			SizeRatios:   []string{"1:1", "16:9", "9:16"},
			DefaultSteps: 20, MaxSteps: 60, MaxPixels: 2097152, MaxBatch: 4,
		},
	}
}

// want is one expected problem: its exact path and a fragment of its message.
type want struct{ path, fragment string }

func TestValidBaseIsValid(t *testing.T) {
	if ps := Validate(validBase()); len(ps) != 0 {
		t.Fatalf("the base snapshot of the validation tests is not valid:\n%v", ps)
	}
	if c, err := CanonicalJSON(RawJSON(testGraph)); err != nil || string(c) != testGraph {
		t.Fatalf("testGraph is not in canonical form (%v):\n%s", err, c)
	}
}

func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name   string
		modify func(s *Snapshot)
		want   []want // nil: the snapshot is valid
	}{
		// schema_version
		{"schema version unsupported", func(s *Snapshot) { s.SchemaVersion = 2 },
			[]want{{"schema_version", "unsupported schema version 2"}}},
		{"schema version omitted means current", func(s *Snapshot) { s.SchemaVersion = 0 }, nil},

		// models[].name
		{"model name missing", func(s *Snapshot) { s.Models[0].Name = "" },
			[]want{{"models[0].name", "required"}}},
		{"model name bad pattern", func(s *Snapshot) { s.Models[0].Name = "Flux Dev" },
			[]want{{"models[0].name", `"Flux Dev" must start with a lowercase letter`}}},
		{"model name leading dash", func(s *Snapshot) { s.Models[0].Name = "-x" },
			[]want{{"models[0].name", "must start with a lowercase letter"}}},
		{"model name too long", func(s *Snapshot) { s.Models[0].Name = long(129) },
			[]want{{"models[0].name", "longer than 128"}}},
		{"model name of 128 allowed characters", func(s *Snapshot) {
			s.Models[0].Name = "0a._-" + long(123)
		}, nil},
		{"duplicate model name", func(s *Snapshot) { s.Models[0].Name = "sdxl-base" },
			[]want{{"models[1].name", `duplicate "sdxl-base" (also models[0])`}}},
		{"renamed model breaks references to it", func(s *Snapshot) {
			s.Models[1].Name = "sdxl-base-1.0"
		}, []want{{"workflows[1].base_model_type", `no model or model_type "sdxl-base"`},
			{"loras[1].base_model", `no model or model_type "sdxl-base"`},
			{"models[1]", `no available workflow for model "sdxl-base-1.0"`}}},

		// models[].display_name
		{"model display_name missing", func(s *Snapshot) { s.Models[0].DisplayName = "" },
			[]want{{"models[0].display_name", "required"}}},
		{"model display_name too long", func(s *Snapshot) { s.Models[0].DisplayName = long(201) },
			[]want{{"models[0].display_name", "longer than 200"}}},
		{"model display_name two lines", func(s *Snapshot) { s.Models[0].DisplayName = "a\nb" },
			[]want{{"models[0].display_name", "one line"}}},
		{"model display_name of 200 characters", func(s *Snapshot) {
			s.Models[0].DisplayName = long(200)
		}, nil},

		// models[].model_type
		{"model_type missing", func(s *Snapshot) { s.Models[1].ModelType = "" },
			[]want{{"models[1].model_type", "required"}}},
		{"model_type bad pattern", func(s *Snapshot) { s.Models[1].ModelType = "SD XL" },
			[]want{{"models[1].model_type", `"SD XL" must be lowercase`}}},
		{"model_type unknown family allowed", func(s *Snapshot) {
			s.Models[1].ModelType = "hunyuan-dit"
		}, nil},
		{"model name equal to another model's type", func(s *Snapshot) {
			s.Models[1].Name = "flux1"
			s.Workflows[1].BaseModelType = "flux1"
			s.Loras[1].BaseModel = "flux1"
		}, []want{{"models", `"flux1" is both a model name and a model_type`}}},

		// models[].file
		{"model file missing", func(s *Snapshot) { s.Models[0].File = "" },
			[]want{{"models[0].file", "required"}}},
		{"model file absolute", func(s *Snapshot) { s.Models[0].File = "/models/x.safetensors" },
			[]want{{"models[0].file", "must be relative"}}},
		{"model file windows drive", func(s *Snapshot) { s.Models[0].File = `C:\x.safetensors` },
			[]want{{"models[0].file", "must be relative"}}},
		{"model file parent", func(s *Snapshot) { s.Models[0].File = "../x.safetensors" },
			[]want{{"models[0].file", "plain relative path"}}},
		{"model file dot-dot alone", func(s *Snapshot) { s.Models[0].File = ".." },
			[]want{{"models[0].file", "plain relative path"}}},
		{"model file parent inside", func(s *Snapshot) { s.Models[0].File = "a/../../x" },
			[]want{{"models[0].file", "plain relative path"}}},
		{"model file backslash parent", func(s *Snapshot) { s.Models[0].File = `a\..\..\x` },
			[]want{{"models[0].file", "plain relative path"}}},
		{"model file dot part", func(s *Snapshot) { s.Models[0].File = "./x.safetensors" },
			[]want{{"models[0].file", "plain relative path"}}},
		{"model file empty part", func(s *Snapshot) { s.Models[0].File = "a//x.safetensors" },
			[]want{{"models[0].file", "plain relative path"}}},
		{"model file newline", func(s *Snapshot) { s.Models[0].File = "x\n.safetensors" },
			[]want{{"models[0].file", "one line"}}},
		{"model file too long", func(s *Snapshot) { s.Models[0].File = long(256) },
			[]want{{"models[0].file", "longer than 255"}}},
		{"model file in subfolders", func(s *Snapshot) {
			s.Models[0].File = "flux/dev/flux1-dev.safetensors"
		}, nil},
		{"model file windows subfolder", func(s *Snapshot) {
			s.Models[0].File = `flux\flux1-dev.safetensors`
		}, nil},

		// models[].sort_order
		{"model sort_order negative", func(s *Snapshot) { s.Models[0].SortOrder = -1 },
			[]want{{"models[0].sort_order", "must not be negative, got -1"}}},
		{"model sort_order zero", func(s *Snapshot) { s.Models[0].SortOrder = 0 }, nil},

		// models[].defaults
		{"model default steps above max_steps", func(s *Snapshot) {
			s.Models[0].Defaults.Steps = ptr(61)
		}, []want{{"models[0].defaults.steps", "between 1 and 60, got 61"}}},
		{"model default steps zero", func(s *Snapshot) { s.Models[0].Defaults.Steps = ptr(0) },
			[]want{{"models[0].defaults.steps", "between 1 and 60, got 0"}}},
		{"model default steps at max_steps", func(s *Snapshot) {
			s.Models[0].Defaults.Steps = ptr(60)
		}, nil},
		{"model default cfg negative", func(s *Snapshot) { s.Models[0].Defaults.CFG = ptr(-0.5) },
			[]want{{"models[0].defaults.cfg", "between 0 and 100, got -0.5"}}},
		{"model default cfg NaN", func(s *Snapshot) { s.Models[0].Defaults.CFG = ptr(math.NaN()) },
			[]want{{"models[0].defaults.cfg", "between 0 and 100"}}},
		{"model default cfg 100", func(s *Snapshot) { s.Models[0].Defaults.CFG = ptr(100.0) }, nil},
		{"model default guidance too high", func(s *Snapshot) {
			s.Models[0].Defaults.Guidance = ptr(100.5)
		}, []want{{"models[0].defaults.guidance", "between 0 and 100, got 100.5"}}},
		{"model defaults omitted", func(s *Snapshot) { s.Models[0].Defaults = nil }, nil},

		// loras[].name
		{"lora name missing", func(s *Snapshot) { s.Loras[0].Name = "" },
			[]want{{"loras[0].name", "required"}}},
		{"lora name outside the folder", func(s *Snapshot) { s.Loras[0].Name = "../x.safetensors" },
			[]want{{"loras[0].name", "plain relative path"}}},
		{"lora name absolute", func(s *Snapshot) { s.Loras[0].Name = "/loras/x.safetensors" },
			[]want{{"loras[0].name", "must be relative"}}},
		{"lora name with capitals and subfolder", func(s *Snapshot) {
			s.Loras[0].Name = "Flux/Detail Tweaker v2.safetensors"
		}, nil},
		{"duplicate lora name", func(s *Snapshot) { s.Loras[1].Name = s.Loras[0].Name },
			[]want{{"loras[1].name", `duplicate "flux/detail.safetensors" (also loras[0])`}}},

		// loras[].display_name, group
		{"lora display_name missing", func(s *Snapshot) { s.Loras[1].DisplayName = "" },
			[]want{{"loras[1].display_name", "required"}}},
		{"lora group two lines", func(s *Snapshot) { s.Loras[0].Group = "a\r\nb" },
			[]want{{"loras[0].group", "one line"}}},
		{"lora group omitted", func(s *Snapshot) { s.Loras[0].Group = "" }, nil},

		// loras[].base_model
		{"lora base_model unknown", func(s *Snapshot) { s.Loras[0].BaseModel = "flux2" },
			[]want{{"loras[0].base_model", `no model or model_type "flux2"`}}},
		{"lora base_model missing", func(s *Snapshot) { s.Loras[0].BaseModel = "" },
			[]want{{"loras[0].base_model", "required"}}},
		{"lora base_model by model name", func(s *Snapshot) { s.Loras[0].BaseModel = "flux1-dev" },
			nil},

		// loras[].sort_order, default_strength, trigger_words
		{"lora sort_order negative", func(s *Snapshot) { s.Loras[0].SortOrder = -3 },
			[]want{{"loras[0].sort_order", "must not be negative, got -3"}}},
		{"lora strength too high", func(s *Snapshot) { s.Loras[0].DefaultStrength = ptr(100.5) },
			[]want{{"loras[0].default_strength", "between -100 and 100, got 100.5"}}},
		{"lora strength too low", func(s *Snapshot) { s.Loras[0].DefaultStrength = ptr(-101.0) },
			[]want{{"loras[0].default_strength", "between -100 and 100, got -101"}}},
		{"lora strength NaN", func(s *Snapshot) {
			s.Loras[0].DefaultStrength = ptr(math.NaN())
		}, []want{{"loras[0].default_strength", "between -100 and 100"}}},
		{"lora strength at the limits", func(s *Snapshot) {
			s.Loras[0].DefaultStrength = ptr(-100.0)
			s.Loras[1].DefaultStrength = ptr(100.0)
		}, nil},
		{"lora trigger word blank", func(s *Snapshot) {
			s.Loras[0].TriggerWords = []string{"ok", "  "}
		}, []want{{"loras[0].trigger_words[1]", "must not be empty"}}},
		{"lora trigger words empty list", func(s *Snapshot) { s.Loras[0].TriggerWords = nil }, nil},

		// workflows[].name
		{"workflow name missing", func(s *Snapshot) { s.Workflows[0].Name = "" },
			[]want{{"workflows[0].name", "required"}}},
		{"workflow name bad pattern", func(s *Snapshot) { s.Workflows[0].Name = "Flux Workflow" },
			[]want{{"workflows[0].name", "must start with a lowercase letter"}}},
		{"duplicate workflow name", func(s *Snapshot) { s.Workflows[1].Name = "flux1-workflow" },
			[]want{{"workflows[1].name", `duplicate "flux1-workflow" (also workflows[0])`}}},

		// workflows[].base_model_type
		{"workflow base_model_type unknown", func(s *Snapshot) {
			s.Workflows[1].BaseModelType = "sdxl-turbo"
		}, []want{{"workflows[1].base_model_type", `no model or model_type "sdxl-turbo"`},
			{"models[1]", `no available workflow for model "sdxl-base"`}}},
		{"workflow base_model_type missing", func(s *Snapshot) {
			s.Workflows[1].BaseModelType = ""
		}, []want{{"workflows[1].base_model_type", "required"},
			{"models[1]", "no available workflow"}}},
		{"workflow base_model_type by model type", func(s *Snapshot) {
			s.Workflows[1].BaseModelType = "sdxl"
		}, nil},

		// workflows[] graph
		{"workflow without a graph", func(s *Snapshot) { s.Workflows[0].WorkflowJSON = nil },
			[]want{{"workflows[0]", "needs a graph"}}},
		{"workflow_json an array", func(s *Snapshot) {
			s.Workflows[0].WorkflowJSON = RawJSON(`[{"class_type":"KSampler"}]`)
		}, []want{{"workflows[0].workflow_json", "must be a JSON object"}}},
		{"workflow_json a string", func(s *Snapshot) {
			s.Workflows[0].WorkflowJSON = RawJSON(`"graph"`)
		}, []want{{"workflows[0].workflow_json", "must be a JSON object"}}},
		{"workflow_json not JSON", func(s *Snapshot) {
			s.Workflows[0].WorkflowJSON = RawJSON(`{"1":`)
		}, []want{{"workflows[0].workflow_json", "not valid JSON"}}},
		{"workflow_json with leading space", func(s *Snapshot) {
			s.Workflows[0].WorkflowJSON = RawJSON("\n  " + testGraph)
		}, nil},
		{"workflow with template_path only is left to the loader", func(s *Snapshot) {
			s.Workflows[0].WorkflowJSON = nil
			s.Workflows[0].TemplatePath = "workflows/flux.json"
		}, nil},

		// every available model needs an available workflow
		{"available model without workflow", func(s *Snapshot) {
			s.Workflows = s.Workflows[:1]
		}, []want{{"models[1]", `no available workflow for model "sdxl-base" ` +
			`(a workflow's base_model_type must be "sdxl-base" or "sdxl")`}}},
		{"model served only by an unavailable workflow", func(s *Snapshot) {
			s.Workflows[1].Available = ptr(false)
		}, []want{{"models[1]", `no available workflow for model "sdxl-base"`}}},
		{"unavailable model without workflow", func(s *Snapshot) {
			s.Workflows = s.Workflows[:1]
			s.Models[1].Available = ptr(false)
		}, nil},

		// image_gen ranges
		{"max_steps missing", func(s *Snapshot) {
			s.ImageGen.MaxSteps = 0
			s.Models[0].Defaults.Steps = nil
		}, []want{{"image_gen.max_steps", "required, between 1 and 1000"}}},
		{"max_steps too high", func(s *Snapshot) { s.ImageGen.MaxSteps = 1001 },
			[]want{{"image_gen.max_steps", "between 1 and 1000, got 1001"}}},
		{"max_steps at limit", func(s *Snapshot) { s.ImageGen.MaxSteps = 1000 }, nil},
		{"default_steps above max_steps", func(s *Snapshot) { s.ImageGen.DefaultSteps = 61 },
			[]want{{"image_gen.default_steps", "between 1 and 60, got 61"}}},
		{"default_steps missing", func(s *Snapshot) { s.ImageGen.DefaultSteps = 0 },
			[]want{{"image_gen.default_steps", "required"}}},
		{"default_steps equal to max_steps", func(s *Snapshot) { s.ImageGen.DefaultSteps = 60 },
			nil},
		{"max_batch missing", func(s *Snapshot) { s.ImageGen.MaxBatch = 0 },
			[]want{{"image_gen.max_batch", "required, between 1 and 64"}}},
		{"max_batch too high", func(s *Snapshot) { s.ImageGen.MaxBatch = 65 },
			[]want{{"image_gen.max_batch", "between 1 and 64, got 65"}}},
		{"max_batch 1", func(s *Snapshot) { s.ImageGen.MaxBatch = 1 }, nil},
		{"max_pixels too low", func(s *Snapshot) {
			s.ImageGen.MaxPixels = 4095
			s.ImageGen.DefaultSize = Size{Width: 64, Height: 64}
		}, []want{{"image_gen.max_pixels", "between 4096 and 67108864, got 4095"},
			{"image_gen.default_size", "64×64 is 4096 pixels, more than max_pixels 4095"}}},
		{"max_pixels too high", func(s *Snapshot) { s.ImageGen.MaxPixels = 64<<20 + 1 },
			[]want{{"image_gen.max_pixels", "got 67108865"}}},
		{"default_size above max_pixels", func(s *Snapshot) {
			s.ImageGen.DefaultSize = Size{Width: 2048, Height: 1152}
		}, []want{{"image_gen.default_size", "2048×1152 is 2359296 pixels, more than max_pixels 2097152"}}},
		{"default_size equal to max_pixels", func(s *Snapshot) {
			s.ImageGen.DefaultSize = Size{Width: 2048, Height: 1024}
		}, nil},
		{"default width too small", func(s *Snapshot) { s.ImageGen.DefaultSize.Width = 48 },
			[]want{{"image_gen.default_size.width", "between 64 and 8192, got 48"}}},
		{"default height too large", func(s *Snapshot) {
			s.ImageGen.DefaultSize.Height = 8208
			s.ImageGen.MaxPixels = 64 << 20
		}, []want{{"image_gen.default_size.height", "between 64 and 8192, got 8208"}}},
		{"default size zero", func(s *Snapshot) { s.ImageGen.DefaultSize = Size{} },
			[]want{{"image_gen.default_size.width", "got 0"},
				{"image_gen.default_size.height", "got 0"}}},

		// size multiples
		{"size not a multiple of 16 with a flux1 model", func(s *Snapshot) {
			s.ImageGen.DefaultSize = Size{Width: 1000, Height: 1024}
		}, []want{{"image_gen.default_size.width", "1000 is not a multiple of 16"}}},
		{"size not a multiple of 16 with an sd3 model", func(s *Snapshot) {
			s.Models[0].ModelType = "sd3"
			s.Loras[0].BaseModel = "sd3"
			s.Workflows[0].BaseModelType = "sd3"
			s.ImageGen.DefaultSize = Size{Width: 1024, Height: 1000}
		}, []want{{"image_gen.default_size.height", "1000 is not a multiple of 16"}}},
		{"size a multiple of 8 without 16-families", func(s *Snapshot) {
			s.Models = s.Models[1:]
			s.Loras, s.Workflows = s.Loras[1:], s.Workflows[1:]
			s.ImageGen.DefaultSize = Size{Width: 1000, Height: 1000}
		}, nil},
		{"size a multiple of 8 with the flux1 model unavailable", func(s *Snapshot) {
			s.Models[0].Available = ptr(false)
			s.ImageGen.DefaultSize = Size{Width: 1000, Height: 1000}
		}, nil},
		{"size not a multiple of 8", func(s *Snapshot) {
			s.Models = s.Models[1:]
			s.Loras, s.Workflows = s.Loras[1:], s.Workflows[1:]
			s.ImageGen.DefaultSize = Size{Width: 1020, Height: 1024}
		}, []want{{"image_gen.default_size.width", "1020 is not a multiple of 8"}}},

		// size_ratios
		{"no ratios", func(s *Snapshot) { s.ImageGen.SizeRatios = nil },
			[]want{{"image_gen.size_ratios", "at least one ratio"}}},
		{"ratio with a slash", func(s *Snapshot) { s.ImageGen.SizeRatios[1] = "16/9" },
			[]want{{"image_gen.size_ratios[1]", `"16/9" is not a ratio`}}},
		{"ratio with zero", func(s *Snapshot) { s.ImageGen.SizeRatios[1] = "0:1" },
			[]want{{"image_gen.size_ratios[1]", `"0:1" is not a ratio`}}},
		{"ratio too large", func(s *Snapshot) { s.ImageGen.SizeRatios[1] = "1000:1" },
			[]want{{"image_gen.size_ratios[1]", `"1000:1" is not a ratio`}}},
		{"duplicate ratio", func(s *Snapshot) { s.ImageGen.SizeRatios[2] = "16:9" },
			[]want{{"image_gen.size_ratios[2]", `duplicate "16:9"`}}},
		{"ratio of three digits", func(s *Snapshot) { s.ImageGen.SizeRatios[1] = "999:1" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validBase()
			tt.modify(s)
			checkProblems(t, Validate(s), tt.want)
		})
	}
}

// checkProblems checks that ps holds exactly the problems in want, by path,
// each with its message fragment.
func checkProblems(t *testing.T, ps Problems, want []want) {
	t.Helper()
	var gotPaths, wantPaths []string
	for _, p := range ps {
		gotPaths = append(gotPaths, p.Path)
	}
	for _, w := range want {
		wantPaths = append(wantPaths, w.path)
	}
	slices.Sort(gotPaths)
	slices.Sort(wantPaths)
	if diff := cmp.Diff(wantPaths, gotPaths); diff != "" {
		t.Fatalf("problem paths (-want +got):\n%s\nproblems:\n%v", diff, ps)
	}
	for _, w := range want {
		found := false
		for _, p := range ps {
			if p.Path == w.path && strings.Contains(p.Message, w.fragment) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem at %s containing %q; got:\n%v", w.path, w.fragment, ps)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	s := validBase()
	s.SchemaVersion = 9
	s.Models[0].DisplayName = ""
	s.Models[1].Name = "flux1-dev"
	s.Loras[0].BaseModel = "flux2"
	s.Loras[1].DefaultStrength = ptr(200.0)
	s.Workflows[0].WorkflowJSON = RawJSON(`[]`)
	s.ImageGen.MaxBatch = 0
	s.ImageGen.SizeRatios = []string{"wide"}

	checkProblems(t, Validate(s), []want{
		{"schema_version", "unsupported"},
		{"models[0].display_name", "required"},
		{"models[1].name", "duplicate"},
		{"models[1]", `no available workflow for model "flux1-dev"`},
		{"loras[0].base_model", `no model or model_type "flux2"`},
		{"loras[1].base_model", `no model or model_type "sdxl-base"`},
		{"loras[1].default_strength", "between -100 and 100"},
		{"workflows[0].workflow_json", "must be a JSON object"},
		{"workflows[1].base_model_type", `no model or model_type "sdxl-base"`},
		{"image_gen.max_batch", "required"},
		{"image_gen.size_ratios[0]", `"wide" is not a ratio`},
	})
}

func TestValidateChecksGraphsWithTheEngine(t *testing.T) {
	s := validBase()
	s.Workflows[0].Params = map[string]StringList{"seed": {"999.seed"}}
	s.Workflows[1].WorkflowJSON = RawJSON(`{"last_node_id": 3, "links": [], "nodes": [],
		"version": 0.4}`)
	checkProblems(t, Validate(s), []want{
		{"workflows[0].params.seed", "999"},
		{"workflows[1].workflow_json", "Export (API)"},
	})
}

func TestWorkflowForPrefersModelName(t *testing.T) {
	s := validBase()
	s.Workflows = append(s.Workflows, Workflow{Name: "flux1-dev-special",
		BaseModelType: "flux1-dev", WorkflowJSON: RawJSON(testGraph)})
	w, ok := WorkflowFor(s, s.Models[0])
	if !ok || w.Name != "flux1-dev-special" {
		t.Errorf("WorkflowFor(flux1-dev) = %q, %v; want the workflow naming the model", w.Name, ok)
	}
	s.Workflows[2].Available = ptr(false)
	if w, _ := WorkflowFor(s, s.Models[0]); w.Name != "flux1-workflow" {
		t.Errorf("with the named workflow unavailable, WorkflowFor = %q; want flux1-workflow",
			w.Name)
	}
}

func TestParseRatio(t *testing.T) {
	for _, tt := range []struct {
		in   string
		w, h int
		ok   bool
	}{
		{"16:9", 16, 9, true}, {"1:1", 1, 1, true}, {"999:999", 999, 999, true},
		{"16:09", 0, 0, false}, {" 1:1", 0, 0, false}, {"1:1:1", 0, 0, false}, {"", 0, 0, false},
	} {
		w, h, err := ParseRatio(tt.in)
		if (err == nil) != tt.ok || w != tt.w || h != tt.h {
			t.Errorf("ParseRatio(%q) = %d, %d, %v; want %d, %d, ok=%v", tt.in, w, h, err,
				tt.w, tt.h, tt.ok)
		}
	}
}

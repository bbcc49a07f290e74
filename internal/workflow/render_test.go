package workflow

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRenderDeterministic(t *testing.T) {
	data := fixture(t, "flux_split_cfg.json")
	r := fullRequest(twoLoras...)
	r.Params = Params{"seed": {"48.noise_seed"}, "prompt": {"43.t5xxl", "43.clip_l"}}
	first, err := mustParse(t, data).Render(r)
	if err != nil {
		t.Fatal(err)
	}
	g := mustParse(t, data)
	var wg sync.WaitGroup
	outs := make([][]byte, 20)
	for i := range outs {
		wg.Go(func() {
			out, err := g.Render(r)
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		})
	}
	wg.Wait()
	for i, out := range outs {
		if !bytes.Equal(first, out) {
			t.Fatalf("render %d differs:\n%s\n%s", i, first, out)
		}
	}
}

func TestRenderLeavesTemplate(t *testing.T) {
	for _, name := range []string{"lora_present.json", "flux_split_basic.json"} {
		t.Run(name, func(t *testing.T) {
			g := mustParse(t, fixture(t, name))
			before, _ := g.MarshalJSON()
			r := fullRequest(twoLoras...)
			r.ReplaceLoras = true
			if _, err := g.Render(r); err != nil {
				t.Fatal(err)
			}
			after, _ := g.MarshalJSON()
			if !bytes.Equal(before, after) {
				t.Errorf("Render changed the template:\n%s\n%s", before, after)
			}
		})
	}
}

func TestRenderRequestErrors(t *testing.T) {
	nan, big, neg := math.NaN(), 101.0, -1.0
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"negative steps", Request{Steps: -1}, "steps -1"},
		{"too many steps", Request{Steps: 10001}, "steps 10001"},
		{"cfg NaN", Request{CFG: &nan}, "cfg NaN"},
		{"cfg too big", Request{CFG: &big}, "cfg 101"},
		{"guidance negative", Request{Guidance: &neg}, "guidance -1"},
		{"width too small", Request{Width: 8}, "width 8"},
		{"height too big", Request{Height: 20000}, "height 20000"},
		{"batch", Request{BatchSize: -2}, "batch size -2"},
		{"lora without name", Request{Loras: []Lora{{Name: " ", Strength: 1}}}, "loras[0]: empty name"},
		{"lora strength", Request{Loras: []Lora{{Name: "a", Strength: 200}}}, "strength 200"},
		{"lora strength inf", Request{Loras: []Lora{{Name: "a", Strength: math.Inf(1)}}},
			"strength +Inf"},
		{"absolute prefix", Request{FilenamePrefix: "/etc/x"}, "want a relative path"},
		{"windows prefix", Request{FilenamePrefix: `C:\x`}, "want a relative path"},
		{"escaping prefix", Request{FilenamePrefix: "a/../../x"}, `".." would leave`},
		{"prefix ends with slash", Request{FilenamePrefix: "atelier/"}, "ends with a separator"},
		{"prefix control", Request{FilenamePrefix: "a\nb"}, "control character"},
		{"prefix too long", Request{FilenamePrefix: strings.Repeat("a", 201)}, "201 bytes"},
		{"several", Request{Steps: -1, Width: 1}, "width 1"},
		{"bad params", Request{Params: Params{"sed": {"3.seed"}}}, `unknown injection point "sed"`},
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
}

func TestRenderAcceptsEdgeValues(t *testing.T) {
	zero, hundred := 0.0, 100.0
	g := mustParse(t, fixture(t, "sdxl.json"))
	r := Request{Prompt: "p", Seed: 0, Steps: 10000, CFG: &zero, Guidance: &hundred,
		Width: 16, Height: 16384, BatchSize: 4096, FilenamePrefix: "atelier/2025/job-1",
		Loras: []Lora{{Name: "a", Strength: -100}, {Name: "b", Strength: 100}}}
	out, err := g.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"seed":0`, `"steps":10000`, `"cfg":0`, `"width":16`,
		`"height":16384`, `"batch_size":4096`, `"strength_model":-100`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %s", want)
		}
	}
}

func TestRenderRefusesProblems(t *testing.T) {
	tests := []struct {
		fixture string
		want    string
	}{
		{"no_output.json", "no output point"},
		{"width_link_custom.json", `node "12" (CR SDXL Aspect Ratio)`},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			_, err := mustParse(t, fixture(t, tt.fixture)).Render(Request{Prompt: "p"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestExplicitParams names the points of the custom width node, which
// discovery cannot resolve, and checks they override discovery.
func TestExplicitParams(t *testing.T) {
	g := mustParse(t, fixture(t, "width_link_custom.json"))
	p := Params{
		"width": {"12.width"}, "height": {"12.height"}, "batch_size": {"12.batch_size"},
		"negative_prompt": {"7.text", "7.text"},
	}
	ins, err := g.Inspect(p)
	if err != nil {
		t.Fatal(err)
	}
	if probs := ins.Problems(); len(probs) > 0 {
		t.Fatalf("problems with params: %v", probs)
	}
	if !ins.Point(PointWidth).Explicit || ins.Point(PointSeed).Explicit {
		t.Errorf("explicit flags wrong: width %v, seed %v", ins.Point(PointWidth).Explicit,
			ins.Point(PointSeed).Explicit)
	}
	if got := len(ins.Point(PointNegativePrompt).Targets); got != 1 {
		t.Errorf("duplicate ref gave %d targets, want 1", got)
	}
	out, err := g.Render(Request{Prompt: "p", Width: 1344, Height: 768, BatchSize: 3, Params: p})
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, out)
	custom := got["12"].(map[string]any)["inputs"].(map[string]any)
	want := map[string]any{"width": json.Number("1344"), "height": json.Number("768"),
		"batch_size": json.Number("3")}
	for k, v := range want {
		if custom[k] != v {
			t.Errorf("12.%s = %v, want %v", k, custom[k], v)
		}
	}
	latent := got["5"].(map[string]any)["inputs"].(map[string]any)
	if diff := cmp.Diff([]any{"12", "0"}, asStrings(latent["width"])); diff != "" {
		t.Errorf("latent width link changed (-want +got):\n%s", diff)
	}
}

// TestExplicitModelLoader picks a loader through params.model in a graph
// with two loaders: LoRAs follow the named one.
func TestExplicitModelLoader(t *testing.T) {
	g := mustParse(t, fixture(t, "two_samplers.json"))
	ins, err := g.Inspect(Params{"model": {"2.ckpt_name"}})
	if err != nil {
		t.Fatal(err)
	}
	if ins.Loader.Node != "2" {
		t.Fatalf("loader = %s, want 2", ins.Loader.Node)
	}
	if diff := cmp.Diff([]string{"11.model"}, refStrings(ins.Loader.ModelConsumers)); diff != "" {
		t.Errorf("model consumers (-want +got):\n%s", diff)
	}
}

func TestParamsUnmarshal(t *testing.T) {
	var p Params
	err := json.Unmarshal([]byte(`{"prompt":"6.text","seed":["3.seed","20.noise_seed"]}`), &p)
	if err != nil {
		t.Fatal(err)
	}
	want := Params{"prompt": {"6.text"}, "seed": {"3.seed", "20.noise_seed"}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`[]`, `{"seed":3}`, `{"seed":[3]}`} {
		if err := json.Unmarshal([]byte(bad), &p); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		params  Params
		want    []Problem
	}{
		{name: "fine", fixture: "sdxl.json"},
		{name: "fine with params", fixture: "sdxl.json",
			params: Params{"prompt": {"6.text"}, "seed": {"3.seed"}}},
		{name: "no output", fixture: "no_output.json", want: []Problem{{"workflow_json",
			"no output point: no SaveImage node; PreviewImage node 9 writes only temporary " +
				"files; name it in params.output"}}},
		{name: "params name the custom size node", fixture: "width_link_custom.json",
			params: Params{"width": {"12.width"}, "height": {"12.height"},
				"batch_size": {"12.batch_size"}}},
		{name: "width from a custom node", fixture: "width_link_custom.json", want: []Problem{
			{"workflow_json", `width: node "5" (EmptyLatentImage) input "width" is a link to ` +
				`node "12" (CR SDXL Aspect Ratio), which the engine does not understand; name ` +
				`the point in params.width`},
			{"workflow_json", `height: node "5" (EmptyLatentImage) input "height" is a link ` +
				`to node "12" (CR SDXL Aspect Ratio), which the engine does not understand; ` +
				`name the point in params.height`},
			{"workflow_json", `batch_size: node "5" (EmptyLatentImage) input "batch_size" is ` +
				`a link to node "12" (CR SDXL Aspect Ratio), which the engine does not ` +
				`understand; name the point in params.batch_size`},
		}},
		{name: "bad params", fixture: "sdxl.json", params: Params{
			"sed": {"3.seed"}, "prompt": {"6"}, "seed": {"99.seed"}, "cfg": {"3.cgf"},
			"steps": {},
		}, want: []Problem{
			{"params.cfg", `3.cgf: node "3" (KSampler) has no input "cgf"; its inputs are: ` +
				`seed, steps, cfg, sampler_name, scheduler, denoise, model, positive, ` +
				`negative, latent_image`},
			{"params.prompt", `"6" is not "node.input" (for example "6.text")`},
			{"params.sed", `unknown injection point "sed"; known points: prompt, ` +
				`negative_prompt, seed, steps, cfg, guidance, sampler, scheduler, width, ` +
				`height, batch_size, model, output`},
			{"params.seed", `99.seed: node "99" is not in the graph`},
			{"params.steps", `empty list; name at least one "node.input"`},
		}},
		{name: "explicit points on links", fixture: "sdxl.json", params: Params{
			"prompt": {"6.clip"}, "negative_prompt": {"7.text", "7.clip"},
			"seed": {"3.model"}, "width": {"3.latent_image"}, "model": {"9.images"},
			"sampler": {"3.sampler_name", "3.positive"}, "scheduler": {"3.negative"},
		}, want: []Problem{
			{"params.model", "9.images holds a link (to node 8), not a value; name the " +
				"input that holds the model file name"},
			{"params.negative_prompt", "7.clip holds a link (to node 4), not a value; name " +
				"the input that holds the text"},
			{"params.prompt", "6.clip holds a link (to node 4), not a value; name the input " +
				"that holds the text"},
			{"params.sampler", "3.positive holds a link (to node 6), not a value; name the " +
				"input that holds the sampler name"},
			{"params.scheduler", "3.negative holds a link (to node 7), not a value; name " +
				"the input that holds the scheduler name"},
			{"params.seed", "3.model holds a link (to node 4), not a value; name the input " +
				"that holds the seed"},
			{"params.width", "3.latent_image holds a link (to node 5), not a value; name " +
				"the input that holds the width"},
		}},
		{name: "explicit point on a primitive's link", fixture: "width_link_primitive.json",
			params: Params{"width": {"5.width"}}, want: []Problem{{"params.width",
				"5.width holds a link (to node 20), not a value; name the input that holds " +
					"the width, here 20.value"}}},
		{name: "explicit point on the primitive", fixture: "width_link_primitive.json",
			params: Params{"width": {"20.value"}, "prompt": {"21.value"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check(fixture(t, tt.fixture), tt.params)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckTemplateValues checks the template's values of numeric points
// against the ranges ComfyUI accepts.
func TestCheckTemplateValues(t *testing.T) {
	sampler := func(seed, steps, cfg string) string {
		return `{"class_type":"KSampler","inputs":{"seed":` + seed + `,"steps":` + steps +
			`,"cfg":` + cfg + `,"model":["1",0],"positive":["2",0],"negative":["3",0],` +
			`"latent_image":["4",0]}}`
	}
	latent := func(w, h, b string) string {
		return `{"class_type":"EmptyLatentImage","inputs":{"width":` + w + `,"height":` + h +
			`,"batch_size":` + b + `}}`
	}
	tests := []struct {
		name   string
		extra  map[string]string
		params Params
		want   []string // messages, in order
	}{
		{name: "edges of every range", extra: map[string]string{
			"4": latent("16", "16384", "4096"),
			"5": sampler("18446744073709551615", "10000", "100"),
		}},
		{name: "low edges and other spellings", extra: map[string]string{
			"4": latent("16.0", "1.6e4", "1"), "5": sampler("0", "1", "0.0"),
		}},
		{name: "seed as a float", extra: map[string]string{"5": sampler("1e3", "20", "7")}},
		{name: "huge steps", extra: map[string]string{
			"5": sampler("1", "123456789012345678901234567890", "7"),
		}, want: []string{"steps: 5.steps is 123456789012345678901234567890, outside " +
			"ComfyUI's range 1…10000"}},
		{name: "seeds out of range", extra: map[string]string{
			"5": sampler("18446744073709551616", "20", "7"),
		}, want: []string{"seed: 5.seed is 18446744073709551616, outside ComfyUI's range " +
			"0…18446744073709551615"}},
		{name: "negative seed", extra: map[string]string{"5": sampler("-1", "20", "7")},
			want: []string{"seed: 5.seed is -1, outside ComfyUI's range 0…18446744073709551615"}},
		{name: "every point wrong", extra: map[string]string{
			"4": latent("8", "16385", "0"), "5": sampler(`"7"`, "0", "100.5"),
			"8": `{"class_type":"FluxGuidance","inputs":{"guidance":-0.5,"conditioning":["2",0]}}`,
		}, want: []string{
			`seed: 5.seed is "7", a string, not a number`,
			"steps: 5.steps is 0, outside ComfyUI's range 1…10000",
			"cfg: 5.cfg is 100.5, outside ComfyUI's range 0…100",
			"guidance: 8.guidance is -0.5, outside ComfyUI's range 0…100",
			"width: 4.width is 8, outside ComfyUI's range 16…16384",
			"height: 4.height is 16385, outside ComfyUI's range 16…16384",
			"batch_size: 4.batch_size is 0, outside ComfyUI's range 1…4096",
		}},
		{name: "not numbers", extra: map[string]string{
			"4": latent("null", "true", `{"a":1}`), "5": sampler("1", "1e999", "7"),
		}, want: []string{
			"steps: 5.steps is 1e999, outside ComfyUI's range 1…10000",
			"width: 4.width is null, null, not a number",
			"height: 4.height is true, a boolean, not a number",
			`batch_size: 4.batch_size is {"a":1}, an object, not a number`,
		}},
		{name: "long value cut", extra: map[string]string{
			"5": sampler("1", "1"+strings.Repeat("0", 60), "7"),
		}, want: []string{"steps: 5.steps is 1" + strings.Repeat("0", 38) + "…, outside " +
			"ComfyUI's range 1…10000"}},
		{name: "value behind a primitive", extra: map[string]string{
			"4": `{"class_type":"EmptyLatentImage","inputs":{"width":["8",0],"height":512,` +
				`"batch_size":1}}`,
			"8": `{"class_type":"PrimitiveInt","inputs":{"value":99999}}`,
		}, want: []string{"width: 8.value is 99999, outside ComfyUI's range 16…16384"}},
		{name: "explicit point", extra: map[string]string{
			"8": `{"class_type":"MySize","inputs":{"w":4}}`,
		}, params: Params{"width": {"8.w"}},
			want: []string{"width: 8.w is 4, outside ComfyUI's range 16…16384"}},
		{name: "names that are not strings", extra: map[string]string{
			"5": `{"class_type":"KSampler","inputs":{"seed":1,"steps":20,"cfg":7,` +
				`"sampler_name":3,"scheduler":null,"model":["1",0],"positive":["2",0],` +
				`"negative":["3",0],"latent_image":["4",0]}}`,
			"8": `{"class_type":"KSamplerSelect","inputs":{"sampler_name":{"a":1}}}`,
			"9": `{"class_type":"BasicScheduler","inputs":{"scheduler":"karras","steps":4,` +
				`"model":["1",0]}}`,
		}, want: []string{
			"sampler: 5.sampler_name is 3, a number, not a string",
			`sampler: 8.sampler_name is {"a":1}, an object, not a string`,
			"scheduler: 5.scheduler is null, null, not a string",
		}},
		{name: "names any string", extra: map[string]string{
			"8": `{"class_type":"KSamplerSelect","inputs":{"sampler_name":"my custom"}}`,
			"9": `{"class_type":"BasicScheduler","inputs":{"scheduler":"","steps":4,` +
				`"model":["1",0]}}`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range Check(graphWith(t, tt.extra), tt.params) {
				if p.Field != "workflow_json" {
					t.Errorf("problem field %q, want workflow_json", p.Field)
				}
				got = append(got, p.Message)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderLorasNeedAConsumer checks that LoRAs are refused when nothing
// reads the loader's MODEL output, instead of being left dangling.
func TestRenderLorasNeedAConsumer(t *testing.T) {
	// The sampler's model comes from a custom node; the checkpoint serves
	// only CLIP and VAE.
	g := mustParse(t, graphWith(t, map[string]string{
		"5": `{"class_type":"KSampler","inputs":{"seed":1,"steps":20,"cfg":7,` +
			`"model":["8",0],"positive":["2",0],"negative":["3",0],"latent_image":["4",0]}}`,
		"8": `{"class_type":"MyModelLoader","inputs":{"file":"m"}}`,
	}))
	ins, err := g.Inspect(nil)
	if err != nil {
		t.Fatal(err)
	}
	wantNote := `node "1": the model loader's MODEL output is not used by any node, so ` +
		`Render refuses requested LoRAs`
	if diff := cmp.Diff([]string{wantNote}, ins.Point(PointModel).Notes); diff != "" {
		t.Errorf("model notes (-want +got):\n%s", diff)
	}
	if _, err := g.Render(Request{Prompt: "p"}); err != nil {
		t.Errorf("Render without LoRAs: %v", err)
	}
	_, err = g.Render(Request{Prompt: "p", Loras: oneLora})
	want := `inserting LoRAs: node "1" (CheckpointLoaderSimple): the model loader's MODEL ` +
		`output is not used by any node; the LoRA chain would have no effect`
	if err == nil || err.Error() != want {
		t.Errorf("Render with a LoRA: error = %v, want %q", err, want)
	}
}

// TestReplaceLorasKeepsLinksWhole checks that removing a template LoRA whose
// missing output 1 is read fails rather than leaving a dangling link.
func TestReplaceLorasKeepsLinksWhole(t *testing.T) {
	g := mustParse(t, graphWith(t, map[string]string{
		"5": `{"class_type":"KSampler","inputs":{"seed":1,"steps":20,"cfg":7,` +
			`"model":["8",0],"positive":["2",0],"negative":["3",0],"latent_image":["4",0]}}`,
		"8": `{"class_type":"LoraLoaderModelOnly","inputs":{"lora_name":"l","strength_model":1,` +
			`"model":["1",0]}}`,
		"9": `{"class_type":"Custom","inputs":{"x":["8",1]}}`,
	}))
	_, err := g.Render(Request{Prompt: "p", ReplaceLoras: true})
	want := `removing template LoRAs: node "8" (LoraLoaderModelOnly): node "9" input "x" ` +
		`reads its output 1, which nothing can replace`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	if _, err := g.Render(Request{Prompt: "p", Loras: oneLora}); err != nil {
		t.Errorf("keeping the template LoRA: %v", err)
	}
}

func TestCheckNotAPI(t *testing.T) {
	tests := map[string]string{
		"ui":      `{"last_node_id":1,"nodes":[],"links":[]}`,
		"garbage": `{"a":1}`,
		"broken":  `{"1":`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			probs := Check([]byte(in), nil)
			if len(probs) != 1 || probs[0].Field != "workflow_json" {
				t.Errorf("Check = %v, want one workflow_json problem", probs)
			}
		})
	}
}

// graphWith builds a small SD graph, replacing or adding nodes.
func graphWith(t *testing.T, extra map[string]string) []byte {
	t.Helper()
	nodes := map[string]string{
		"1": `{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"m.safetensors"}}`,
		"2": `{"class_type":"CLIPTextEncode","inputs":{"text":"pos","clip":["1",1]}}`,
		"3": `{"class_type":"CLIPTextEncode","inputs":{"text":"neg","clip":["1",1]}}`,
		"4": `{"class_type":"EmptyLatentImage","inputs":{"width":512,"height":512,"batch_size":1}}`,
		"5": `{"class_type":"KSampler","inputs":{"seed":1,"steps":20,"cfg":7,` +
			`"sampler_name":"euler","scheduler":"normal","denoise":1,"model":["1",0],` +
			`"positive":["2",0],"negative":["3",0],"latent_image":["4",0]}}`,
		"6": `{"class_type":"VAEDecode","inputs":{"samples":["5",0],"vae":["1",2]}}`,
		"7": `{"class_type":"SaveImage","inputs":{"filename_prefix":"x","images":["6",0]}}`,
	}
	for k, v := range extra {
		nodes[k] = v
	}
	var b strings.Builder
	b.WriteString("{")
	for _, id := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		if n, ok := nodes[id]; ok {
			if b.Len() > 1 {
				b.WriteString(",")
			}
			b.WriteString(`"` + id + `":` + n)
		}
	}
	b.WriteString("}")
	return []byte(b.String())
}

func TestDiscoveryEdgeCases(t *testing.T) {
	tests := []struct {
		name      string
		extra     map[string]string
		points    map[string][]string // only the points listed are compared
		problems  []string            // substrings, in order
		negMissig string
	}{
		{
			name: "one encoder feeds both sides",
			extra: map[string]string{"5": `{"class_type":"KSampler","inputs":{"seed":1,` +
				`"steps":20,"cfg":1,"model":["1",0],"positive":["2",0],"negative":["2",0],` +
				`"latent_image":["4",0]}}`},
			points:    map[string][]string{"prompt": {"2.text"}, "negative_prompt": nil},
			negMissig: "comes from the positive prompt's encoder",
		},
		{
			name: "width and height share one primitive",
			extra: map[string]string{
				"4": `{"class_type":"EmptyLatentImage","inputs":{"width":["8",0],` +
					`"height":["8",0],"batch_size":1}}`,
				"8": `{"class_type":"PrimitiveInt","inputs":{"value":512}}`,
			},
			points:   map[string][]string{"width": {"8.value"}, "height": {"8.value"}},
			problems: []string{"8.value is set by both width and height"},
		},
		{
			name: "conditioning from an unknown node",
			extra: map[string]string{
				"2": `{"class_type":"MyPromptNode","inputs":{"style":"x"}}`,
			},
			points: map[string][]string{"prompt": nil},
			problems: []string{`prompt: node "2" (MyPromptNode) feeds the positive ` +
				`conditioning and the engine does not understand it`},
		},
		{
			name: "combine two encoders",
			extra: map[string]string{
				"5": `{"class_type":"KSampler","inputs":{"seed":1,"steps":20,"cfg":7,` +
					`"model":["1",0],"positive":["8",0],"negative":["3",0],"latent_image":["4",0]}}`,
				"8": `{"class_type":"ConditioningCombine","inputs":{"conditioning_1":["2",0],` +
					`"conditioning_2":["9",0]}}`,
				"9": `{"class_type":"CLIPTextEncode","inputs":{"text":"more","clip":["1",1]}}`,
			},
			points: map[string][]string{"prompt": {"2.text", "9.text"}},
		},
		{
			name: "seed from a custom node",
			extra: map[string]string{
				"5": `{"class_type":"KSampler","inputs":{"seed":["8",0],"steps":20,"cfg":7,` +
					`"model":["1",0],"positive":["2",0],"negative":["3",0],"latent_image":["4",0]}}`,
				"8": `{"class_type":"Seed (rgthree)","inputs":{"seed":-1}}`,
			},
			points: map[string][]string{"seed": nil},
			problems: []string{`seed: node "5" (KSampler) input "seed" is a link to node "8" ` +
				`(Seed (rgthree))`},
		},
		{
			name: "no loader",
			extra: map[string]string{
				"1": `{"class_type":"SomeLoader","inputs":{"file":"m"}}`,
			},
			points:   map[string][]string{"model": nil},
			problems: []string{"no model point: no model loader"},
		},
		{
			name: "two loaders feeding the first sampler",
			extra: map[string]string{
				"5": `{"class_type":"KSampler","inputs":{"seed":1,"steps":20,"cfg":7,` +
					`"model":["9",0],"positive":["2",0],"negative":["3",0],"latent_image":["4",0]}}`,
				"8": `{"class_type":"UNETLoader","inputs":{"unet_name":"a"}}`,
				"9": `{"class_type":"ModelMergeSimple","inputs":{"model1":["1",0],` +
					`"model2":["8",0],"ratio":0.5}}`,
			},
			points:   map[string][]string{"model": nil},
			problems: []string{"several model loaders (nodes 1, 8)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustParse(t, graphWith(t, tt.extra))
			ins, err := g.Inspect(nil)
			if err != nil {
				t.Fatal(err)
			}
			got := pointRefs(ins)
			for name, want := range tt.points {
				if diff := cmp.Diff(want, got[name]); diff != "" {
					t.Errorf("point %s (-want +got):\n%s", name, diff)
				}
			}
			probs := ins.Problems()
			if len(probs) != len(tt.problems) {
				t.Fatalf("problems = %v, want %d", probs, len(tt.problems))
			}
			for i, want := range tt.problems {
				if !strings.Contains(probs[i].Message, want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, probs[i].Message, want)
				}
			}
			if miss := ins.Point(PointNegativePrompt).Missing; !strings.Contains(miss, tt.negMissig) {
				t.Errorf("negative missing = %q, want %q", miss, tt.negMissig)
			}
		})
	}
}

// TestNewIDs checks that inserted nodes continue the numeric ids and never
// collide, whatever the template's ids.
func TestNewIDs(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
		want []string
	}{
		{"numeric", []string{"3", "10", "7"}, []string{"11", "12"}},
		{"none numeric", []string{"a:1", "a:2"}, []string{"1", "2"}},
		{"mixed", []string{"115:89", "9"}, []string{"10", "11"}},
		{"at the top", []string{"18446744073709551614"},
			[]string{"atelier-lora-1", "atelier-lora-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Graph{order: tt.ids, nodes: map[string]*node{}}
			for _, id := range tt.ids {
				g.nodes[id] = &node{id: id}
			}
			if diff := cmp.Diff(tt.want, g.newIDs(2)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

package workflow

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixtureExpect is written by hand for the files under testdata/.
var fixtureExpect = map[string]expect{
	"sdxl.json": {
		points: map[string][]string{
			"sampler": {"3.sampler_name"}, "scheduler": {"3.scheduler"},
			"prompt": {"6.text"}, "negative_prompt": {"7.text"}, "seed": {"3.seed"},
			"steps": {"3.steps"}, "cfg": {"3.cfg"},
			"width": {"5.width"}, "height": {"5.height"}, "batch_size": {"5.batch_size"},
			"model": {"4.ckpt_name"}, "output": {"9.filename_prefix"},
		},
		loader: "4", modelUsers: []string{"3.model"}, clipUsers: []string{"6.clip", "7.clip"},
		loraClass: "LoraLoader",
	},
	"lossless.json": {
		points: map[string][]string{
			"sampler": {"3.sampler_name"}, "scheduler": {"3.scheduler"},
			"prompt": {"6.text"}, "negative_prompt": {"7.text"}, "seed": {"3.seed"},
			"steps": {"3.steps"}, "cfg": {"3.cfg"},
			"width": {"5.width"}, "height": {"5.height"}, "batch_size": {"5.batch_size"},
			"model": {"4.ckpt_name"}, "output": {"9.filename_prefix"},
		},
		loader: "4", modelUsers: []string{"3.model"}, clipUsers: []string{"6.clip", "7.clip"},
		loraClass: "LoraLoader",
	},
	"nonnumeric_ids.json": {
		points: map[string][]string{
			"sampler": {"115:93.sampler_name"}, "scheduler": {"115:93.scheduler"},
			"prompt": {"115:90.text"}, "negative_prompt": {"115:91.text"},
			"seed": {"115:93.seed"}, "steps": {"115:93.steps"}, "cfg": {"115:93.cfg"},
			"width": {"115:92.width"}, "height": {"115:92.height"},
			"batch_size": {"115:92.batch_size"}, "model": {"115:89.ckpt_name"},
			"output": {"7.filename_prefix"},
		},
		loader: "115:89", modelUsers: []string{"115:93.model"},
		clipUsers: []string{"115:90.clip", "115:91.clip"}, loraClass: "LoraLoader",
	},
	"missing_meta.json": {
		points: map[string][]string{
			"sampler": {"5.sampler_name"}, "scheduler": {"5.scheduler"},
			"prompt": {"2.text"}, "negative_prompt": {"3.text"}, "seed": {"5.seed"},
			"steps": {"5.steps"}, "cfg": {"5.cfg"},
			"width": {"4.width"}, "height": {"4.height"}, "batch_size": {"4.batch_size"},
			"model": {"1.ckpt_name"}, "output": {"7.filename_prefix"},
		},
		loader: "1", modelUsers: []string{"5.model"}, clipUsers: []string{"2.clip", "3.clip"},
		loraClass: "LoraLoader",
	},
	"width_link_primitive.json": {
		// Width and prompt come from core primitive nodes, followed to their value.
		points: map[string][]string{
			"sampler": {"3.sampler_name"}, "scheduler": {"3.scheduler"},
			"prompt": {"21.value"}, "negative_prompt": {"7.text"}, "seed": {"3.seed"},
			"steps": {"3.steps"}, "cfg": {"3.cfg"},
			"width": {"20.value"}, "height": {"5.height"}, "batch_size": {"5.batch_size"},
			"model": {"4.ckpt_name"}, "output": {"9.filename_prefix"},
		},
		loader: "4", modelUsers: []string{"3.model"}, clipUsers: []string{"6.clip", "7.clip"},
		loraClass: "LoraLoader",
	},
	"two_samplers.json": {
		// Base KSampler and refiner KSamplerAdvanced: the base loader is the one
		// whose model reaches the sampler fed by the empty latent.
		points: map[string][]string{
			"sampler":         {"10.sampler_name", "11.sampler_name"},
			"scheduler":       {"10.scheduler", "11.scheduler"},
			"prompt":          {"3.text_g", "3.text_l", "5.text"},
			"negative_prompt": {"4.text", "6.text"},
			"seed":            {"10.seed", "11.noise_seed"},
			"steps":           {"10.steps", "11.steps"}, "cfg": {"10.cfg", "11.cfg"},
			"width": {"7.width"}, "height": {"7.height"}, "batch_size": {"7.batch_size"},
			"model": {"1.ckpt_name"}, "output": {"13.filename_prefix"},
		},
		loader: "1", modelUsers: []string{"10.model"}, clipUsers: []string{"3.clip", "4.clip"},
		loraClass: "LoraLoader", split: map[string]string{"11.start_at_step": "10"},
	},
	"flux_split_basic.json": {
		// UNETLoader feeds ModelSamplingFlux and BasicScheduler directly; the
		// size also goes to ModelSamplingFlux.
		points: map[string][]string{
			"sampler": {"16.sampler_name"}, "scheduler": {"17.scheduler"},
			"prompt": {"6.text"}, "seed": {"25.noise_seed"}, "steps": {"17.steps"},
			"guidance": {"26.guidance"},
			"width":    {"27.width", "30.width"}, "height": {"27.height", "30.height"},
			"batch_size": {"27.batch_size"}, "model": {"12.unet_name"},
			"output": {"9.filename_prefix"},
		},
		loader: "12", modelUsers: []string{"17.model", "30.model"},
		loraClass: "LoraLoaderModelOnly",
	},
	"flux_split_cfg.json": {
		points: map[string][]string{
			"sampler": {"49.sampler_name"}, "scheduler": {"47.scheduler"},
			"prompt": {"43.clip_l", "43.t5xxl"}, "negative_prompt": {"44.text"},
			"seed": {"48.noise_seed"}, "steps": {"47.steps"}, "cfg": {"46.cfg"},
			"guidance": {"43.guidance"},
			"width":    {"45.width", "50.width"}, "height": {"45.height", "50.height"},
			"batch_size": {"50.batch_size"}, "model": {"40.unet_name"},
			"output": {"53.filename_prefix"},
		},
		loader: "40", modelUsers: []string{"45.model", "47.model"},
		loraClass: "LoraLoaderModelOnly",
	},
	"lora_present.json": {
		points: map[string][]string{
			"sampler": {"7.sampler_name"}, "scheduler": {"7.scheduler"},
			"prompt": {"4.text"}, "negative_prompt": {"5.text"}, "seed": {"7.seed"},
			"steps": {"7.steps"}, "cfg": {"7.cfg"},
			"width": {"6.width"}, "height": {"6.height"}, "batch_size": {"6.batch_size"},
			"model": {"1.ckpt_name"}, "output": {"9.filename_prefix"},
		},
		loader: "1", modelUsers: []string{"2.model"}, clipUsers: []string{"2.clip"},
		loraClass: "LoraLoader", templateLoras: []string{"2", "3"},
	},
	"controlnet.json": {
		// ControlNetApplyAdvanced: output 0 is the positive, output 1 the negative.
		points: map[string][]string{
			"sampler": {"8.sampler_name"}, "scheduler": {"8.scheduler"},
			"prompt": {"2.text"}, "negative_prompt": {"3.text"}, "seed": {"8.seed"},
			"steps": {"8.steps"}, "cfg": {"8.cfg"},
			"width": {"7.width"}, "height": {"7.height"}, "batch_size": {"7.batch_size"},
			"model": {"1.ckpt_name"}, "output": {"10.filename_prefix"},
		},
		loader: "1", modelUsers: []string{"8.model"}, clipUsers: []string{"2.clip", "3.clip"},
		loraClass: "LoraLoader",
	},
}

// TestFixtures inspects every usable fixture and renders it with no, one and
// two LoRAs, comparing with the graph built from the hand-written expectation.
func TestFixtures(t *testing.T) {
	for name, want := range fixtureExpect {
		t.Run(name, func(t *testing.T) { testAPIFile(t, fixture(t, name), want) })
	}
}

// TestRenderGolden keeps one rendered graph per fixture under testdata/golden.
func TestRenderGolden(t *testing.T) {
	cfg := 3.5
	tests := []struct {
		name    string
		fixture string
		req     Request
	}{
		{"sdxl_two_loras", "sdxl.json", Request{Prompt: "a red bicycle", Seed: 42,
			Loras: twoLoras, FilenamePrefix: "atelier/job-1"}},
		{"lossless_keep_seed", "lossless.json", Request{Prompt: "kept numbers", KeepSeed: true}},
		{"nonnumeric_ids_one_lora", "nonnumeric_ids.json", Request{Prompt: "x", Seed: 1,
			Loras: oneLora}},
		{"missing_meta_size", "missing_meta.json", Request{Prompt: "x", Seed: 2, Width: 768,
			Height: 512}},
		{"width_link_primitive", "width_link_primitive.json", Request{Prompt: "p", Seed: 3,
			Width: 1344}},
		{"two_samplers_one_lora", "two_samplers.json", Request{Prompt: "a tower",
			NegativePrompt: "fog", Seed: 9, Steps: 30, CFG: &cfg, Loras: oneLora}},
		{"flux_split_basic_two_loras", "flux_split_basic.json", Request{Prompt: "a kite",
			Seed: 10, Width: 1216, Height: 832, Loras: twoLoras}},
		{"flux_split_cfg_two_loras", "flux_split_cfg.json", Request{Prompt: "a kite",
			NegativePrompt: "rain", Seed: 11, Loras: twoLoras, FilenamePrefix: "job-11"}},
		{"lora_present_keep", "lora_present.json", Request{Prompt: "p", Seed: 12,
			Loras: oneLora}},
		{"lora_present_replace", "lora_present.json", Request{Prompt: "p", Seed: 12,
			Loras: twoLoras, ReplaceLoras: true}},
		{"lora_present_replace_none", "lora_present.json", Request{Prompt: "p", Seed: 12,
			ReplaceLoras: true}},
		{"controlnet", "controlnet.json", Request{Prompt: "a barn", NegativePrompt: "people",
			Seed: 13}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := mustParse(t, fixture(t, tt.fixture)).Render(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".json", indent(t, out))
		})
	}
}

// TestReplaceLoras checks the rewiring when the template's LoRAs are removed.
func TestReplaceLoras(t *testing.T) {
	g := mustParse(t, fixture(t, "lora_present.json"))
	out, err := g.Render(Request{Prompt: "p", KeepSeed: true, Loras: oneLora, ReplaceLoras: true})
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, out)
	for _, gone := range []string{"2", "3"} {
		if _, ok := got[gone]; ok {
			t.Errorf("template LoRA node %s is still there", gone)
		}
	}
	input := func(node, name string) any {
		return got[node].(map[string]any)["inputs"].(map[string]any)[name]
	}
	wantLinks := map[string][]any{
		"7.model": {"10", "0"}, "4.clip": {"10", "1"}, "5.clip": {"10", "1"},
		"10.model": {"1", "0"}, "10.clip": {"1", "1"},
	}
	for ref, want := range wantLinks {
		r, _ := ParseRef(ref)
		if diff := cmp.Diff(want, asStrings(input(r.Node, r.Input))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", ref, diff)
		}
	}
}

// TestKeepTemplateLoras checks that template LoRAs stay, after the new chain.
func TestKeepTemplateLoras(t *testing.T) {
	g := mustParse(t, fixture(t, "lora_present.json"))
	out, err := g.Render(Request{Prompt: "p", KeepSeed: true, Loras: twoLoras})
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, out)
	tmpl := got["2"].(map[string]any)["inputs"].(map[string]any)
	if diff := cmp.Diff([]any{"11", "0"}, asStrings(tmpl["model"])); diff != "" {
		t.Errorf("template LoRA 2 model (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{"11", "1"}, asStrings(tmpl["clip"])); diff != "" {
		t.Errorf("template LoRA 2 clip (-want +got):\n%s", diff)
	}
	if got["3"] == nil || !strings.Contains(string(out), `"style/watercolor.safetensors"`) {
		t.Errorf("template LoRAs were removed: %s", out)
	}
}

// asStrings turns a decoded link into strings for comparison.
func asStrings(v any) []any {
	l, _ := v.([]any)
	out := make([]any, len(l))
	for i, x := range l {
		if s, ok := x.(interface{ String() string }); ok {
			out[i] = s.String()
		} else {
			out[i] = x
		}
	}
	return out
}

package workflow

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sharedExpect is written by hand from reading each file in ../shared/workflows.
var sharedExpect = map[string]expect{
	"api_flux1-dev_fp8-checkpoint_fluxguidance__replicate.json": {
		points: map[string][]string{
			"sampler": {"31.sampler_name"}, "scheduler": {"31.scheduler"},
			"prompt": {"6.text"}, "negative_prompt": {"33.text"}, "seed": {"31.seed"},
			"steps": {"31.steps"}, "cfg": {"31.cfg"}, "guidance": {"35.guidance"},
			"width": {"27.width"}, "height": {"27.height"}, "batch_size": {"27.batch_size"},
			"model": {"30.ckpt_name"}, "output": {"9.filename_prefix"},
		},
		loader: "30", modelUsers: []string{"31.model"}, clipUsers: []string{"6.clip", "33.clip"},
		loraClass: "LoraLoader",
	},
	"api_flux1-dev_loraloader-url-as-lora_name__replicate.json": {
		// The negative is ConditioningZeroOut of the positive encoder: no point.
		points: map[string][]string{
			"sampler": {"3.sampler_name"}, "scheduler": {"3.scheduler"},
			"prompt": {"4.text"}, "seed": {"3.seed"}, "steps": {"3.steps"}, "cfg": {"3.cfg"},
			"width": {"6.width"}, "height": {"6.height"}, "batch_size": {"6.batch_size"},
			"model": {"1.ckpt_name"}, "output": {"8.filename_prefix"},
		},
		loader: "1", modelUsers: []string{"2.model"}, clipUsers: []string{"2.clip"},
		loraClass: "LoraLoader", templateLoras: []string{"2"},
	},
	"api_flux1-schnell_fp8-checkpoint_ksampler__salad.json": {
		points: map[string][]string{
			"sampler": {"31.sampler_name"}, "scheduler": {"31.scheduler"},
			"prompt": {"6.text"}, "negative_prompt": {"33.text"}, "seed": {"31.seed"},
			"steps": {"31.steps"}, "cfg": {"31.cfg"},
			"width": {"27.width"}, "height": {"27.height"}, "batch_size": {"27.batch_size"},
			"model": {"30.ckpt_name"}, "output": {"9.filename_prefix"},
		},
		loader: "30", modelUsers: []string{"31.model"}, clipUsers: []string{"6.clip", "33.clip"},
		loraClass: "LoraLoader",
	},
	"api_sd15_txt2img__salad.json": {
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
	"api_sd35-medium_tripleclip__salad.json": {
		// The negative reaches 71 directly and through ConditioningZeroOut; the
		// checkpoint's CLIP is unused (TripleCLIPLoader feeds the encoders).
		points: map[string][]string{
			"sampler": {"294.sampler_name"}, "scheduler": {"294.scheduler"},
			"prompt": {"6.text"}, "negative_prompt": {"71.text"}, "seed": {"294.seed"},
			"steps": {"294.steps"}, "cfg": {"294.cfg"},
			"width": {"135.width"}, "height": {"135.height"}, "batch_size": {"135.batch_size"},
			"model": {"4.ckpt_name"}, "output": {"301.filename_prefix"},
		},
		loader: "4", modelUsers: []string{"13.model"}, loraClass: "LoraLoaderModelOnly",
	},
	"api_sdxl-lightning_loraloadermodelonly__replicate.json": {
		points: map[string][]string{
			"sampler": {"3.sampler_name"}, "scheduler": {"3.scheduler"},
			"prompt": {"6.text"}, "negative_prompt": {"7.text"}, "seed": {"3.seed"},
			"steps": {"3.steps"}, "cfg": {"3.cfg"},
			"width": {"5.width"}, "height": {"5.height"}, "batch_size": {"5.batch_size"},
			"model": {"4.ckpt_name"}, "output": {"9.filename_prefix"},
		},
		loader: "4", modelUsers: []string{"11.model"}, clipUsers: []string{"6.clip", "7.clip"},
		loraClass: "LoraLoader", templateLoras: []string{"11"},
	},
	"api_sdxl-lightning_unetloader_STALE-missing-weight_dtype__replicate.json": {
		// Two loaders: the UNETLoader feeds the sampler, the checkpoint only CLIP and VAE.
		points: map[string][]string{
			"sampler": {"3.sampler_name"}, "scheduler": {"3.scheduler"},
			"prompt": {"6.text"}, "negative_prompt": {"7.text"}, "seed": {"3.seed"},
			"steps": {"3.steps"}, "cfg": {"3.cfg"},
			"width": {"5.width"}, "height": {"5.height"}, "batch_size": {"5.batch_size"},
			"model": {"14.unet_name"}, "output": {"9.filename_prefix"},
		},
		loader: "14", modelUsers: []string{"3.model"}, loraClass: "LoraLoaderModelOnly",
	},
	"api_sdxl_base-refiner_ksampleradvanced__salad.json": {
		points: map[string][]string{
			"sampler":   {"10.sampler_name", "11.sampler_name"},
			"scheduler": {"10.scheduler", "11.scheduler"},
			"prompt":    {"6.text", "15.text"}, "negative_prompt": {"7.text", "16.text"},
			"seed":  {"10.noise_seed", "11.noise_seed"},
			"steps": {"10.steps", "11.steps"}, "cfg": {"10.cfg", "11.cfg"},
			"width": {"5.width"}, "height": {"5.height"}, "batch_size": {"5.batch_size"},
			"model": {"4.ckpt_name"}, "output": {"19.filename_prefix"},
		},
		loader: "4", modelUsers: []string{"10.model"}, clipUsers: []string{"6.clip", "7.clip"},
		loraClass: "LoraLoader",
		// 25 steps split at 20 becomes 12 steps split at 10 (20*12/25 = 9.6).
		split: map[string]string{"10.end_at_step": "10", "11.start_at_step": "10"},
	},
	"api_sdxl_loraloader-model-clip_lcm__replicate.json": {
		points: map[string][]string{
			"sampler": {"3.sampler_name"}, "scheduler": {"3.scheduler"},
			"prompt": {"6.text"}, "negative_prompt": {"7.text"}, "seed": {"3.seed"},
			"steps": {"3.steps"}, "cfg": {"3.cfg"},
			"width": {"5.width"}, "height": {"5.height"}, "batch_size": {"5.batch_size"},
			"model": {"4.ckpt_name"}, "output": {"9.filename_prefix"},
		},
		loader: "4", modelUsers: []string{"10.model"}, clipUsers: []string{"10.clip"},
		loraClass: "LoraLoader", templateLoras: []string{"10"},
	},
	"api_sdxl_txt2img__salad.json": {
		points: map[string][]string{
			"sampler": {"49.sampler_name"}, "scheduler": {"49.scheduler"},
			"prompt": {"6.text"}, "negative_prompt": {"7.text"}, "seed": {"49.seed"},
			"steps": {"49.steps"}, "cfg": {"49.cfg"},
			"width": {"5.width"}, "height": {"5.height"}, "batch_size": {"5.batch_size"},
			"model": {"4.ckpt_name"}, "output": {"19.filename_prefix"},
		},
		loader: "4", modelUsers: []string{"49.model"}, clipUsers: []string{"6.clip", "7.clip"},
		loraClass: "LoraLoader",
	},
}

var oneLora = []Lora{{Name: "a.safetensors", Strength: 0.8}}
var twoLoras = []Lora{
	{Name: "a.safetensors", Strength: 0.8}, {Name: "sub/b.safetensors", Strength: -0.5},
}

func TestSharedWorkflows(t *testing.T) {
	for _, path := range sharedFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data := readFile(t, path)
			format, _, err := Detect(data)
			if strings.HasPrefix(name, "ui_") {
				testUIFile(t, data, format, err)
				return
			}
			if format != FormatAPI || err != nil {
				t.Fatalf("Detect = %q, %v; want api", format, err)
			}
			want, ok := sharedExpect[name]
			if !ok {
				t.Fatalf("no expectation written for %s; add one to sharedExpect", name)
			}
			testAPIFile(t, data, want)
		})
	}
}

func testUIFile(t *testing.T, data []byte, format Format, err error) {
	t.Helper()
	if format != FormatUI || err != nil {
		t.Fatalf("Detect = %q, %v; want ui", format, err)
	}
	_, err = Parse(data)
	if !errors.Is(err, ErrUIFormat) || !strings.Contains(err.Error(), "Export (API)") {
		t.Errorf("Parse error = %v; want ErrUIFormat with the export hint", err)
	}
	probs := Check(data, nil)
	if len(probs) != 1 || probs[0].Field != "workflow_json" ||
		!strings.Contains(probs[0].Message, "Export (API)") {
		t.Errorf("Check = %v; want one workflow_json problem with the export hint", probs)
	}
}

// testAPIFile inspects, checks and renders an API file with one and two LoRAs.
func testAPIFile(t *testing.T, data []byte, want expect) {
	t.Helper()
	g := mustParse(t, data)
	ins, err := g.Inspect(nil)
	if err != nil {
		t.Fatal(err)
	}
	checkInspection(t, ins, want)
	if probs := Check(data, nil); probs != nil {
		t.Errorf("Check = %v, want none", probs)
	}
	for _, loras := range [][]Lora{nil, oneLora, twoLoras} {
		r := fullRequest(loras...)
		out, err := g.Render(r)
		if err != nil {
			t.Fatalf("Render with %d LoRAs: %v", len(loras), err)
		}
		if diff := cmp.Diff(expectedRender(t, data, want, r), decode(t, out)); diff != "" {
			t.Errorf("Render with %d LoRAs (-want +got):\n%s", len(loras), diff)
		}
	}
}

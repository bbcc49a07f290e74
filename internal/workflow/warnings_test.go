package workflow

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWarnings(t *testing.T) {
	cfg, guidance := 4.5, 3.0
	zeroed := graphWith(t, map[string]string{
		"5": `{"class_type":"KSampler","inputs":{"seed":1,"steps":20,"cfg":1,"model":["1",0],` +
			`"positive":["2",0],"negative":["8",0],"latent_image":["4",0]}}`,
		"8": `{"class_type":"ConditioningZeroOut","inputs":{"conditioning":["2",0]}}`,
	})
	tests := []struct {
		name  string
		graph []byte
		req   Request
		want  []string
	}{
		{name: "sdxl takes everything but guidance", graph: fixture(t, "sdxl.json"),
			req: Request{NegativePrompt: "n", Steps: 20, CFG: &cfg, BatchSize: 2,
				Width: 1024, Height: 1024},
		},
		{name: "guidance on sdxl", graph: fixture(t, "sdxl.json"),
			req:  Request{Guidance: &guidance},
			want: []string{"guidance 3 is ignored: no FluxGuidance or CLIPTextEncodeFlux node"}},
		{name: "negative zeroed out", graph: zeroed, req: Request{NegativePrompt: "n"},
			want: []string{`the negative prompt is ignored: the negative conditioning is ` +
				`zeroed out by node 8 (ConditioningZeroOut), so the graph takes no negative ` +
				`prompt`}},
		{name: "flux with BasicGuider", graph: fixture(t, "flux_split_basic.json"),
			req: Request{NegativePrompt: "n", CFG: &cfg, Guidance: &guidance, Steps: 4,
				BatchSize: 1},
			want: []string{
				"the negative prompt is ignored: no sampler or guider has a negative " +
					"conditioning that leads back to a text encoder",
				"cfg 4.5 is ignored: no KSampler, KSamplerAdvanced, SamplerCustom or " +
					"CFGGuider node",
			}},
		{name: "flux size not a multiple of 16", graph: fixture(t, "flux_split_basic.json"),
			req: Request{Width: 1000, Height: 1001},
			want: []string{
				"width 1000 is not a multiple of 16, which SD3/Flux latents want (node 27, " +
					"EmptySD3LatentImage); use 992 or 1008",
				"height 1001 is not a multiple of 16, which SD3/Flux latents want (node 27, " +
					"EmptySD3LatentImage); ComfyUI floors it to 1000; use 992 or 1008",
			}},
		{name: "flux size at the top", graph: fixture(t, "flux_split_basic.json"),
			req: Request{Width: 16383, Height: 16384},
			want: []string{"width 16383 is not a multiple of 16, which SD3/Flux latents want " +
				"(node 27, EmptySD3LatentImage); ComfyUI floors it to 16376; use 16368 or 16384"}},
		{name: "flux size below the minimum", graph: fixture(t, "flux_split_basic.json"),
			req: Request{Width: 12}, // Render refuses it; Warnings still advises
			want: []string{"width 12 is not a multiple of 16, which SD3/Flux latents want " +
				"(node 27, EmptySD3LatentImage); ComfyUI floors it to 8; use 16"}},
		{name: "sdxl size not a multiple of 8", graph: fixture(t, "sdxl.json"),
			req: Request{Width: 1000, Height: 1001},
			want: []string{"height 1001 is not a multiple of 8, which EmptyLatentImage " +
				"latents want (node 5, EmptyLatentImage); ComfyUI floors it to 1000; use 1000 " +
				"or 1008"}},
		{name: "ModelSamplingFlux beside EmptyLatentImage wants 16",
			graph: graphWith(t, map[string]string{
				"8": `{"class_type":"ModelSamplingFlux","inputs":{"width":512,"height":512,` +
					`"max_shift":1.15,"base_shift":0.5,"model":["1",0]}}`,
			}),
			req: Request{Width: 520},
			want: []string{"width 520 is not a multiple of 16, which SD3/Flux latents want " +
				"(node 8, ModelSamplingFlux); use 512 or 528"}},
		{name: "size on a custom node", graph: fixture(t, "width_link_custom.json"),
			req: Request{Width: 1001, Params: Params{"width": {"12.width"},
				"height": {"12.height"}, "batch_size": {"12.batch_size"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ins, err := mustParse(t, tt.graph).Inspect(tt.req.Params)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ins.Warnings(tt.req)); diff != "" {
				t.Errorf("Warnings (-want +got):\n%s", diff)
			}
		})
	}
}

package workflow

import "testing"

// BenchmarkRenderSDXLTwoLoras renders a typical SDXL graph with two LoRAs,
// the main service's work per job.
func BenchmarkRenderSDXLTwoLoras(b *testing.B) {
	g := mustParse(b, fixture(b, "sdxl.json"))
	cfg := 6.5
	r := Request{
		Prompt:         "a lighthouse on a cliff at dawn, oil painting, dramatic light",
		NegativePrompt: "blurry, lowres", Seed: 1234567890123, Steps: 28, CFG: &cfg,
		Width: 1216, Height: 832, BatchSize: 1, ModelFile: "sd_xl_base_1.0.safetensors",
		Loras: twoLoras, FilenamePrefix: "atelier/job-0123456789",
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Render(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSDXL measures reading a template, done once per config release.
func BenchmarkParseSDXL(b *testing.B) {
	data := fixture(b, "sdxl.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

package workflow

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// fuzzClasses are node shapes the graph generator draws from: the classes
// discovery knows, wired at random, plus one it does not.
var fuzzClasses = []struct {
	class  string
	inputs []string
}{
	{"CheckpointLoaderSimple", []string{"ckpt_name"}},
	{"UNETLoader", []string{"unet_name"}},
	{"LoraLoader", []string{"lora_name", "strength_model", "strength_clip", "model", "clip"}},
	{"LoraLoaderModelOnly", []string{"lora_name", "strength_model", "model"}},
	{"CLIPTextEncode", []string{"text", "clip"}},
	{"ConditioningZeroOut", []string{"conditioning"}},
	{"ConditioningCombine", []string{"conditioning_1", "conditioning_2"}},
	{"FluxGuidance", []string{"guidance", "conditioning"}},
	{"ControlNetApplyAdvanced", []string{"positive", "negative"}},
	{"KSampler", []string{"seed", "steps", "cfg", "model", "positive", "negative", "latent_image"}},
	{"KSamplerAdvanced", []string{"noise_seed", "steps", "cfg", "start_at_step", "end_at_step",
		"model", "positive", "negative", "latent_image"}},
	{"SamplerCustomAdvanced", []string{"noise", "guider", "latent_image"}},
	{"BasicGuider", []string{"model", "conditioning"}},
	{"CFGGuider", []string{"cfg", "model", "positive", "negative"}},
	{"RandomNoise", []string{"noise_seed"}},
	{"BasicScheduler", []string{"steps", "model"}},
	{"EmptyLatentImage", []string{"width", "height", "batch_size"}},
	{"ModelSamplingFlux", []string{"width", "height", "model"}},
	{"PrimitiveInt", []string{"value"}},
	{"SaveImage", []string{"filename_prefix", "images"}},
	{"Custom", []string{"a", "b"}},
}

// fuzzSkeleton is a working SD graph the generator starts from, so that
// many generated graphs render; "%s" is replaced by a loader class.
const fuzzSkeleton = `"1":{"class_type":"%s","inputs":{"ckpt_name":"m","unet_name":"m"}},` +
	`"2":{"class_type":"CLIPTextEncode","inputs":{"text":"p","clip":["1",1]}},` +
	`"3":{"class_type":"CLIPTextEncode","inputs":{"text":"n","clip":["1",1]}},` +
	`"4":{"class_type":"EmptyLatentImage","inputs":{"width":16,"height":24,"batch_size":1}},` +
	`"5":{"class_type":"KSampler","inputs":{"seed":1,"steps":2,"cfg":3,"model":["1",0],` +
	`"positive":["2",0],"negative":["3",0],"latent_image":["4",0]}},` +
	`"6":{"class_type":"SaveImage","inputs":{"filename_prefix":"x","images":["5",0]}}`

// genGraph turns fuzz bytes into an API graph: the skeleton, then random
// nodes of known classes with random links (cycles and dangling outputs
// included), some of which the skeleton's sampler is re-pointed to.
func genGraph(b []byte) []byte {
	next := func() int {
		if len(b) == 0 {
			return 0
		}
		v := int(b[0])
		b = b[1:]
		return v
	}
	loaders := []string{"CheckpointLoaderSimple", "UNETLoader", "CheckpointLoader"}
	skeleton := strings.Replace(fuzzSkeleton, "%s", loaders[next()%len(loaders)], 1)
	const base = 6
	n := base + next()%12
	var sb strings.Builder
	sb.WriteString("{")
	if next()%8 != 0 { // sometimes no skeleton at all
		sb.WriteString(skeleton)
	}
	for i := base + 1; i <= n; i++ {
		c := fuzzClasses[next()%len(fuzzClasses)]
		if sb.Len() > 1 {
			sb.WriteString(",")
		}
		sb.WriteString(`"` + strconv.Itoa(i) + `":{"class_type":"` + c.class + `","inputs":{`)
		for j, in := range c.inputs {
			if j > 0 {
				sb.WriteString(",")
			}
			sb.WriteString(`"` + in + `":`)
			v := next()
			switch {
			case v%2 == 1:
				sb.WriteString(`["` + strconv.Itoa(1+(v>>1)%n) + `",` + strconv.Itoa(next()%3) + `]`)
			case in == "text" || in == "filename_prefix" || strings.HasSuffix(in, "_name"):
				sb.WriteString(`"s` + strconv.Itoa(v) + `"`)
			default: // within every point's range, so that range checks refuse few graphs
				sb.WriteString(strconv.Itoa(16 + v%64))
			}
		}
		sb.WriteString("}}")
	}
	sb.WriteString("}")
	return []byte(sb.String())
}

// FuzzGraphShapes renders randomly wired graphs of known classes. Whenever
// Render accepts one, the output must parse, and every former consumer of
// the loader's MODEL output must read the last inserted LoRA.
func FuzzGraphShapes(f *testing.F) {
	f.Add([]byte{7, 0, 0, 16, 0, 0, 0, 9, 0, 0, 0, 0, 1, 0, 9, 0, 0, 19, 0, 0})
	f.Add([]byte("a graph with some bytes in it for the generator to use"))
	f.Fuzz(func(t *testing.T, b []byte) {
		data := genGraph(b)
		g, err := Parse(data)
		if err != nil {
			return // links into the missing skeleton
		}
		ins, err := g.Inspect(nil)
		if err != nil {
			t.Fatal(err)
		}
		r := fullRequest(twoLoras...)
		out, err := g.Render(r)
		if err != nil {
			// LoRAs are refused, not left dangling, when nothing reads MODEL.
			unused := ins.Loader != nil && len(ins.Loader.ModelConsumers) == 0
			if len(ins.Problems()) == 0 && !unused {
				t.Fatalf("Render failed on a graph without problems: %v\n%s", err, data)
			}
			return
		}
		rendered := mustParse(t, out)
		last := rendered.order[len(rendered.order)-1]
		for _, ref := range ins.Loader.ModelConsumers {
			l, ok := rendered.nodes[ref.Node].linkAt(ref.Input)
			if !ok || l.Node != last || l.Output != 0 {
				t.Fatalf("%s does not read LoRA %s:\n%s\n%s", ref, last, data, out)
			}
		}
		r.ReplaceLoras = true
		if out, err := g.Render(r); err == nil {
			if _, err := Parse(out); err != nil {
				t.Fatalf("replace render does not parse: %v\n%s", err, out)
			}
		}
		if !json.Valid(out) {
			t.Fatal("invalid JSON")
		}
	})
}

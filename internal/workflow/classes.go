package workflow

// This file lists the node classes the engine understands. Names and inputs
// follow ComfyUI's built-in nodes (see COMFYUI.md); a class not listed here
// is "not understood", and its points must be named in params.

// loaderInfo describes a model loader: the input holding the model file and
// the outputs carrying MODEL and CLIP (-1 when it has no CLIP output).
type loaderInfo struct {
	file  string
	model int
	clip  int
}

var loaderClasses = map[string]loaderInfo{
	"CheckpointLoaderSimple": {file: "ckpt_name", model: 0, clip: 1},
	"CheckpointLoader":       {file: "ckpt_name", model: 0, clip: 1},
	"UNETLoader":             {file: "unet_name", model: 0, clip: -1},
	// A widely used custom node for GGUF Flux files, same shape as UNETLoader.
	"UnetLoaderGGUF": {file: "unet_name", model: 0, clip: -1},
}

// Class names of the LoRA loaders the engine inserts and recognises.
const (
	classLora          = "LoraLoader"
	classLoraModelOnly = "LoraLoaderModelOnly"
)

func isLoraClass(c string) bool { return c == classLora || c == classLoraModelOnly }

// samplerClasses sample a latent; their model input leads to the loader.
var samplerClasses = map[string]bool{
	"KSampler": true, "KSamplerAdvanced": true, "SamplerCustom": true,
	"SamplerCustomAdvanced": true,
}

// latentClasses create the empty latent and so fix the image size.
var latentClasses = map[string]bool{"EmptyLatentImage": true, "EmptySD3LatentImage": true}

// textInputs are the text widgets of each text encoder.
var textInputs = map[string][]string{
	"CLIPTextEncode":            {"text"},
	"CLIPTextEncodeSDXLRefiner": {"text"},
	"CLIPTextEncodeSDXL":        {"text_g", "text_l"},
	"CLIPTextEncodeSD3":         {"clip_g", "clip_l", "t5xxl"},
	"CLIPTextEncodeFlux":        {"clip_l", "t5xxl"},
}

// primitiveClasses hold one literal in their value input and pass it on; a
// link from one of them is followed to that literal.
var primitiveClasses = map[string]bool{
	"PrimitiveInt": true, "PrimitiveFloat": true, "PrimitiveString": true,
	"PrimitiveStringMultiline": true, "PrimitiveBoolean": true,
}

// zeroOutClass discards its conditioning: text behind it is never used.
const zeroOutClass = "ConditioningZeroOut"

// simplePoints maps a point to the classes and inputs that carry it.
var simplePoints = map[string]map[string][]string{
	PointSeed: {
		"KSampler": {"seed"}, "KSamplerAdvanced": {"noise_seed"},
		"SamplerCustom": {"noise_seed"}, "RandomNoise": {"noise_seed"},
	},
	PointSteps: {
		"KSampler": {"steps"}, "KSamplerAdvanced": {"steps"}, "BasicScheduler": {"steps"},
		"KarrasScheduler": {"steps"}, "ExponentialScheduler": {"steps"},
		"PolyexponentialScheduler": {"steps"}, "LaplaceScheduler": {"steps"},
		"VPScheduler": {"steps"}, "BetaSamplingScheduler": {"steps"},
		"SDTurboScheduler": {"steps"}, "AlignYourStepsScheduler": {"steps"},
	},
	PointCFG: {
		"KSampler": {"cfg"}, "KSamplerAdvanced": {"cfg"}, "SamplerCustom": {"cfg"},
		"CFGGuider": {"cfg"},
	},
	PointGuidance: {"FluxGuidance": {"guidance"}, "CLIPTextEncodeFlux": {"guidance"}},
	// SamplerCustom and SamplerCustomAdvanced take their sampler and sigmas
	// as links, from KSamplerSelect and BasicScheduler; the other core
	// schedulers (KarrasScheduler …) have no scheduler input.
	PointSampler: {
		"KSampler": {"sampler_name"}, "KSamplerAdvanced": {"sampler_name"},
		"KSamplerSelect": {"sampler_name"},
	},
	PointScheduler: {
		"KSampler": {"scheduler"}, "KSamplerAdvanced": {"scheduler"},
		"BasicScheduler": {"scheduler"},
	},
	PointWidth: {
		"EmptyLatentImage": {"width"}, "EmptySD3LatentImage": {"width"},
		"ModelSamplingFlux": {"width"},
	},
	PointHeight: {
		"EmptyLatentImage": {"height"}, "EmptySD3LatentImage": {"height"},
		"ModelSamplingFlux": {"height"},
	},
	PointBatchSize: {"EmptyLatentImage": {"batch_size"}, "EmptySD3LatentImage": {"batch_size"}},
	PointOutput:    {"SaveImage": {"filename_prefix"}},
}

// namePoints hold the name of one of ComfyUI's options (a combo input), as
// a JSON string. Unlike the other points, a value behind a link the engine
// does not understand is no problem of the graph: custom selector nodes
// often feed sampler_name, and such a graph runs with its own choice. Render
// refuses it only when the request asks for a value there. An input the
// node lacks is noted, not refused: ComfyUI reports it when the graph runs.
var namePoints = map[string]bool{PointSampler: true, PointScheduler: true}

// missingReasons says what discovery looked for when a point has no target.
var missingReasons = map[string]string{
	PointSeed:      "no KSampler, KSamplerAdvanced, SamplerCustom or RandomNoise node",
	PointSteps:     "no KSampler, KSamplerAdvanced or scheduler node with a steps input",
	PointCFG:       "no KSampler, KSamplerAdvanced, SamplerCustom or CFGGuider node",
	PointGuidance:  "no FluxGuidance or CLIPTextEncodeFlux node",
	PointSampler:   "no KSampler, KSamplerAdvanced or KSamplerSelect node with a sampler_name",
	PointScheduler: "no KSampler, KSamplerAdvanced or BasicScheduler node with a scheduler",
	PointWidth:     "no EmptyLatentImage or EmptySD3LatentImage node",
	PointHeight:    "no EmptyLatentImage or EmptySD3LatentImage node",
	PointBatchSize: "no EmptyLatentImage or EmptySD3LatentImage node",
	PointOutput:    "no SaveImage node",
}

package comfysim

import (
	"encoding/json"
	"slices"
)

// Input types that carry a literal value; every other type is a link.
const (
	typeInt     = "INT"
	typeFloat   = "FLOAT"
	typeString  = "STRING"
	typeBoolean = "BOOLEAN"
	typeCombo   = "COMBO"
)

// maxSeed is 2^64-1, the largest seed ComfyUI accepts.
const maxSeed = "18446744073709551615"

// maxResolution is ComfyUI's MAX_RESOLUTION.
const maxResolution = "16384"

// ComboEncoding picks how /object_info writes the options of a combo input.
type ComboEncoding string

// The encodings real servers use. Older nodes write `[[options...], {...}]`,
// nodes on ComfyUI's newer schema write `["COMBO", {"options": [...]}]`.
const (
	// ComboMixed (the default) answers like a real server of late 2025:
	// CheckpointLoaderSimple, LoraLoader, VAELoader and the sampler lists in
	// the old list form, UNETLoader, LoraLoaderModelOnly and the CLIP loaders
	// in the COMBO form.
	ComboMixed ComboEncoding = ""
	// ComboList writes every combo as `[[options...], {...}]`.
	ComboList ComboEncoding = "list"
	// ComboTyped writes every combo as `["COMBO", {"options": [...]}]`.
	ComboTyped ComboEncoding = "combo"
)

// inputSpec is one input of a node class, as /object_info describes it and
// as validation checks it.
type inputSpec struct {
	name     string
	typ      string
	optional bool
	// options lists the allowed values of a COMBO input.
	options func(inv *Inventory) []string
	// typedCombo makes /object_info use the ["COMBO", {...}] form (ComboMixed).
	typedCombo bool
	def        any
	min, max   json.Number
	step       json.Number
	extra      object
}

// nodeClass is one node type the simulator knows.
type nodeClass struct {
	name        string
	display     string
	category    string
	inputs      []inputSpec
	outputs     []string
	outputNames []string
	outputNode  bool
}

func (c *nodeClass) input(name string) (inputSpec, bool) {
	for _, in := range c.inputs {
		if in.name == name {
			return in, true
		}
	}
	return inputSpec{}, false
}

func link(name, typ string) inputSpec { return inputSpec{name: name, typ: typ} }

func intIn(name string, def int64, lo, hi json.Number) inputSpec {
	return inputSpec{name: name, typ: typeInt, def: def, min: lo, max: hi}
}

func floatIn(name string, def, lo, hi, step json.Number) inputSpec {
	return inputSpec{name: name, typ: typeFloat, def: def, min: lo, max: hi, step: step}
}

func combo(name string, opts func(*Inventory) []string, typed bool) inputSpec {
	return inputSpec{name: name, typ: typeCombo, options: opts, typedCombo: typed}
}

func fixed(values ...string) func(*Inventory) []string {
	return func(*Inventory) []string { return values }
}

func optional(in inputSpec) inputSpec {
	in.optional = true
	return in
}

var (
	checkpoints = func(inv *Inventory) []string { return inv.Checkpoints }
	unets       = func(inv *Inventory) []string { return inv.UNets }
	loras       = func(inv *Inventory) []string { return inv.LoRAs }
	vaes        = func(inv *Inventory) []string { return inv.VAEs }
	clips       = func(inv *Inventory) []string { return inv.CLIPs }
)

// samplerNames is KSampler.SAMPLERS of ComfyUI 0.3.6x: more than 20, so a
// wrong sampler_name shows the "(list of length N)" form.
var samplerNames = []string{
	"euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun",
	"heunpp2", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive",
	"dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu",
	"dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde",
	"dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm", "ipndm_v", "deis", "res_multistep",
	"res_multistep_cfg_pp", "res_multistep_ancestral", "res_multistep_ancestral_cfg_pp",
	"gradient_estimation", "er_sde", "seeds_2", "seeds_3", "ddim", "uni_pc", "uni_pc_bh2",
}

var schedulerNames = []string{
	"simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
	"linear_quadratic", "kl_optimal",
}

func samplerCombo() inputSpec   { return combo("sampler_name", fixed(samplerNames...), false) }
func schedulerCombo() inputSpec { return combo("scheduler", fixed(schedulerNames...), false) }

func seedIn(name string) inputSpec {
	in := intIn(name, 0, "0", maxSeed)
	in.extra = object{{"control_after_generate", true}}
	return in
}

func stepsIn() inputSpec { return intIn("steps", 20, "1", "10000") }

func cfgIn(def json.Number) inputSpec { return floatIn("cfg", def, "0.0", "100.0", "0.1") }

func sizeIn(name string, def int64, step json.Number) inputSpec {
	in := intIn(name, def, "16", maxResolution)
	in.step = step
	return in
}

func textIn() inputSpec {
	return inputSpec{name: "text", typ: typeString,
		extra: object{{"multiline", true}, {"dynamicPrompts", true}}}
}

func strengthIn(name string) inputSpec {
	return floatIn(name, "1.0", "-100.0", "100.0", "0.01")
}

// classes is every node class the simulator runs: the loaders the service
// reads its inventory from, and every class of the public example workflows.
var classes = indexClasses([]*nodeClass{
	{name: "CheckpointLoaderSimple", display: "Load Checkpoint", category: "loaders",
		inputs:  []inputSpec{combo("ckpt_name", checkpoints, false)},
		outputs: []string{"MODEL", "CLIP", "VAE"}},
	{name: "UNETLoader", display: "Load Diffusion Model", category: "advanced/loaders",
		inputs: []inputSpec{
			combo("unet_name", unets, true),
			combo("weight_dtype", fixed("default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"), true),
		},
		outputs: []string{"MODEL"}},
	{name: "LoraLoader", display: "Load LoRA", category: "loaders",
		inputs: []inputSpec{link("model", "MODEL"), link("clip", "CLIP"),
			combo("lora_name", loras, false), strengthIn("strength_model"), strengthIn("strength_clip")},
		outputs: []string{"MODEL", "CLIP"}},
	{name: "LoraLoaderModelOnly", display: "LoraLoaderModelOnly", category: "loaders",
		inputs: []inputSpec{link("model", "MODEL"), combo("lora_name", loras, true),
			strengthIn("strength_model")},
		outputs: []string{"MODEL"}},
	{name: "VAELoader", display: "Load VAE", category: "loaders",
		inputs: []inputSpec{combo("vae_name", vaes, false)}, outputs: []string{"VAE"}},
	{name: "CLIPLoader", display: "Load CLIP", category: "advanced/loaders",
		inputs: []inputSpec{combo("clip_name", clips, true),
			combo("type", fixed("stable_diffusion", "stable_cascade", "sd3", "stable_audio",
				"mochi", "ltxv", "pixart", "cosmos", "lumina2", "wan", "hidream", "chroma",
				"ace", "omnigen2", "qwen_image", "hunyuan_image"), true),
			optional(combo("device", fixed("default", "cpu"), true))},
		outputs: []string{"CLIP"}},
	{name: "DualCLIPLoader", display: "DualCLIPLoader", category: "advanced/loaders",
		inputs: []inputSpec{combo("clip_name1", clips, true), combo("clip_name2", clips, true),
			combo("type", fixed("sdxl", "sd3", "flux", "hunyuan_video", "hidream"), true),
			optional(combo("device", fixed("default", "cpu"), true))},
		outputs: []string{"CLIP"}},
	{name: "TripleCLIPLoader", display: "TripleCLIPLoader", category: "advanced/loaders",
		inputs: []inputSpec{combo("clip_name1", clips, true), combo("clip_name2", clips, true),
			combo("clip_name3", clips, true)},
		outputs: []string{"CLIP"}},
	{name: "CLIPTextEncode", display: "CLIP Text Encode (Prompt)", category: "conditioning",
		inputs: []inputSpec{textIn(), link("clip", "CLIP")}, outputs: []string{"CONDITIONING"}},
	{name: "FluxGuidance", display: "FluxGuidance", category: "advanced/conditioning/flux",
		inputs: []inputSpec{link("conditioning", "CONDITIONING"),
			floatIn("guidance", "3.5", "0.0", "100.0", "0.1")},
		outputs: []string{"CONDITIONING"}},
	{name: "ConditioningZeroOut", display: "ConditioningZeroOut", category: "advanced/conditioning",
		inputs: []inputSpec{link("conditioning", "CONDITIONING")}, outputs: []string{"CONDITIONING"}},
	{name: "ConditioningSetTimestepRange", display: "ConditioningSetTimestepRange",
		category: "advanced/conditioning",
		inputs: []inputSpec{link("conditioning", "CONDITIONING"),
			floatIn("start", "0.0", "0.0", "1.0", "0.001"), floatIn("end", "1.0", "0.0", "1.0", "0.001")},
		outputs: []string{"CONDITIONING"}},
	{name: "ConditioningCombine", display: "Conditioning (Combine)", category: "conditioning",
		inputs: []inputSpec{link("conditioning_1", "CONDITIONING"),
			link("conditioning_2", "CONDITIONING")},
		outputs: []string{"CONDITIONING"}},
	{name: "ModelSamplingSD3", display: "ModelSamplingSD3", category: "advanced/model",
		inputs:  []inputSpec{link("model", "MODEL"), floatIn("shift", "3.0", "0.0", "100.0", "0.01")},
		outputs: []string{"MODEL"}},
	{name: "ModelSamplingFlux", display: "ModelSamplingFlux", category: "advanced/model",
		inputs: []inputSpec{link("model", "MODEL"),
			floatIn("max_shift", "1.15", "0.0", "100.0", "0.01"),
			floatIn("base_shift", "0.5", "0.0", "100.0", "0.01"),
			sizeIn("width", 1024, "8"), sizeIn("height", 1024, "8")},
		outputs: []string{"MODEL"}},
	{name: "ModelSamplingDiscrete", display: "ModelSamplingDiscrete", category: "advanced/model",
		inputs: []inputSpec{link("model", "MODEL"),
			combo("sampling", fixed("eps", "v_prediction", "lcm", "x0", "img_to_img"), false),
			{name: "zsnr", typ: typeBoolean, def: false}},
		outputs: []string{"MODEL"}},
	{name: "EmptyLatentImage", display: "Empty Latent Image", category: "latent",
		inputs: []inputSpec{sizeIn("width", 512, "8"), sizeIn("height", 512, "8"),
			intIn("batch_size", 1, "1", "4096")},
		outputs: []string{"LATENT"}},
	{name: "EmptySD3LatentImage", display: "EmptySD3LatentImage", category: "latent/sd3",
		inputs: []inputSpec{sizeIn("width", 1024, "16"), sizeIn("height", 1024, "16"),
			intIn("batch_size", 1, "1", "4096")},
		outputs: []string{"LATENT"}},
	{name: "VAEDecode", display: "VAE Decode", category: "latent",
		inputs: []inputSpec{link("samples", "LATENT"), link("vae", "VAE")}, outputs: []string{"IMAGE"}},
	{name: "KSampler", display: "KSampler", category: "sampling",
		inputs: []inputSpec{link("model", "MODEL"), seedIn("seed"), stepsIn(), cfgIn("8.0"),
			samplerCombo(), schedulerCombo(), link("positive", "CONDITIONING"),
			link("negative", "CONDITIONING"), link("latent_image", "LATENT"),
			floatIn("denoise", "1.0", "0.0", "1.0", "0.01")},
		outputs: []string{"LATENT"}},
	{name: "KSamplerAdvanced", display: "KSampler (Advanced)", category: "sampling",
		inputs: []inputSpec{link("model", "MODEL"), combo("add_noise", fixed("enable", "disable"), false),
			seedIn("noise_seed"), stepsIn(), cfgIn("8.0"), samplerCombo(), schedulerCombo(),
			link("positive", "CONDITIONING"), link("negative", "CONDITIONING"),
			link("latent_image", "LATENT"), intIn("start_at_step", 0, "0", "10000"),
			intIn("end_at_step", 10000, "0", "10000"),
			combo("return_with_leftover_noise", fixed("disable", "enable"), false)},
		outputs: []string{"LATENT"}},
	{name: "RandomNoise", display: "RandomNoise", category: "sampling/custom_sampling/noise",
		inputs: []inputSpec{seedIn("noise_seed")}, outputs: []string{"NOISE"}},
	{name: "KSamplerSelect", display: "KSamplerSelect", category: "sampling/custom_sampling/samplers",
		inputs: []inputSpec{samplerCombo()}, outputs: []string{"SAMPLER"}},
	{name: "BasicScheduler", display: "BasicScheduler", category: "sampling/custom_sampling/schedulers",
		inputs: []inputSpec{link("model", "MODEL"), schedulerCombo(), stepsIn(),
			floatIn("denoise", "1.0", "0.0", "1.0", "0.01")},
		outputs: []string{"SIGMAS"}},
	{name: "BasicGuider", display: "BasicGuider", category: "sampling/custom_sampling/guiders",
		inputs:  []inputSpec{link("model", "MODEL"), link("conditioning", "CONDITIONING")},
		outputs: []string{"GUIDER"}},
	{name: "CFGGuider", display: "CFGGuider", category: "sampling/custom_sampling/guiders",
		inputs: []inputSpec{link("model", "MODEL"), link("positive", "CONDITIONING"),
			link("negative", "CONDITIONING"), cfgIn("8.0")},
		outputs: []string{"GUIDER"}},
	{name: "SamplerCustomAdvanced", display: "SamplerCustomAdvanced", category: "sampling/custom_sampling",
		inputs: []inputSpec{link("noise", "NOISE"), link("guider", "GUIDER"),
			link("sampler", "SAMPLER"), link("sigmas", "SIGMAS"), link("latent_image", "LATENT")},
		outputs: []string{"LATENT", "LATENT"}, outputNames: []string{"output", "denoised_output"}},
	{name: "SaveImage", display: "Save Image", category: "image", outputNode: true,
		inputs: []inputSpec{link("images", "IMAGE"),
			{name: "filename_prefix", typ: typeString, def: "ComfyUI"}}},
	{name: "PreviewImage", display: "Preview Image", category: "image", outputNode: true,
		inputs: []inputSpec{link("images", "IMAGE")}},
	{name: "PrimitiveInt", display: "Int", category: "utils/primitive",
		inputs:  []inputSpec{intIn("value", 0, "-9223372036854775807", "9223372036854775807")},
		outputs: []string{typeInt}},
	{name: "PrimitiveFloat", display: "Float", category: "utils/primitive",
		inputs:  []inputSpec{{name: "value", typ: typeFloat, def: json.Number("0.0")}},
		outputs: []string{typeFloat}},
	{name: "PrimitiveString", display: "String", category: "utils/primitive",
		inputs: []inputSpec{{name: "value", typ: typeString, def: ""}}, outputs: []string{typeString}},
	{name: "PrimitiveBoolean", display: "Boolean", category: "utils/primitive",
		inputs: []inputSpec{{name: "value", typ: typeBoolean, def: false}}, outputs: []string{typeBoolean}},
})

func indexClasses(list []*nodeClass) map[string]*nodeClass {
	m := make(map[string]*nodeClass, len(list))
	for _, c := range list {
		m[c.name] = c
	}
	return m
}

// classNames lists the classes in a stable order for /object_info.
func classNames() []string {
	names := make([]string, 0, len(classes))
	for n := range classes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// objectInfo describes one class the way GET /object_info/<Class> does.
func (c *nodeClass) objectInfo(inv *Inventory, enc ComboEncoding) object {
	var required, opt object
	var reqOrder, optOrder []string
	for _, in := range c.inputs {
		if in.optional {
			opt = append(opt, kv{in.name, in.describe(inv, enc)})
			optOrder = append(optOrder, in.name)
			continue
		}
		required = append(required, kv{in.name, in.describe(inv, enc)})
		reqOrder = append(reqOrder, in.name)
	}
	input := object{{"required", orEmpty(required)}}
	order := object{{"required", orEmptyList(reqOrder)}}
	if len(opt) > 0 {
		input = append(input, kv{"optional", opt})
		order = append(order, kv{"optional", optOrder})
	}
	if c.name == "SaveImage" || c.name == "PreviewImage" {
		input = append(input, kv{"hidden", object{{"prompt", "PROMPT"}, {"extra_pnginfo", "EXTRA_PNGINFO"}}})
	}
	outputs := orEmptyList(c.outputs)
	names := c.outputNames
	if names == nil {
		names = outputs
	}
	isList := make([]bool, len(outputs))
	return object{
		{"input", input}, {"input_order", order},
		{"output", outputs}, {"output_is_list", isList}, {"output_name", names},
		{"name", c.name}, {"display_name", c.display}, {"description", ""},
		{"python_module", "nodes"}, {"category", c.category}, {"output_node", c.outputNode},
	}
}

// describe is the [type, options] pair of one input in /object_info.
func (in inputSpec) describe(inv *Inventory, enc ComboEncoding) []any {
	var opts object
	if in.def != nil {
		opts = append(opts, kv{"default", in.def})
	}
	if in.min != "" {
		opts = append(opts, kv{"min", in.min})
	}
	if in.max != "" {
		opts = append(opts, kv{"max", in.max})
	}
	if in.step != "" {
		opts = append(opts, kv{"step", in.step})
	}
	opts = append(opts, in.extra...)
	if in.typ != typeCombo {
		if len(opts) == 0 {
			return []any{in.typ}
		}
		return []any{in.typ, opts}
	}
	values := orEmptyList(in.options(inv))
	typed := in.typedCombo
	switch enc {
	case ComboList:
		typed = false
	case ComboTyped:
		typed = true
	}
	if typed {
		return []any{typeCombo, append(object{{"options", values}}, opts...)}
	}
	return []any{values, orEmpty(opts)}
}

func orEmpty(o object) object {
	if o == nil {
		return object{}
	}
	return o
}

func orEmptyList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Package workflow recognises, inspects and fills ComfyUI workflow
// templates. It has no network access and imports no other package of the
// project.
//
// # Formats
//
// Detect tells API format (an object of nodes keyed by id, each with
// class_type and inputs) from UI format (a nodes array, links, last_node_id),
// and unwraps the envelopes {"prompt": …} and {"input": {"workflow": …}}.
// Parse refuses UI format with an error wrapping ErrUIFormat that tells the
// operator to use ComfyUI's "Export (API)". Parsing is lossless: every value
// keeps its JSON text, so a seed of 18446744073709551615 or a cfg of 7.50
// comes back byte-for-byte, and node and input order are kept. For the same
// reason a file that is not valid UTF-8 is refused, naming the first bad
// byte, instead of being read with U+FFFD in its place.
//
// Parse also refuses graphs ComfyUI cannot run: links to missing nodes,
// cycles of links (each named node by node), and links written with a
// number for the node id ([4, 0] where a node "4" exists), which ComfyUI
// reads as a literal list rather than a link.
//
// # Injection points
//
// The points are, in the order Inspect reports them:
//
//	prompt           text of the encoders behind every positive conditioning
//	negative_prompt  text of the encoders behind every negative conditioning
//	seed             KSampler.seed, KSamplerAdvanced/SamplerCustom/RandomNoise.noise_seed
//	steps            KSampler, KSamplerAdvanced, BasicScheduler (and other schedulers).steps
//	cfg              KSampler, KSamplerAdvanced, SamplerCustom, CFGGuider.cfg
//	guidance         FluxGuidance, CLIPTextEncodeFlux.guidance
//	sampler          KSampler, KSamplerAdvanced, KSamplerSelect.sampler_name
//	scheduler        KSampler, KSamplerAdvanced, BasicScheduler.scheduler
//	width, height    EmptyLatentImage, EmptySD3LatentImage, plus ModelSamplingFlux
//	batch_size       EmptyLatentImage, EmptySD3LatentImage
//	model            the model loader's file (CheckpointLoaderSimple.ckpt_name,
//	                 UNETLoader.unet_name …)
//	output           SaveImage.filename_prefix
//
// Prompts are found by following links, never by titles: from every input
// named positive or negative (and BasicGuider's conditioning) back through
// conditioning nodes (FluxGuidance, ConditioningCombine,
// ConditioningSetTimestepRange, ControlNetApplyAdvanced …) to the text
// encoders. Text behind ConditioningZeroOut is not a point, and an encoder
// reached from both sides belongs to the prompt only. Where a value is a
// link, links from core Primitive* nodes are followed to their value; a link
// from any other node is reported as unresolved, naming the node and input,
// and the point must then be named in params.
//
// When a graph has several loaders (SDXL base + refiner), the model loader
// is the one whose MODEL reaches the sampler that starts from the empty
// latent. Prompt, seed, steps, cfg, sampler and scheduler go to every
// sampler, refiner included. SamplerCustom and SamplerCustomAdvanced have no
// sampler or scheduler of their own: they take them as links from
// KSamplerSelect and BasicScheduler, which carry the points (the other core
// schedulers, KarrasScheduler …, have steps but no scheduler input).
//
// Sampler and scheduler are optional points and hold names of ComfyUI's
// options as JSON strings; which names exist is ComfyUI's to check. Custom
// selector nodes often feed sampler_name through a link, so a sampler or
// scheduler behind a link the engine does not understand is not a problem
// of the graph, which then runs with its own choice: Render refuses it only
// when the request asks for a sampler or scheduler, until params name the
// point.
//
// Params name points explicitly as "node.input" references, for example
// {"prompt": ["6.text"], "seed": ["3.seed", "20.noise_seed"]}. A named point
// replaces discovery for that point only (so an explicit width does not also
// set ModelSamplingFlux unless it is listed); params.model also selects the
// loader LoRAs are inserted after (a class the engine does not know is taken
// to have MODEL at output 0 and no CLIP). Unknown point names, nodes not in the
// graph, inputs not on the node and inputs that hold a link (Render would cut
// the graph by writing a value over it) are errors.
//
// The template's own values of the numeric points (seed, steps, cfg,
// guidance, width, height, batch_size) must be numbers within ComfyUI's
// ranges (see Request), and those of sampler and scheduler must be strings;
// Inspection.Problems lists those that are not.
//
// # LoRAs
//
// Render inserts the requested LoRAs as a chain right after the model
// loader: LoraLoader (strength_model = strength_clip = the strength) when the
// loader's CLIP output is used, LoraLoaderModelOnly otherwise (UNETLoader,
// or a checkpoint whose CLIP is unused because a separate CLIP loader feeds
// the encoders). Every former consumer of the loader's MODEL output, and of
// its CLIP output for LoraLoader, is re-pointed to the last node of the
// chain. New nodes get ids after the largest numeric id and come last.
// Render refuses LoRAs when nothing reads the loader's MODEL output, since
// the chain would change nothing.
//
// LoRA nodes already in the template are kept as they are: the requested
// chain goes between the loader and them, so both apply. With
// Request.ReplaceLoras the template's LoRA nodes chained after the loader
// (Inspection.Loras) are removed first, their consumers re-pointed to their
// inputs; a LoRA node read at an output nothing can replace is not removed,
// and Render fails.
//
// # Rendering
//
// Render never changes the Graph; the same graph and request give
// byte-identical output. When steps change, a KSamplerAdvanced base/refiner
// split (start_at_step, end_at_step) is scaled to keep its fraction. Render
// checks values against ComfyUI's node limits only; the family's size
// multiple and the config's maxima are the caller's to check. It refuses a graph with problems
// (Inspection.Problems), so that what Check accepts is what Render can fill.
package workflow

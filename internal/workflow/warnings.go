package workflow

import (
	"fmt"
	"strconv"
)

// sizeMultiples are the sizes each latent-making class wants: a multiple of
// 8 for SD1/SDXL latents, 16 for SD3 and Flux, which work in 2×2 patches of
// latent pixels. ComfyUI checks neither; the latent nodes floor the size to
// a multiple of 8.
//
// TODO: the family is told by these classes only, so a Flux checkpoint
// graph built on EmptyLatentImage without ModelSamplingFlux (Replicate's
// flux1-dev LoRA file) is advised multiples of 8, not 16; the main service's
// family multiple still applies there.
var sizeMultiples = map[string]struct {
	multiple int
	family   string
}{
	"EmptyLatentImage":    {8, "EmptyLatentImage latents"},
	"EmptySD3LatentImage": {16, "SD3/Flux latents"},
	"ModelSamplingFlux":   {16, "SD3/Flux latents"},
}

// Warnings lists the values of r that this graph ignores or that ComfyUI
// will change, each with the reason: a negative prompt for a graph with no
// negative point (zeroed out by ConditioningZeroOut, or no negative input at
// all), steps, cfg, guidance, sampler, scheduler or batch size without a
// point to take them, and a width or height that is not a multiple of what
// the graph's latent wants. Render accepts all of these; the family's size
// multiple and the config's maxima are the caller's to enforce, so this is
// advice for a person, such as the CLI's user.
func (ins *Inspection) Warnings(r Request) []string {
	var out []string
	ignored := func(what, point string) {
		if p := ins.Point(point); p != nil && len(p.Targets) == 0 {
			out = append(out, fmt.Sprintf("%s is ignored: %s", what, p.Missing))
		}
	}
	if r.NegativePrompt != "" {
		ignored("the negative prompt", PointNegativePrompt)
	}
	if r.Steps > 0 {
		ignored(fmt.Sprintf("steps %d", r.Steps), PointSteps)
	}
	if r.CFG != nil {
		ignored(fmt.Sprintf("cfg %v", *r.CFG), PointCFG)
	}
	if r.Guidance != nil {
		ignored(fmt.Sprintf("guidance %v", *r.Guidance), PointGuidance)
	}
	if r.Sampler != "" {
		ignored(fmt.Sprintf("sampler %q", r.Sampler), PointSampler)
	}
	if r.Scheduler != "" {
		ignored(fmt.Sprintf("scheduler %q", r.Scheduler), PointScheduler)
	}
	if r.BatchSize > 0 {
		ignored(fmt.Sprintf("batch size %d", r.BatchSize), PointBatchSize)
	}
	for _, s := range []struct {
		point string
		v     int
	}{{PointWidth, r.Width}, {PointHeight, r.Height}} {
		if w := ins.sizeWarning(s.point, s.v); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// sizeWarning advises on a requested size v that is not a multiple of what
// the point's latent wants; the strictest class among the targets decides.
func (ins *Inspection) sizeWarning(point string, v int) string {
	p := ins.Point(point)
	if v <= 0 || p == nil {
		return ""
	}
	var by Target
	want, family := 0, ""
	for _, t := range p.Targets {
		if m, ok := sizeMultiples[t.Class]; ok && m.multiple > want {
			want, family, by = m.multiple, m.family, t
		}
	}
	if want == 0 || v%want == 0 {
		return ""
	}
	msg := fmt.Sprintf("%s %d is not a multiple of %d, which %s want (node %s, %s)",
		point, v, want, family, by.Node, by.Class)
	if v%8 != 0 {
		msg += fmt.Sprintf("; ComfyUI floors it to %d", v-v%8)
	}
	// maxSize is a multiple of 16, so upper is never past it.
	lower, upper := v-v%want, v-v%want+want
	if lower < minSize {
		return msg + "; use " + strconv.Itoa(upper)
	}
	return msg + fmt.Sprintf("; use %d or %d", lower, upper)
}

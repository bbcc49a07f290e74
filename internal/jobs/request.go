// Package jobs turns image requests into ComfyUI jobs: it checks a request
// against the config snapshot in force, selects and fills the model's
// workflow, submits it to the ComfyUI pool, and follows the job to its
// outcome for the jobs API.
package jobs

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/atelier-dev/atelier/internal/config"
	"github.com/atelier-dev/atelier/internal/workflow"
)

// Request is the body of POST /api/generate-image.
type Request struct {
	Prompt         string        `json:"prompt"`
	NegativePrompt string        `json:"negative_prompt"`
	Model          string        `json:"model"`
	Loras          []LoraRequest `json:"loras"`
	Width          *int          `json:"width"`
	Height         *int          `json:"height"`
	Ratio          string        `json:"ratio"`
	Steps          *int          `json:"steps"`
	CFG            *float64      `json:"cfg"`
	Guidance       *float64      `json:"guidance"`
	// Sampler and Scheduler are ComfyUI names ("dpmpp_2m", "karras") that
	// replace the model's defaults; absent keeps them.
	Sampler   *string `json:"sampler"`
	Scheduler *string `json:"scheduler"`
	// Seed is an unsigned 64-bit integer, as a JSON number or string;
	// absent means random.
	Seed      *Seed `json:"seed"`
	BatchSize *int  `json:"batch_size"`
}

// Seed is a seed as the request wrote it: the text of a JSON number or the
// content of a JSON string. Resolve checks that it is an unsigned 64-bit
// integer, so that "abc" and -1 get the same clear answer.
type Seed string

// UnmarshalJSON accepts a number or a string; anything else is an error.
func (s *Seed) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = Seed(v)
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*s = Seed(b)
	default:
		return errors.New("seed: want a whole number from 0 to 18446744073709551615 " +
			"(or leave it out for a random seed)")
	}
	return nil
}

// LoraRequest is one LoRA asked for; Strength nil takes the config default.
type LoraRequest struct {
	Name     string   `json:"name"`
	Strength *float64 `json:"strength"`
}

// FieldError is one problem with a request field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// InvalidError is a request that does not fit the config in force.
type InvalidError struct {
	Problems []FieldError
}

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// Plan is a request resolved against a snapshot: every value decided.
type Plan struct {
	Model    config.Model
	Workflow config.Workflow
	Loras    []workflow.Lora
	Width    int
	Height   int
	Steps    int
	CFG      *float64
	Guidance *float64
	// Sampler and Scheduler are "" to keep the template's.
	Sampler   string
	Scheduler string
	Seed      uint64
	BatchSize int
	Prompt    string
	Negative  string
}

// MaxPromptLength bounds prompts, in characters.
const MaxPromptLength = 10000

// Resolve checks r against snap and fills in defaults: the model's own
// defaults first, then image_gen's. It reports every problem at once.
func Resolve(snap *config.Snapshot, r Request) (*Plan, error) {
	var ps []FieldError
	add := func(field, format string, args ...any) {
		ps = append(ps, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	p := &Plan{Prompt: strings.TrimSpace(r.Prompt), Negative: strings.TrimSpace(r.NegativePrompt)}
	switch n := utf8.RuneCountInString(p.Prompt); {
	case n == 0:
		add("prompt", "required: describe the image")
	case n > MaxPromptLength:
		add("prompt", "longer than %d characters", MaxPromptLength)
	}
	if utf8.RuneCountInString(p.Negative) > MaxPromptLength {
		add("negative_prompt", "longer than %d characters", MaxPromptLength)
	}
	g := snap.ImageGen
	model, ok := findModel(snap, r.Model)
	switch {
	case r.Model == "":
		add("model", "required: one of the models /api/models lists")
	case !ok:
		add("model", "no model %q in the current config (version %d)", r.Model, snap.Version)
	case !model.IsAvailable():
		add("model", "model %q is switched off in the current config (version %d)", r.Model,
			snap.Version)
	default:
		p.Model = model
		if p.Workflow, ok = config.WorkflowFor(snap, model); !ok {
			add("model", "no available workflow serves model %q", model.Name)
		}
		resolveLoras(snap, model, r.Loras, p, add)
	}
	mult := config.SizeMultiple(p.Model.ModelType)
	resolveSize(g, r, mult, p, add)
	p.Steps = g.DefaultSteps
	if d := p.Model.Defaults; d != nil && d.Steps != nil {
		p.Steps = *d.Steps
	}
	if r.Steps != nil {
		p.Steps = *r.Steps
	}
	if p.Steps < 1 || p.Steps > g.MaxSteps {
		add("steps", "must be between 1 and %d, got %d", g.MaxSteps, p.Steps)
	}
	if d := p.Model.Defaults; d != nil {
		p.CFG, p.Guidance = d.CFG, d.Guidance
		p.Sampler, p.Scheduler = d.Sampler, d.Scheduler
	}
	p.Sampler = resolveName("sampler", p.Sampler, r.Sampler, add)
	p.Scheduler = resolveName("scheduler", p.Scheduler, r.Scheduler, add)
	if r.CFG != nil {
		p.CFG = r.CFG
	}
	if r.Guidance != nil {
		p.Guidance = r.Guidance
	}
	for _, c := range []struct {
		name string
		v    *float64
	}{{"cfg", p.CFG}, {"guidance", p.Guidance}} {
		if c.v != nil && (*c.v < 0 || *c.v > 100 || *c.v != *c.v) {
			add(c.name, "must be between 0 and 100, got %g", *c.v)
		}
	}
	p.BatchSize = 1
	if r.BatchSize != nil {
		p.BatchSize = *r.BatchSize
	}
	if p.BatchSize < 1 || p.BatchSize > g.MaxBatch {
		add("batch_size", "must be between 1 and %d, got %d", g.MaxBatch, p.BatchSize)
	}
	if r.Seed == nil {
		p.Seed = randomSeed()
	} else if s, err := strconv.ParseUint(string(*r.Seed), 10, 64); err != nil {
		add("seed", "%q is not an unsigned 64-bit integer (0 … 18446744073709551615); "+
			"leave it out for a random seed", string(*r.Seed))
	} else {
		p.Seed = s
	}
	if len(ps) > 0 {
		return nil, &InvalidError{Problems: ps}
	}
	return p, nil
}

// MaxNameLength bounds the sampler and scheduler names of a request.
const MaxNameLength = 64

// resolveName returns the request's sampler or scheduler name when it gives
// one, else def. The request's name must look like one of ComfyUI's
// (dpmpp_2m, euler_ancestral, sgm_uniform); whether ComfyUI knows it is
// ComfyUI's to say.
func resolveName(field, def string, req *string, add func(string, string, ...any)) string {
	if req == nil {
		return def
	}
	v := *req
	switch bad, ok := firstNotNameRune(v); {
	case v == "":
		add(field, "must not be empty; leave it out for the model's default")
	case utf8.RuneCountInString(v) > MaxNameLength:
		add(field, "longer than %d characters", MaxNameLength)
	case ok:
		add(field, "%q holds %q; a %s name has only letters, digits and _ . + - "+
			"(for example %s)", v, string(bad), field, nameExample[field])
	}
	return v
}

var nameExample = map[string]string{"sampler": "dpmpp_2m", "scheduler": "karras"}

// firstNotNameRune finds the first character outside [A-Za-z0-9_.+-].
func firstNotNameRune(s string) (rune, bool) {
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("_.+-", r)
		if !ok {
			return r, true
		}
	}
	return 0, false
}

func findModel(snap *config.Snapshot, name string) (config.Model, bool) {
	for _, m := range snap.Models {
		if m.Name == name {
			return m, true
		}
	}
	return config.Model{}, false
}

func resolveLoras(snap *config.Snapshot, model config.Model, reqs []LoraRequest, p *Plan,
	add func(string, string, ...any)) {
	seen := map[string]bool{}
	for i, lr := range reqs {
		field := fmt.Sprintf("loras[%d]", i)
		var found *config.Lora
		for j := range snap.Loras {
			if snap.Loras[j].Name == lr.Name {
				found = &snap.Loras[j]
				break
			}
		}
		switch {
		case lr.Name == "":
			add(field+".name", "required")
			continue
		case found == nil:
			add(field+".name", "no LoRA %q in the current config", lr.Name)
			continue
		case !found.IsAvailable():
			add(field+".name", "LoRA %q is switched off in the current config", lr.Name)
			continue
		case found.BaseModel != model.Name && found.BaseModel != model.ModelType:
			add(field+".name", "LoRA %q is for %q, not for model %q", lr.Name, found.BaseModel,
				model.Name)
			continue
		case seen[lr.Name]:
			add(field+".name", "LoRA %q is asked for twice", lr.Name)
			continue
		}
		seen[lr.Name] = true
		strength := found.Strength()
		if lr.Strength != nil {
			strength = *lr.Strength
		}
		if strength < -config.MaxStrengthLimit || strength > config.MaxStrengthLimit {
			add(field+".strength", "must be between -100 and 100, got %g", strength)
			continue
		}
		p.Loras = append(p.Loras, workflow.Lora{Name: found.Name, Strength: strength})
	}
}

func resolveSize(g config.ImageGen, r Request, mult int, p *Plan, add func(string, string, ...any)) {
	switch {
	case r.Ratio != "" && (r.Width != nil || r.Height != nil):
		add("ratio", "give a ratio or a width and height, not both")
		return
	case r.Ratio != "":
		known := false
		for _, x := range g.SizeRatios {
			known = known || x == r.Ratio
		}
		if !known {
			add("ratio", "%q is not one of the configured ratios %v", r.Ratio, g.SizeRatios)
			return
		}
		sz, err := config.SizeForRatio(g.DefaultSize, r.Ratio, mult)
		if err != nil {
			add("ratio", "%v", err)
			return
		}
		p.Width, p.Height = sz.Width, sz.Height
		return
	case r.Width == nil && r.Height == nil:
		p.Width, p.Height = g.DefaultSize.Width, g.DefaultSize.Height
	case r.Width == nil || r.Height == nil:
		add("width", "give both width and height, or neither")
		return
	default:
		p.Width, p.Height = *r.Width, *r.Height
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"width", p.Width}, {"height", p.Height}} {
		switch {
		case d.v < 64 || d.v > 8192:
			add(d.name, "must be between 64 and 8192, got %d", d.v)
		case d.v%mult != 0:
			add(d.name, "%d is not a multiple of %d (required by %s models)", d.v, mult,
				familyName(p.Model.ModelType))
		}
	}
	if px := p.Width * p.Height; px > g.MaxPixels {
		add("width", "%d×%d is %d pixels, more than the limit of %d", p.Width, p.Height, px,
			g.MaxPixels)
	}
}

func familyName(t string) string {
	if t == "" {
		return "these"
	}
	return t
}

func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

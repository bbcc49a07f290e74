package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/atelier-dev/atelier/internal/workflow"
)

// Family is what Atelier knows of a model family (model_type).
type Family struct {
	// SizeMultiple is the multiple that image widths and heights must be.
	SizeMultiple int
}

// Families are the model types with extra checks. Other model types are
// accepted with the defaults of an unknown family (multiples of 8).
var Families = map[string]Family{
	"sd15":  {SizeMultiple: 8},
	"sd2":   {SizeMultiple: 8},
	"sdxl":  {SizeMultiple: 8},
	"sd3":   {SizeMultiple: 16},
	"flux1": {SizeMultiple: 16},
}

// SizeMultiple returns the multiple that image sizes for modelType must be.
func SizeMultiple(modelType string) int {
	if f, ok := Families[modelType]; ok {
		return f.SizeMultiple
	}
	return 8
}

// Limits of the values a configuration may hold.
const (
	MaxStepsLimit    = 1000
	MaxBatchLimit    = 64
	MaxPixelsLimit   = 64 << 20 // 8192 × 8192
	MaxStrengthLimit = 100      // ComfyUI's LoRA strength range is −100…100
)

var (
	namePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	ratioPattern = regexp.MustCompile(`^([1-9][0-9]{0,2}):([1-9][0-9]{0,2})$`)
)

// Validate checks a snapshot and returns every problem it finds, each with
// its path. It is the one validation used by the admin service on publish,
// by the config client before applying, and by the CLI.
func Validate(s *Snapshot) Problems {
	var ps Problems
	if s.SchemaVersion != 0 && s.SchemaVersion != SchemaVersion {
		ps.add("schema_version", "unsupported schema version %d (this build reads %d)",
			s.SchemaVersion, SchemaVersion)
	}
	modelNames, modelTypes := validateModels(s, &ps)
	validateLoras(s, modelNames, modelTypes, &ps)
	validateWorkflows(s, modelNames, modelTypes, &ps)
	validateImageGen(s, &ps)
	return ps
}

func validateModels(s *Snapshot, ps *Problems) (names, types map[string]int) {
	names = map[string]int{}
	types = map[string]int{}
	for i, m := range s.Models {
		p := fmt.Sprintf("models[%d]", i)
		checkName(ps, p+".name", m.Name)
		if first, dup := names[m.Name]; dup && m.Name != "" {
			ps.add(p+".name", "duplicate %q (also models[%d])", m.Name, first)
		} else if m.Name != "" {
			names[m.Name] = i
		}
		checkText(ps, p+".display_name", m.DisplayName, true)
		if m.ModelType == "" {
			ps.add(p+".model_type", "required (a family such as sd15, sdxl, sd3, flux1)")
		} else if !namePattern.MatchString(m.ModelType) {
			ps.add(p+".model_type", "%q must be lowercase letters, digits, '.', '_' or '-'",
				m.ModelType)
		} else {
			types[m.ModelType]++
		}
		checkFile(ps, p+".file", m.File, true)
		if m.SortOrder < 0 {
			ps.add(p+".sort_order", "must not be negative, got %d", m.SortOrder)
		}
		if d := m.Defaults; d != nil {
			if d.Steps != nil && (*d.Steps < 1 || *d.Steps > maxSteps(s)) {
				ps.add(p+".defaults.steps", "must be between 1 and %d, got %d", maxSteps(s), *d.Steps)
			}
			checkRange(ps, p+".defaults.cfg", d.CFG, 0, 100)
			checkRange(ps, p+".defaults.guidance", d.Guidance, 0, 100)
		}
	}
	for t := range types {
		if _, clash := names[t]; clash {
			ps.add("models", "%q is both a model name and a model_type; references to it "+
				"would be ambiguous", t)
		}
	}
	return names, types
}

func maxSteps(s *Snapshot) int {
	if s.ImageGen.MaxSteps > 0 {
		return s.ImageGen.MaxSteps
	}
	return MaxStepsLimit
}

func validateLoras(s *Snapshot, names map[string]int, types map[string]int, ps *Problems) {
	seen := map[string]int{}
	for i, l := range s.Loras {
		p := fmt.Sprintf("loras[%d]", i)
		checkFile(ps, p+".name", l.Name, true)
		if first, dup := seen[l.Name]; dup && l.Name != "" {
			ps.add(p+".name", "duplicate %q (also loras[%d])", l.Name, first)
		} else if l.Name != "" {
			seen[l.Name] = i
		}
		checkText(ps, p+".display_name", l.DisplayName, true)
		checkRef(ps, p+".base_model", l.BaseModel, names, types)
		checkText(ps, p+".group", l.Group, false)
		if l.SortOrder < 0 {
			ps.add(p+".sort_order", "must not be negative, got %d", l.SortOrder)
		}
		checkRange(ps, p+".default_strength", l.DefaultStrength,
			-MaxStrengthLimit, MaxStrengthLimit)
		for j, w := range l.TriggerWords {
			if strings.TrimSpace(w) == "" {
				ps.add(fmt.Sprintf("%s.trigger_words[%d]", p, j), "must not be empty")
			}
		}
	}
}

func validateWorkflows(s *Snapshot, names map[string]int, types map[string]int, ps *Problems) {
	seen := map[string]int{}
	for i, w := range s.Workflows {
		p := fmt.Sprintf("workflows[%d]", i)
		checkName(ps, p+".name", w.Name)
		if first, dup := seen[w.Name]; dup && w.Name != "" {
			ps.add(p+".name", "duplicate %q (also workflows[%d])", w.Name, first)
		} else if w.Name != "" {
			seen[w.Name] = i
		}
		checkRef(ps, p+".base_model_type", w.BaseModelType, names, types)
		if len(w.WorkflowJSON) == 0 {
			if w.TemplatePath == "" {
				ps.add(p, "needs a graph: set workflow_json, or template_path in a local file")
			}
			// A template_path that could not be read was reported by the loader.
			continue
		}
		for _, gp := range checkGraph(w) {
			gp.Path = p + "." + gp.Path
			*ps = append(*ps, gp)
		}
	}
	// Every available model must be served by an available workflow.
	for i, m := range s.Models {
		if !m.IsAvailable() || m.Name == "" {
			continue
		}
		if _, ok := WorkflowFor(s, m); !ok {
			ps.add(fmt.Sprintf("models[%d]", i), "no available workflow for model %q "+
				"(a workflow's base_model_type must be %q or %q)", m.Name, m.Name, m.ModelType)
		}
	}
}

// checkGraph checks a workflow's graph and explicit params with the
// workflow engine: API format, the injection points present, params valid.
func checkGraph(w Workflow) []Problem {
	if !json.Valid(w.WorkflowJSON) {
		return []Problem{{Path: "workflow_json", Message: "not valid JSON"}}
	}
	if t := bytes.TrimSpace(w.WorkflowJSON); len(t) == 0 || t[0] != '{' {
		return []Problem{{Path: "workflow_json", Message: "must be a JSON object (a ComfyUI graph)"}}
	}
	params := make(workflow.Params, len(w.Params))
	for k, v := range w.Params {
		params[k] = v
	}
	var out []Problem
	for _, p := range workflow.Check(w.WorkflowJSON, params) {
		out = append(out, Problem{Path: p.Field, Message: p.Message})
	}
	return out
}

// WorkflowFor returns the available workflow that serves model m: one whose
// base_model_type names the model first, then one naming its model_type.
func WorkflowFor(s *Snapshot, m Model) (Workflow, bool) {
	for _, key := range []string{m.Name, m.ModelType} {
		for _, w := range s.Workflows {
			if w.IsAvailable() && w.BaseModelType == key && key != "" {
				return w, true
			}
		}
	}
	return Workflow{}, false
}

func validateImageGen(s *Snapshot, ps *Problems) {
	g := s.ImageGen
	const p = "image_gen"
	checkInt(ps, p+".max_steps", g.MaxSteps, 1, MaxStepsLimit)
	checkInt(ps, p+".max_batch", g.MaxBatch, 1, MaxBatchLimit)
	checkInt(ps, p+".max_pixels", g.MaxPixels, 64*64, MaxPixelsLimit)
	if g.MaxSteps >= 1 {
		checkInt(ps, p+".default_steps", g.DefaultSteps, 1, g.MaxSteps)
	} else {
		checkInt(ps, p+".default_steps", g.DefaultSteps, 1, MaxStepsLimit)
	}
	mult := 8
	for _, m := range s.Models {
		if m.IsAvailable() && SizeMultiple(m.ModelType) > mult {
			mult = SizeMultiple(m.ModelType)
		}
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"width", g.DefaultSize.Width}, {"height", g.DefaultSize.Height}} {
		fp := p + ".default_size." + d.name
		switch {
		case d.v < 64 || d.v > 8192:
			ps.add(fp, "must be between 64 and 8192, got %d", d.v)
		case d.v%mult != 0:
			ps.add(fp, "%d is not a multiple of %d (required by the configured model families)",
				d.v, mult)
		}
	}
	if px := g.DefaultSize.Width * g.DefaultSize.Height; g.MaxPixels > 0 && px > g.MaxPixels {
		ps.add(p+".default_size", "%d×%d is %d pixels, more than max_pixels %d",
			g.DefaultSize.Width, g.DefaultSize.Height, px, g.MaxPixels)
	}
	if len(g.SizeRatios) == 0 {
		ps.add(p+".size_ratios", "at least one ratio is required, such as \"1:1\"")
	}
	seen := map[string]bool{}
	for i, r := range g.SizeRatios {
		rp := fmt.Sprintf("%s.size_ratios[%d]", p, i)
		if _, _, err := ParseRatio(r); err != nil {
			ps.add(rp, "%v", err)
		} else if seen[r] {
			ps.add(rp, "duplicate %q", r)
		}
		seen[r] = true
	}
}

// ParseRatio parses "W:H" with whole numbers from 1 to 999.
func ParseRatio(r string) (w, h int, err error) {
	m := ratioPattern.FindStringSubmatch(r)
	if m == nil {
		return 0, 0, fmt.Errorf("%q is not a ratio like \"16:9\"", r)
	}
	w, _ = strconv.Atoi(m[1])
	h, _ = strconv.Atoi(m[2])
	return w, h, nil
}

func checkName(ps *Problems, p, v string) {
	switch {
	case v == "":
		ps.add(p, "required")
	case len(v) > 128:
		ps.add(p, "longer than 128 characters")
	case !namePattern.MatchString(v):
		ps.add(p, "%q must start with a lowercase letter or digit and hold only "+
			"lowercase letters, digits, '.', '_' or '-'", v)
	}
}

func checkText(ps *Problems, p, v string, required bool) {
	switch {
	case v == "" && required:
		ps.add(p, "required")
	case len(v) > 200:
		ps.add(p, "longer than 200 characters")
	case strings.ContainsAny(v, "\x00\r\n"):
		ps.add(p, "must be one line of text")
	}
}

// checkFile checks a file name as ComfyUI lists it: relative, with an
// optional subfolder, no way out of the model folder.
func checkFile(ps *Problems, p, v string, required bool) {
	if v == "" {
		if required {
			ps.add(p, "required (the file name as ComfyUI lists it)")
		}
		return
	}
	slashed := strings.ReplaceAll(v, `\`, "/")
	switch {
	case len(v) > 255:
		ps.add(p, "longer than 255 characters")
	case strings.ContainsAny(v, "\x00\r\n"):
		ps.add(p, "must be one line of text")
	case path.IsAbs(slashed) || (len(v) > 1 && v[1] == ':'):
		ps.add(p, "%q must be relative to ComfyUI's model folder", v)
	case path.Clean(slashed) != slashed || strings.HasPrefix(slashed, "../") || slashed == "..":
		ps.add(p, "%q must be a plain relative path (no '.', '..' or empty parts)", v)
	}
}

func checkRef(ps *Problems, p, v string, names, types map[string]int) {
	if v == "" {
		ps.add(p, "required (a model name or model_type)")
		return
	}
	if _, ok := names[v]; ok {
		return
	}
	if _, ok := types[v]; ok {
		return
	}
	ps.add(p, "no model or model_type %q", v)
}

func checkRange(ps *Problems, p string, v *float64, lo, hi float64) {
	if v == nil {
		return
	}
	if math.IsNaN(*v) || *v < lo || *v > hi {
		ps.add(p, "must be between %g and %g, got %g", lo, hi, *v)
	}
}

func checkInt(ps *Problems, p string, v, lo, hi int) {
	if v < lo || v > hi {
		if v == 0 {
			ps.add(p, "required, between %d and %d", lo, hi)
			return
		}
		ps.add(p, "must be between %d and %d, got %d", lo, hi, v)
	}
}

// SizeForRatio turns a "W:H" ratio into a size with about the pixel count
// of base, each side rounded to a multiple of mult (at least mult).
func SizeForRatio(base Size, ratio string, mult int) (Size, error) {
	rw, rh, err := ParseRatio(ratio)
	if err != nil {
		return Size{}, err
	}
	if mult <= 0 {
		mult = 8
	}
	px := float64(base.Width) * float64(base.Height)
	h := math.Sqrt(px * float64(rh) / float64(rw))
	w := h * float64(rw) / float64(rh)
	round := func(v float64) int {
		n := int(math.Round(v/float64(mult))) * mult
		return max(n, mult)
	}
	out := Size{Width: round(w), Height: round(h)}
	// Never exceed the base's pixel count, which the limits were set for.
	for float64(out.Width*out.Height) > px && (out.Width > mult || out.Height > mult) {
		if out.Width >= out.Height {
			out.Width -= mult
		} else {
			out.Height -= mult
		}
	}
	return out, nil
}

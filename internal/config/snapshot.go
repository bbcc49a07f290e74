// Package config holds the configuration snapshot: the one document, in four
// sections (models, LoRAs, workflows, image-gen defaults), that the local YAML
// file, the admin service, the sync API, the client cache and the CLI all
// share. It loads snapshots from YAML and JSON, validates them with one
// function, and gives them a canonical JSON form and hash.
package config

import (
	"encoding/json"
	"reflect"
	"time"
)

// SchemaVersion is the only schema version this build understands.
const SchemaVersion = 1

// Snapshot is a whole configuration with the meta of the release it belongs
// to. Meta fields are empty for a snapshot read from a local file.
type Snapshot struct {
	SchemaVersion int        `json:"schema_version" yaml:"schema_version"`
	Models        []Model    `json:"models" yaml:"models"`
	Loras         []Lora     `json:"loras" yaml:"loras"`
	Workflows     []Workflow `json:"workflows" yaml:"workflows"`
	ImageGen      ImageGen   `json:"image_gen" yaml:"image_gen"`

	// Version is the release number; 0 for a snapshot that was never published.
	Version int64 `json:"version,omitempty" yaml:"version,omitempty"`
	// Hash is "sha256:" and the hex digest of the canonical JSON of the four
	// sections (see Canonical).
	Hash        string    `json:"hash,omitempty" yaml:"hash,omitempty"`
	PublishedAt time.Time `json:"published_at,omitzero" yaml:"published_at,omitempty"`
	PublishedBy string    `json:"published_by,omitempty" yaml:"published_by,omitempty"`
}

// Model is one base model that users can pick.
type Model struct {
	// Name is the unique id: [a-z0-9][a-z0-9._-]*.
	Name        string `json:"name" yaml:"name"`
	DisplayName string `json:"display_name" yaml:"display_name"`
	// ModelType is the family (sd15, sdxl, sd3, flux1, …). Free text; known
	// families add checks (see Families).
	ModelType string `json:"model_type" yaml:"model_type"`
	// File is the model's file name on ComfyUI (ckpt_name or unet_name). It
	// may hold a subfolder.
	File string `json:"file" yaml:"file"`
	// Available defaults to true when omitted.
	Available *bool          `json:"available" yaml:"available"`
	SortOrder int            `json:"sort_order" yaml:"sort_order"`
	Defaults  *ModelDefaults `json:"defaults,omitempty" yaml:"defaults,omitempty"`
}

// ModelDefaults are per-model generation defaults; each one left out falls
// back to the image_gen section or the workflow template.
type ModelDefaults struct {
	Steps     *int     `json:"steps,omitempty" yaml:"steps,omitempty"`
	CFG       *float64 `json:"cfg,omitempty" yaml:"cfg,omitempty"`
	Guidance  *float64 `json:"guidance,omitempty" yaml:"guidance,omitempty"`
	Sampler   string   `json:"sampler,omitempty" yaml:"sampler,omitempty"`
	Scheduler string   `json:"scheduler,omitempty" yaml:"scheduler,omitempty"`
}

// Lora is one LoRA file that users can add to a generation.
type Lora struct {
	// Name is the file name on ComfyUI, unique; it may hold a subfolder.
	Name        string `json:"name" yaml:"name"`
	DisplayName string `json:"display_name" yaml:"display_name"`
	// BaseModel is a model name or a model_type the LoRA works with.
	BaseModel string `json:"base_model" yaml:"base_model"`
	// Group is the heading the UI lists the LoRA under.
	Group     string `json:"group" yaml:"group"`
	Available *bool  `json:"available" yaml:"available"`
	SortOrder int    `json:"sort_order" yaml:"sort_order"`
	// DefaultStrength defaults to 1 when omitted.
	DefaultStrength *float64 `json:"default_strength" yaml:"default_strength"`
	TriggerWords    []string `json:"trigger_words" yaml:"trigger_words"`
}

// Workflow is one ComfyUI workflow template.
type Workflow struct {
	Name string `json:"name" yaml:"name"`
	// BaseModelType is a model name, or a model_type that covers several
	// models.
	BaseModelType string `json:"base_model_type" yaml:"base_model_type"`
	// TemplatePath is only used in a local file: a path relative to the
	// YAML file's folder that the loader reads into WorkflowJSON. It is not
	// part of the canonical form.
	TemplatePath string `json:"template_path,omitempty" yaml:"template_path,omitempty"`
	// WorkflowJSON is the ComfyUI API-format graph, kept byte-exact.
	WorkflowJSON RawJSON `json:"workflow_json,omitempty" yaml:"workflow_json,omitempty"`
	Available    *bool   `json:"available" yaml:"available"`
	// Params names explicit injection points ("6.text") that override the
	// ones the workflow engine discovers.
	Params map[string]StringList `json:"params,omitempty" yaml:"params,omitempty"`
}

// ImageGen holds the default generation parameters and their limits.
type ImageGen struct {
	DefaultSize  Size     `json:"default_size" yaml:"default_size"`
	SizeRatios   []string `json:"size_ratios" yaml:"size_ratios"`
	DefaultSteps int      `json:"default_steps" yaml:"default_steps"`
	MaxSteps     int      `json:"max_steps" yaml:"max_steps"`
	MaxPixels    int      `json:"max_pixels" yaml:"max_pixels"`
	MaxBatch     int      `json:"max_batch" yaml:"max_batch"`
}

// Size is an image size in pixels.
type Size struct {
	Width  int `json:"width" yaml:"width"`
	Height int `json:"height" yaml:"height"`
}

// IsAvailable reports the model's availability flag, true when omitted.
func (m Model) IsAvailable() bool { return m.Available == nil || *m.Available }

// IsAvailable reports the LoRA's availability flag, true when omitted.
func (l Lora) IsAvailable() bool { return l.Available == nil || *l.Available }

// IsAvailable reports the workflow's availability flag, true when omitted.
func (w Workflow) IsAvailable() bool { return w.Available == nil || *w.Available }

// Strength returns the LoRA's default strength, 1 when omitted.
func (l Lora) Strength() float64 {
	if l.DefaultStrength == nil {
		return 1
	}
	return *l.DefaultStrength
}

// normalize fills in the defaults of omitted fields, so that a snapshot that
// leaves them out and one that spells them out have the same canonical form.
func (s *Snapshot) normalize() {
	if s.SchemaVersion == 0 {
		s.SchemaVersion = SchemaVersion
	}
	yes := func() *bool { b := true; return &b }
	if s.Models == nil {
		s.Models = []Model{}
	}
	if s.Loras == nil {
		s.Loras = []Lora{}
	}
	if s.Workflows == nil {
		s.Workflows = []Workflow{}
	}
	if s.ImageGen.SizeRatios == nil {
		s.ImageGen.SizeRatios = []string{}
	}
	for i := range s.Models {
		if s.Models[i].Available == nil {
			s.Models[i].Available = yes()
		}
	}
	for i := range s.Loras {
		l := &s.Loras[i]
		if l.Available == nil {
			l.Available = yes()
		}
		if l.DefaultStrength == nil {
			one := 1.0
			l.DefaultStrength = &one
		}
		if l.TriggerWords == nil {
			l.TriggerWords = []string{}
		}
	}
	for i := range s.Workflows {
		if s.Workflows[i].Available == nil {
			s.Workflows[i].Available = yes()
		}
	}
}

// Sections returns a copy of s without its release meta.
func (s *Snapshot) Sections() Snapshot {
	c := *s
	c.Version, c.Hash, c.PublishedAt, c.PublishedBy = 0, "", time.Time{}, ""
	// Copy the lists so that normalizing the copy cannot touch s, which may
	// be shared by concurrent readers.
	c.Models = append([]Model(nil), s.Models...)
	c.Loras = append([]Lora(nil), s.Loras...)
	c.Workflows = append([]Workflow(nil), s.Workflows...)
	return c
}

// StringList is a list of strings that may be written as one string.
type StringList []string

// UnmarshalJSON accepts a string or an array of strings.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: typeOfStringList}
	}
	*l = many
	return nil
}

var typeOfStringList = reflect.TypeFor[StringList]()

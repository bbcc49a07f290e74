package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// canonicalSections is what the hash covers: the four sections and nothing
// else, neither meta nor template paths.
type canonicalSections struct {
	Models    []Model    `json:"models"`
	Loras     []Lora     `json:"loras"`
	Workflows []Workflow `json:"workflows"`
	ImageGen  ImageGen   `json:"image_gen"`
}

// Canonical returns the canonical JSON of the four sections: omitted fields
// filled with their defaults, template paths left out, object keys sorted,
// no insignificant white space, no HTML escaping, and numbers inside
// workflow graphs kept as written. The same content gives the same bytes
// whether it was read from YAML or JSON, in any key order.
func (s *Snapshot) Canonical() ([]byte, error) {
	c := s.Sections()
	c.normalize()
	wfs := make([]Workflow, len(c.Workflows))
	for i, w := range c.Workflows {
		w.TemplatePath = ""
		wfs[i] = w
	}
	return CanonicalJSON(canonicalSections{
		Models: c.Models, Loras: c.Loras, Workflows: wfs, ImageGen: c.ImageGen,
	})
}

// ComputeHash returns "sha256:" and the hex digest of s's canonical JSON.
func (s *Snapshot) ComputeHash() (string, error) {
	b, err := s.Canonical()
	if err != nil {
		return "", err
	}
	return HashBytes(b), nil
}

// HashBytes returns "sha256:" and the hex digest of b.
func HashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CanonicalJSON encodes v as JSON with sorted object keys, compact, without
// HTML escaping, keeping the text of every number.
func CanonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Maps encode with sorted keys; json.Number encodes its own text.
	if err := enc.Encode(generic); err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

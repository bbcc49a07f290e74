package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
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

// ComputeHash returns "sha256:" and the hex digest of s's canonical JSON
// with every number in one spelling (see CanonicalNumber), so that 7.0 and
// 7, or 1e3 and 1000, hash alike while the stored graphs keep their text.
func (s *Snapshot) ComputeHash() (string, error) {
	b, err := s.Canonical()
	if err != nil {
		return "", err
	}
	n, err := normalizedJSON(b)
	if err != nil {
		return "", err
	}
	return HashBytes(n), nil
}

// HashBytes returns "sha256:" and the hex digest of b.
func HashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CanonicalJSON encodes v as JSON with sorted object keys, compact, without
// HTML escaping, keeping the text of every number.
func CanonicalJSON(v any) ([]byte, error) { return canonicalJSON(v, false) }

// normalizedJSON re-encodes canonical JSON with numbers in one spelling.
func normalizedJSON(b []byte) ([]byte, error) {
	return canonicalJSON(json.RawMessage(b), true)
}

func canonicalJSON(v any, numbers bool) ([]byte, error) {
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
	if numbers {
		generic = normalizeNumbers(generic)
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

func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = normalizeNumbers(e)
		}
	case json.Number:
		return json.Number(CanonicalNumber(string(t)))
	}
	return v
}

var plainInt = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// CanonicalNumber returns the one spelling of a JSON number's exact value:
// integers without fraction or exponent ("1.0" and "1e3" become "1" and
// "1000"), other values as plain decimals without trailing zeros ("7.50"
// becomes "7.5"). No precision is lost. Numbers with exponents beyond
// ±1000 are left as written.
func CanonicalNumber(s string) string {
	if plainInt.MatchString(s) {
		if s == "-0" {
			return "0"
		}
		return s
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 1000 || e < -1000 {
			return s
		}
		mant, exp = s[:i], e
	}
	frac := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		frac = len(mant) - i - 1
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return s
	}
	if r.IsInt() {
		return r.Num().String()
	}
	// frac-exp decimal places hold the exact value; trim what is zero.
	out := r.FloatString(max(frac-exp, 1))
	out = strings.TrimRight(out, "0")
	return strings.TrimSuffix(out, ".")
}

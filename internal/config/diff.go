package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Diff is what changed from one snapshot to another, per section.
type Diff struct {
	Models    SectionDiff   `json:"models"`
	Loras     SectionDiff   `json:"loras"`
	Workflows SectionDiff   `json:"workflows"`
	ImageGen  []FieldChange `json:"image_gen"`
}

// SectionDiff lists the items of one section that were added, removed or
// changed, by name.
type SectionDiff struct {
	Added   []string     `json:"added"`
	Removed []string     `json:"removed"`
	Changed []ItemChange `json:"changed"`
}

// ItemChange is one item present in both snapshots with different fields.
type ItemChange struct {
	Name   string        `json:"name"`
	Fields []FieldChange `json:"fields"`
}

// FieldChange is one field's canonical JSON before and after; a side is
// null when the field is absent there.
type FieldChange struct {
	Field  string          `json:"field"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// Empty reports whether the diff holds no change.
func (d Diff) Empty() bool {
	return d.Models.empty() && d.Loras.empty() && d.Workflows.empty() && len(d.ImageGen) == 0
}

func (s SectionDiff) empty() bool {
	return len(s.Added) == 0 && len(s.Removed) == 0 && len(s.Changed) == 0
}

// Compare returns the differences from a to b. Items are matched by name;
// order within a section is not a change (sort_order is).
func Compare(a, b *Snapshot) (Diff, error) {
	ca, cb := a.Sections(), b.Sections()
	ca.normalize()
	cb.normalize()
	var d Diff
	var err error
	if d.Models, err = compareSection(named(ca.Models, func(m Model) string { return m.Name }),
		named(cb.Models, func(m Model) string { return m.Name })); err != nil {
		return d, err
	}
	if d.Loras, err = compareSection(named(ca.Loras, func(l Lora) string { return l.Name }),
		named(cb.Loras, func(l Lora) string { return l.Name })); err != nil {
		return d, err
	}
	strip := func(w Workflow) Workflow { w.TemplatePath = ""; return w }
	wa, wb := make([]Workflow, len(ca.Workflows)), make([]Workflow, len(cb.Workflows))
	for i, w := range ca.Workflows {
		wa[i] = strip(w)
	}
	for i, w := range cb.Workflows {
		wb[i] = strip(w)
	}
	if d.Workflows, err = compareSection(named(wa, func(w Workflow) string { return w.Name }),
		named(wb, func(w Workflow) string { return w.Name })); err != nil {
		return d, err
	}
	d.ImageGen, err = compareFields(ca.ImageGen, cb.ImageGen)
	return d, err
}

type namedItem struct {
	name string
	item any
}

func named[T any](items []T, name func(T) string) []namedItem {
	out := make([]namedItem, len(items))
	for i, it := range items {
		out[i] = namedItem{name(it), it}
	}
	return out
}

func compareSection(a, b []namedItem) (SectionDiff, error) {
	d := SectionDiff{Added: []string{}, Removed: []string{}, Changed: []ItemChange{}}
	inA := map[string]any{}
	for _, it := range a {
		inA[it.name] = it.item
	}
	inB := map[string]bool{}
	for _, it := range b {
		inB[it.name] = true
		before, ok := inA[it.name]
		if !ok {
			d.Added = append(d.Added, it.name)
			continue
		}
		fields, err := compareFields(before, it.item)
		if err != nil {
			return d, err
		}
		if len(fields) > 0 {
			d.Changed = append(d.Changed, ItemChange{Name: it.name, Fields: fields})
		}
	}
	for _, it := range a {
		if !inB[it.name] {
			d.Removed = append(d.Removed, it.name)
		}
	}
	return d, nil
}

// compareFields compares two values field by field in canonical JSON.
func compareFields(a, b any) ([]FieldChange, error) {
	fa, err := fieldsOf(a)
	if err != nil {
		return nil, err
	}
	fb, err := fieldsOf(b)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []FieldChange
	for _, k := range names {
		if bytes.Equal(fa[k], fb[k]) {
			continue
		}
		out = append(out, FieldChange{Field: k, Before: orNull(fa[k]), After: orNull(fb[k])})
	}
	return out, nil
}

func fieldsOf(v any) (map[string]json.RawMessage, error) {
	// Numbers in one spelling: 7.0 and 7 are no change.
	b, err := canonicalJSON(v, true)
	if err != nil {
		return nil, fmt.Errorf("comparing: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("comparing: %w", err)
	}
	return m, nil
}

func orNull(b json.RawMessage) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return b
}

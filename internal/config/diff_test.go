package config

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompare(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	empty := SectionDiff{Added: []string{}, Removed: []string{}, Changed: []ItemChange{}}
	tests := []struct {
		name   string
		modify func(b *Snapshot)
		want   Diff
	}{
		{"identical", func(b *Snapshot) {}, Diff{Models: empty, Loras: empty, Workflows: empty}},
		{"order of items is not a change", func(b *Snapshot) {
			b.Models[0], b.Models[1] = b.Models[1], b.Models[0]
			b.Loras[0], b.Loras[1] = b.Loras[1], b.Loras[0]
			b.Workflows[0], b.Workflows[1] = b.Workflows[1], b.Workflows[0]
		}, Diff{Models: empty, Loras: empty, Workflows: empty}},
		{"defaults spelled out are not a change", func(b *Snapshot) {
			b.Models[0].Available = ptr(true)
			b.Loras[1].DefaultStrength = ptr(1.0)
			b.Loras[1].TriggerWords = []string{}
			b.Workflows[0].TemplatePath = "workflows/flux.json"
			b.Version, b.Hash = 7, "sha256:x"
		}, Diff{Models: empty, Loras: empty, Workflows: empty}},
		{"added, removed and changed", func(b *Snapshot) {
			b.Models = append(b.Models, Model{Name: "sd35", DisplayName: "SD 3.5",
				ModelType: "sd3", File: "sd35.safetensors"})
			b.Models[1].DisplayName = "SDXL 1.0"
			b.Models[1].SortOrder = 5
			b.Loras = b.Loras[1:]
			b.Workflows[0].WorkflowJSON = RawJSON(`{"1":{}}`)
			b.Workflows[1].Available = ptr(false)
			b.ImageGen.MaxSteps = 80
			b.ImageGen.SizeRatios = []string{"1:1"}
		}, Diff{
			Models: SectionDiff{Added: []string{"sd35"}, Removed: []string{},
				Changed: []ItemChange{{Name: "sdxl-base", Fields: []FieldChange{
					{Field: "display_name", Before: raw(`"SDXL Base"`), After: raw(`"SDXL 1.0"`)},
					{Field: "sort_order", Before: raw(`2`), After: raw(`5`)},
				}}}},
			Loras: SectionDiff{Added: []string{}, Removed: []string{"flux/detail.safetensors"},
				Changed: []ItemChange{}},
			Workflows: SectionDiff{Added: []string{}, Removed: []string{}, Changed: []ItemChange{
				{Name: "flux1-workflow", Fields: []FieldChange{{Field: "workflow_json",
					Before: raw(testGraph), After: raw(`{"1":{}}`)}}},
				{Name: "sdxl-workflow", Fields: []FieldChange{{Field: "available",
					Before: raw(`true`), After: raw(`false`)}}},
			}},
			ImageGen: []FieldChange{
				{Field: "max_steps", Before: raw(`60`), After: raw(`80`)},
				{Field: "size_ratios", Before: raw(`["1:1","16:9","9:16"]`), After: raw(`["1:1"]`)},
			},
		}},
		{"field added to an item", func(b *Snapshot) {
			b.Models[1].Defaults = &ModelDefaults{Steps: ptr(30)}
		}, Diff{Models: SectionDiff{Added: []string{}, Removed: []string{},
			Changed: []ItemChange{{Name: "sdxl-base", Fields: []FieldChange{
				{Field: "defaults", Before: raw(`null`), After: raw(`{"steps":30}`)}}}}},
			Loras: empty, Workflows: empty}},
		{"renamed item is removed and added", func(b *Snapshot) {
			b.Workflows[1].Name = "sdxl-workflow-v2"
		}, Diff{Models: empty, Loras: empty, Workflows: SectionDiff{
			Added: []string{"sdxl-workflow-v2"}, Removed: []string{"sdxl-workflow"},
			Changed: []ItemChange{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := validBase(), validBase()
			tt.modify(b)
			got, err := Compare(a, b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compare (-want +got):\n%s", diff)
			}
			if got.Empty() != (len(tt.want.ImageGen) == 0 && tt.want.Models.empty() &&
				tt.want.Loras.empty() && tt.want.Workflows.empty()) {
				t.Errorf("Empty() = %v for %+v", got.Empty(), got)
			}
		})
	}
}

func TestCompareDoesNotChangeItsArguments(t *testing.T) {
	a, b := validBase(), validBase()
	b.Models = b.Models[:1]
	if _, err := Compare(a, b); err != nil {
		t.Fatal(err)
	}
	if a.Models[0].Available != nil || a.Loras[1].DefaultStrength != nil {
		t.Errorf("Compare filled in defaults on its argument: %+v", a.Models[0])
	}
}

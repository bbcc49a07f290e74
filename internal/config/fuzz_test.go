package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the YAML and JSON loaders. They must
// never panic; they return either a snapshot or Problems with messages;
// and a snapshot that validates has a canonical form that loads back as
// JSON to the same canonical bytes.
func FuzzLoad(f *testing.F) {
	for _, b := range StarterFiles() {
		f.Add(b)
	}
	for _, s := range []string{
		minimalYAML,
		minimalJSON,
		"models:\n\t- name: a\n",
		"models:\n  - name: a\n    name: b\n",
		`{"models":[{"name":"a","name":"b"}]}`,
		"models:\n  - name: a\n    sort_order: \"one\"\n",
		`{"models":[{"name":"a","sort_order":"one"}]}`,
		"models:\n  - name: a\n    dispaly_name: x\n",
		"loras:\n  - name: \xff\xfe\n",
		"",
		"# only a comment\n",
		"workflows:\n  - name: w\n    template_path: ../../etc/passwd\n",
		"workflows:\n  - name: w\n    workflow_json: {a: &a [1, 2], b: [*a, *a, *a]}\n",
		"workflows:\n  - name: w\n    workflow_json: &g {a: [*g]}\n",
		"workflows:\n  - name: w\n    workflow_json: {seed: 18446744073709551615, x: 0x1F}\n",
		"image_gen: {default_size: [1, 2]}\n",
		"---\n---\n",
		"[]",
		`{"workflows":[{"name":"w","params":{"seed":3}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, _, err := DecodeYAML(data, "f.yaml"); err != nil {
			checkFuzzProblems(t, err)
		}
		if _, _, err := DecodeJSON(data, "f.json"); err != nil {
			checkFuzzProblems(t, err)
		}
		for _, parse := range []func() (*Snapshot, error){
			func() (*Snapshot, error) { return ParseYAML(data, "f.yaml", "") },
			func() (*Snapshot, error) { return ParseJSON(data, "f.json") },
		} {
			s, err := parse()
			if err != nil {
				checkFuzzProblems(t, err)
				continue
			}
			canon, err := s.Canonical()
			if err != nil {
				t.Fatalf("a valid snapshot has no canonical form: %v", err)
			}
			again, err := ParseJSON(canon, "canonical.json")
			if err != nil {
				t.Fatalf("the canonical form of a valid snapshot does not load: %v\n%s", err, canon)
			}
			canon2, err := again.Canonical()
			if err != nil || string(canon2) != string(canon) {
				t.Fatalf("canonical form changed on reload (%v):\n%s\n%s", err, canon, canon2)
			}
		}
	})
}

// checkFuzzProblems checks that a loader's error is Problems, each with a
// message.
func checkFuzzProblems(t *testing.T, err error) {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) || len(ps) == 0 {
		t.Fatalf("loader error is not a list of problems: %T %v", err, err)
	}
	for _, p := range ps {
		if strings.TrimSpace(p.Message) == "" {
			t.Fatalf("problem without a message: %+v", p)
		}
	}
}

package workflow

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDetectInspectRender feeds arbitrary files and params through Detect,
// Parse, Inspect, Check and Render. Nothing may panic; a rendered graph must
// parse again, and rendering twice must give the same bytes.
func FuzzDetectInspectRender(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	shared, _ := filepath.Glob(filepath.Join(sharedDir, "*.json"))
	for _, p := range append(paths, shared...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data, "")
		}
	}
	f.Add([]byte(`{"prompt":{"1":{"class_type":"KSampler","inputs":{"seed":["1",0]}}}}`),
		`{"seed":"1.seed"}`)
	f.Add([]byte(`{"input":{"workflow":"{\"1\":{\"class_type\":\"X\",\"inputs\":{}}}"}}`), "")
	f.Add([]byte(`{"nodes":[],"links":[]}`), `{"model":["a.b"]}`)
	f.Fuzz(func(t *testing.T, data []byte, params string) {
		var p Params
		if params != "" && json.Unmarshal([]byte(params), &p) != nil {
			p = nil
		}
		Detect(data)
		Check(data, p)
		g, err := Parse(data)
		if err != nil {
			return
		}
		if _, err := g.MarshalJSON(); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Inspect(p); err != nil {
			return
		}
		r := fullRequest(twoLoras...)
		r.Params = p
		for _, replace := range []bool{false, true} {
			r.ReplaceLoras = replace
			out, err := g.Render(r)
			if err != nil {
				continue
			}
			if _, err := Parse(out); err != nil {
				t.Fatalf("rendered graph does not parse: %v\n%s", err, out)
			}
			again, _ := g.Render(r)
			if !bytes.Equal(out, again) {
				t.Fatalf("two renders differ:\n%s\n%s", out, again)
			}
		}
	})
}

package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const tinyAPI = `{"1":{"class_type":"X","inputs":{}}}`

func TestDetect(t *testing.T) {
	quoted, _ := json.Marshal(tinyAPI)
	tests := []struct {
		name      string
		in        string
		format    Format
		graph     string // the unwrapped bytes for api
		errSubstr string
	}{
		{"bare api", tinyAPI, FormatAPI, tinyAPI, ""},
		{"node id nodes is still api", `{"nodes":{"class_type":"X","inputs":{}}}`, FormatAPI,
			`{"nodes":{"class_type":"X","inputs":{}}}`, ""},
		{"prompt envelope", `{"prompt":` + tinyAPI + `,"client_id":"c"}`, FormatAPI, tinyAPI, ""},
		{"input workflow envelope", `{"input":{"workflow":` + tinyAPI + `,"seed":1}}`,
			FormatAPI, tinyAPI, ""},
		{"workflow as a JSON string", `{"input":{"workflow":` + string(quoted) + `}}`,
			FormatAPI, tinyAPI, ""},
		{"ui version 0.4", `{"last_node_id":9,"last_link_id":9,"nodes":[],"links":[],` +
			`"version":0.4}`, FormatUI, "", ""},
		{"ui schema 1", `{"version":1,"state":{"lastNodeId":3},"nodes":[{"id":1}]}`,
			FormatUI, "", ""},
		{"ui links without nodes", `{"last_node_id":1,"links":[]}`, FormatUI, "", ""},
		{"ui inside envelope", `{"prompt":{"nodes":[],"links":[]}}`, FormatUI, "", ""},
		{"mostly nodes is api", `{"1":{"class_type":"X","inputs":{}},"2":{"inputs":{}}}`,
			FormatAPI, `{"1":{"class_type":"X","inputs":{}},"2":{"inputs":{}}}`, ""},
		{"array", `[1,2]`, FormatUnknown, "", "top level is an array"},
		{"empty object", `{}`, FormatUnknown, "", "empty"},
		{"not json", `{"1":`, FormatUnknown, "", "reading workflow JSON"},
		{"strings", `{"a":"b"}`, FormatUnknown, "", "no node has a class_type"},
		{"prompt is text", `{"prompt":"a cat"}`, FormatUnknown, "", "no node has a class_type"},
		{"class_type not a string", `{"1":{"class_type":5,"inputs":{}}}`, FormatUnknown, "",
			"no node has a class_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format, graph, err := Detect([]byte(tt.in))
			if format != tt.format {
				t.Errorf("format = %q, want %q", format, tt.format)
			}
			if tt.errSubstr == "" && err != nil {
				t.Fatalf("error = %v", err)
			}
			if tt.errSubstr != "" && (err == nil || !strings.Contains(err.Error(), tt.errSubstr)) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.errSubstr)
			}
			if string(graph) != tt.graph {
				t.Errorf("graph = %s, want %s", graph, tt.graph)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"no class_type", `{"1":{"class_type":"X","inputs":{}},"2":{"inputs":{}}}`,
			[]string{`node "2" has no class_type`}},
		{"no inputs", `{"1":{"class_type":"X"}}`, []string{`node "1" has no inputs object`}},
		{"inputs not an object", `{"1":{"class_type":"X","inputs":[1]}}`,
			[]string{`node "1" inputs: expected an object, found an array`}},
		{"dangling link", `{"1":{"class_type":"X","inputs":{"model":["9",0]}}}`,
			[]string{`node "1" input "model" links to node "9", which is not in the graph`}},
		{"fractional output", `{"1":{"class_type":"X","inputs":{"a":["1",0.5]}}}`,
			[]string{`link output index 0.5 is not a whole number`}},
		{"negative output", `{"1":{"class_type":"X","inputs":{"a":["1",-1]}}}`,
			[]string{`link output index -1`}},
		{"duplicate node", `{"1":{"class_type":"X","inputs":{}},"1":{"class_type":"Y","inputs":{}}}`,
			[]string{`node "1" appears twice`}},
		{"duplicate input", `{"1":{"class_type":"X","inputs":{"a":1,"a":2}}}`,
			[]string{`node "1": input "a" appears twice`}},
		{"empty class", `{"1":{"class_type":"","inputs":{}},"2":{"class_type":"X","inputs":{}}}`,
			[]string{`node "1": class_type must be a non-empty string`}},
		{"node not an object", `{"1":{"class_type":"X","inputs":{}},"2":7}`,
			[]string{`node "2": expected an object, found a number`}},
		{"several at once", `{"1":{"class_type":"X","inputs":{"m":["8",0]}},"2":{"inputs":{}}}`,
			[]string{`node "2" has no class_type`, `links to node "8"`}},
		{"input links to its own node", `{"49":{"class_type":"KSampler","inputs":` +
			`{"seed":1,"model":["49",0]}}}`,
			[]string{`links form a cycle: node "49" input "model" links to node "49" itself`}},
		{"cycle through three nodes", `{"1":{"class_type":"X","inputs":{"a":["2",0]}},` +
			`"2":{"class_type":"X","inputs":{"v":1,"b":["3",0]}},` +
			`"3":{"class_type":"X","inputs":{"c":["1",0]}}}`,
			[]string{`links form a cycle: node "1" input "a" links to node "2", node "2" ` +
				`input "b" links to node "3", node "3" input "c" links to node "1"`}},
		{"two cycles sharing a node", `{"1":{"class_type":"X","inputs":{"a":["2",0]}},` +
			`"2":{"class_type":"X","inputs":{"b":["1",0],"c":["3",0]}},` +
			`"3":{"class_type":"X","inputs":{"d":["2",1]}}}`,
			[]string{`node "2" input "b" links to node "1"`,
				`node "2" input "c" links to node "3", node "3" input "d" links to node "2"`}},
		{"link with a numeric node id", `{"4":{"class_type":"X","inputs":{}},` +
			`"6":{"class_type":"Y","inputs":{"model":[4,0]}}}`,
			[]string{`node "6" input "model" looks like a link but its node id is a number; ` +
				`ComfyUI's API format writes ["4",0]`}},
		{"invalid UTF-8", "{\"1\":{\"class_type\":\"X\",\n\"inputs\":{\"text\":\"caf\xe9\"}}}",
			[]string{"invalid UTF-8 byte 0xe9 at byte offset 45 (line 2, column 22)"}},
		{"invalid UTF-8 after multibyte text", "{\"1\":{\"class_type\":\"X\",\"inputs\":" +
			"{\"text\":\"日本\xff\"}}}", []string{"0xff at byte offset 47 (line 1, column 44)"}},
		{"invalid UTF-8 in an envelope", "{\"prompt\":{\"1\":{\"class_type\":\"X\"," +
			"\"inputs\":{\"t\":\"\xc3\"}}}}", []string{"invalid UTF-8 byte 0xc3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			probs := Check([]byte(tt.in), nil)
			if len(probs) < len(tt.want) {
				t.Errorf("Check = %v, want at least %d problems", probs, len(tt.want))
			}
		})
	}
}

// TestParseLiteralLists checks values that look like links but are not:
// ComfyUI reads them as literal lists, and so does Parse.
func TestParseLiteralLists(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"two numbers naming no node", `{"1":{"class_type":"X","inputs":{"size":[512,768]}}}`},
		{"wrapped list", `{"1":{"class_type":"X","inputs":{"l":{"__value__":[1,0]}}}}`},
		{"three elements", `{"1":{"class_type":"X","inputs":{"l":[1,0,0]}}}`},
		{"fraction", `{"1":{"class_type":"X","inputs":{"l":[1,0.5]}}}`},
		{"diamond, not a cycle", `{"1":{"class_type":"X","inputs":{}},` +
			`"2":{"class_type":"X","inputs":{"a":["1",0]}},` +
			`"3":{"class_type":"X","inputs":{"a":["1",0]}},` +
			`"4":{"class_type":"X","inputs":{"a":["2",0],"b":["3",0]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, _ := g.MarshalJSON()
			if string(got) != tt.in {
				t.Errorf("round trip = %s, want %s", got, tt.in)
			}
		})
	}
}

// TestCheckLongChain checks that a chain of many linked nodes is no cycle
// and does not exhaust the stack.
func TestCheckLongChain(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"0":{"class_type":"X","inputs":{}}`)
	const n = 20000
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `,"%d":{"class_type":"X","inputs":{"a":["%d",0]}}`, i, i-1)
	}
	fmt.Fprintf(&b, `,"loop":{"class_type":"X","inputs":{"a":["%d",0],"b":["loop",0]}}}`, n)
	_, err := Parse([]byte(b.String()))
	want := `links form a cycle: node "loop" input "b" links to node "loop" itself`
	if err == nil || err.Error() != want {
		t.Errorf("Parse error = %v, want exactly %q", err, want)
	}
}

func TestParseUIFormat(t *testing.T) {
	_, err := Parse([]byte(`{"last_node_id":1,"nodes":[],"links":[],"version":0.4}`))
	if !errors.Is(err, ErrUIFormat) {
		t.Fatalf("error = %v, want ErrUIFormat", err)
	}
	if !strings.Contains(err.Error(), "Export (API)") {
		t.Errorf("error %q lacks the export hint", err)
	}
}

// TestRoundTrip checks that an untouched graph encodes back to its input,
// compacted: every number, string escape and key order as written.
func TestRoundTrip(t *testing.T) {
	names := []string{}
	for name := range fixtureExpect {
		names = append(names, "testdata/"+name)
	}
	names = append(names, "testdata/no_output.json", "testdata/width_link_custom.json")
	for _, path := range names {
		t.Run(path, func(t *testing.T) {
			data := readFile(t, path)
			g := mustParse(t, data)
			got, err := g.MarshalJSON() // json.Marshal would re-escape < > &
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := json.Compact(&want, data); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("round trip changed the graph:\n got %s\nwant %s", got, want.Bytes())
			}
		})
	}
}

func TestSeedMaxSurvives(t *testing.T) {
	const max = "18446744073709551615"
	t.Run("template value", func(t *testing.T) {
		g := mustParse(t, fixture(t, "lossless.json"))
		ins, err := g.Inspect(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(ins.Point(PointSeed).Targets[0].Value); got != max {
			t.Errorf("inspected seed = %s, want %s", got, max)
		}
		out, err := g.Render(Request{Prompt: "p", KeepSeed: true, Loras: oneLora})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"seed":` + max, `"big":` + max, `"cfg":7.50`,
			`"tiny":1e-7`, `"exp":1E+2`, `"neg":-0.0`, `"denoise":1.000`} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("output lacks %s:\n%s", want, out)
			}
		}
	})
	t.Run("request value", func(t *testing.T) {
		g := mustParse(t, fixture(t, "sdxl.json"))
		out, err := g.Render(Request{Prompt: "p", Seed: 18446744073709551615})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte(`"seed":`+max+`,`)) {
			t.Errorf("output lacks the seed %s:\n%s", max, out)
		}
	})
}

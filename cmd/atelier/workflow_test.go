package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const wfTestdata = "../../internal/workflow/testdata/"

// runCLI runs the binary's entry point and returns exit code and output.
func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const uiWorkflow = `{"last_node_id": 9, "last_link_id": 9, "nodes": [{"id": 3, "type": "KSampler"}],
"links": [], "groups": [], "config": {}, "extra": {}, "version": 0.4}`

func TestWorkflowCLI(t *testing.T) {
	ui := writeTemp(t, "ui.json", uiWorkflow)
	notJSON := writeTemp(t, "broken.json", `{"3": `)
	tests := []struct {
		name       string
		args       []string
		code       int
		stdoutHas  []string
		stderrHas  []string
		stdoutNot  []string
		jsonStdout bool
	}{
		{name: "inspect sdxl", args: []string{"workflow", "inspect", wfTestdata + "sdxl.json"},
			stdoutHas: []string{"api format, 7 nodes", "prompt", "6.text", "seed", "3.seed",
				"width", "5.width", "4.ckpt_name", "9.filename_prefix", "problems: none",
				"inserted as LoraLoader"}},
		{name: "inspect json", args: []string{"workflow", "inspect", "--json",
			wfTestdata + "flux_split_basic.json"}, jsonStdout: true,
			stdoutHas: []string{`"format": "api"`, `"unet_name"`, `"model_consumers"`}},
		{name: "inspect ui", args: []string{"workflow", "inspect", ui}, code: 1,
			stdoutHas: []string{"ui format"}, stderrHas: []string{"UI format", "Export (API)"}},
		{name: "inspect ui json", args: []string{"workflow", "inspect", ui, "--json"}, code: 1,
			jsonStdout: true, stdoutHas: []string{`"format": "ui"`, "Export (API)"}},
		{name: "inspect no output", args: []string{"workflow", "inspect",
			wfTestdata + "no_output.json"}, code: 1,
			stdoutHas: []string{"no output point", "PreviewImage node 9"}},
		{name: "inspect link width", args: []string{"workflow", "inspect",
			wfTestdata + "width_link_custom.json"}, code: 1,
			stdoutHas: []string{`node "12" (CR SDXL Aspect Ratio)`, "params.width"}},
		{name: "inspect link width with params", args: []string{"workflow", "inspect",
			wfTestdata + "width_link_custom.json", "--params",
			`{"width":"12.width","height":"12.height","batch_size":"12.batch_size"}`},
			stdoutHas: []string{"width (params)", "12.width", "problems: none"}},
		{name: "inspect bad params", args: []string{"workflow", "inspect",
			wfTestdata + "sdxl.json", "--params", `{"seed":"99.seed"}`}, code: 1,
			stdoutHas: []string{`params.seed: 99.seed: node "99" is not in the graph`}},
		{name: "inspect broken json", args: []string{"workflow", "inspect", notJSON}, code: 1,
			stderrHas: []string{"reading workflow JSON"}},
		{name: "inspect missing file", args: []string{"workflow", "inspect", "/nonexistent.json"},
			code: 1, stderrHas: []string{"reading workflow"}},
		{name: "inspect no file", args: []string{"workflow", "inspect"}, code: 2,
			stderrHas: []string{"want exactly one FILE"}},
		{name: "inspect help", args: []string{"workflow", "inspect", "--help"},
			stdoutHas: []string{"Usage: atelier workflow inspect FILE", "-json", "-params"}},
		{name: "render with loras", args: []string{"workflow", "render",
			wfTestdata + "flux_split_basic.json", "--prompt", "a kite", "--seed",
			"18446744073709551615", "--lora", "a.safetensors:0.8", "--lora", "b.safetensors:0.5",
			"--width", "1216", "--height", "832", "--filename-prefix", "atelier/job-7"},
			jsonStdout: true, stdoutHas: []string{`"noise_seed": 18446744073709551615`,
				`"LoraLoaderModelOnly"`, `"atelier/job-7"`, `"a kite"`}},
		{name: "render flags before file", args: []string{"workflow", "render", "--prompt", "x",
			"--compact", wfTestdata + "sdxl.json"}, stdoutHas: []string{`"text":"x"`}},
		{name: "render replace loras", args: []string{"workflow", "render",
			wfTestdata + "lora_present.json", "--prompt", "x", "--replace-loras", "--compact"},
			stdoutNot: []string{"watercolor"}},
		{name: "render params", args: []string{"workflow", "render",
			wfTestdata + "width_link_custom.json", "--prompt", "x", "--width", "1344",
			"--compact", "--params", `{"width":["12.width"],"height":["12.height"],` +
				`"batch_size":["12.batch_size"]}`},
			stdoutHas: []string{`"width":1344,"height":1024,"aspect_ratio"`}},
		{name: "render ui", args: []string{"workflow", "render", ui, "--prompt", "x"}, code: 1,
			stderrHas: []string{"Export (API)"}},
		{name: "render no output", args: []string{"workflow", "render",
			wfTestdata + "no_output.json", "--prompt", "x"}, code: 1,
			stderrHas: []string{"cannot be filled", "no output point"}},
		{name: "render out of range", args: []string{"workflow", "render",
			wfTestdata + "sdxl.json", "--prompt", "x", "--steps", "-3"}, code: 1,
			stderrHas: []string{"steps -3"}},
		{name: "render without prompt", args: []string{"workflow", "render",
			wfTestdata + "sdxl.json"}, code: 2, stderrHas: []string{"--prompt is required"}},
		{name: "render bad lora", args: []string{"workflow", "render", wfTestdata + "sdxl.json",
			"--prompt", "x", "--lora", "a.safetensors"}, code: 2,
			stderrHas: []string{"want NAME:STRENGTH"}},
		{name: "render bad seed", args: []string{"workflow", "render", wfTestdata + "sdxl.json",
			"--prompt", "x", "--seed", "-1"}, code: 2, stderrHas: []string{"-seed"}},
		{name: "render help", args: []string{"workflow", "render", "-h"},
			stdoutHas: []string{"--prompt TEXT", "-lora", "-filename-prefix", "-replace-loras",
				"default: the template's"}},
		{name: "no subcommand", args: []string{"workflow"}, code: 2,
			stderrHas: []string{"inspect", "render"}},
		{name: "unknown subcommand", args: []string{"workflow", "draw"}, code: 2,
			stderrHas: []string{`unknown subcommand "draw"`}},
		{name: "workflow help", args: []string{"workflow", "--help"},
			stdoutHas: []string{"inspect", "render"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != tt.code {
				t.Errorf("exit = %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			for _, s := range tt.stdoutHas {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tt.stdoutNot {
				if strings.Contains(stdout, s) {
					t.Errorf("stdout has %q:\n%s", s, stdout)
				}
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if tt.jsonStdout && !json.Valid([]byte(stdout)) {
				t.Errorf("stdout is not JSON:\n%s", stdout)
			}
		})
	}
}

// TestWorkflowCLISharedFiles is the acceptance check: inspect names
// the required points of every API file and refuses every UI file; render
// with two LoRAs re-points every consumer of the loader's MODEL output.
func TestWorkflowCLISharedFiles(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/workflows/*.json")
	if len(files) == 0 {
		t.Skip("no shared workflows in ../shared/workflows; skipping")
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCLI("workflow", "inspect", path, "--json")
			if strings.HasPrefix(name, "ui_") {
				if code != 1 || !strings.Contains(stderr, "Export (API)") {
					t.Errorf("exit %d, stderr %q; want 1 with the export hint", code, stderr)
				}
				return
			}
			if code != 0 {
				t.Fatalf("inspect exit %d: %s", code, stderr)
			}
			var rep struct {
				Points []struct {
					Name    string
					Targets []json.RawMessage
				}
				Loader struct {
					Node           string
					ModelOutput    int                            `json:"model_output"`
					ModelConsumers []struct{ Node, Input string } `json:"model_consumers"`
				}
			}
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatal(err)
			}
			found := map[string]bool{}
			for _, p := range rep.Points {
				found[p.Name] = len(p.Targets) > 0
			}
			for _, p := range []string{"prompt", "seed", "width", "height", "model", "output"} {
				if !found[p] {
					t.Errorf("inspect found no %s point", p)
				}
			}
			checkRenderedChain(t, path, rep.Loader.ModelConsumers)
		})
	}
}

// checkRenderedChain renders with two LoRAs and checks that each former
// consumer of the loader's MODEL now reads the last inserted LoRA node.
func checkRenderedChain(t *testing.T, path string, consumers []struct{ Node, Input string }) {
	t.Helper()
	code, stdout, stderr := runCLI("workflow", "render", path, "--prompt", "p",
		"--lora", "a.safetensors:0.8", "--lora", "b.safetensors:0.5")
	if code != 0 {
		t.Fatalf("render exit %d: %s", code, stderr)
	}
	var g map[string]struct {
		ClassType string                     `json:"class_type"`
		Inputs    map[string]json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(stdout), &g); err != nil {
		t.Fatal(err)
	}
	last := ""
	for id, n := range g {
		if string(n.Inputs["lora_name"]) == `"b.safetensors"` {
			last = id
		}
	}
	if last == "" || len(consumers) == 0 {
		t.Fatalf("no inserted LoRA b (%q) or no consumers (%v)", last, consumers)
	}
	for _, c := range consumers {
		var link []any
		json.Unmarshal(g[c.Node].Inputs[c.Input], &link)
		if len(link) != 2 || link[0] != last {
			t.Errorf("%s.%s = %s, want a link to the last LoRA %s", c.Node, c.Input,
				g[c.Node].Inputs[c.Input], last)
		}
	}
}

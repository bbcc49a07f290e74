package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/config"
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

// wfModelUnused is an SD graph whose sampler reads its model from a custom
// node: the checkpoint's MODEL output is unused.
const wfModelUnused = `{
"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m.safetensors"}},
"2": {"class_type": "CLIPTextEncode", "inputs": {"text": "p", "clip": ["1", 1]}},
"3": {"class_type": "CLIPTextEncode", "inputs": {"text": "n", "clip": ["1", 1]}},
"4": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
"5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7, "model": ["8", 0],
  "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}},
"6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
"7": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x", "images": ["6", 0]}},
"8": {"class_type": "MyModelLoader", "inputs": {"file": "m"}}}`

func TestWorkflowCLI(t *testing.T) {
	ui := writeTemp(t, "ui.json", uiWorkflow)
	notJSON := writeTemp(t, "broken.json", `{"3": `)
	sdxl, err := os.ReadFile(wfTestdata + "sdxl.json")
	if err != nil {
		t.Fatal(err)
	}
	// edited writes sdxl.json with one change, which must apply.
	edited := func(name, old, new string) string {
		if !strings.Contains(string(sdxl), old) {
			t.Fatalf("sdxl.json has no %q", old)
		}
		return writeTemp(t, name, strings.Replace(string(sdxl), old, new, 1))
	}
	cyclic := edited("cyclic.json", `"model": ["4", 0]`, `"model": ["3", 0]`)
	numericLink := edited("numeric.json", `"model": ["4", 0]`, `"model": [4, 0]`)
	latin1 := edited("latin1.json", "lighthouse", "caf\xe9")
	unusedModel := writeTemp(t, "unused.json", wfModelUnused)
	// selector takes its sampler name from a custom node.
	selector := writeTemp(t, "selector.json", strings.NewReplacer(
		`"sampler_name": "dpmpp_2m"`, `"sampler_name": ["10", 0]`,
		`"9": {`, `"10": {"class_type": "Sampler Selector", "inputs": {"sampler_name": "lcm"}},
  "9": {`).Replace(string(sdxl)))
	tests := []struct {
		name       string
		args       []string
		code       int
		stdoutHas  []string
		stderrHas  []string
		stdoutNot  []string
		stderrNot  []string
		jsonStdout bool
	}{
		{name: "inspect cycle", args: []string{"workflow", "inspect", cyclic}, code: 1,
			stderrHas: []string{`links form a cycle: node "3" input "model" links to node ` +
				`"3" itself`}},
		{name: "inspect numeric link", args: []string{"workflow", "inspect", numericLink},
			code: 1, stderrHas: []string{`node "3" input "model" looks like a link but its ` +
				`node id is a number; ComfyUI's API format writes ["4",0]`}},
		{name: "inspect invalid UTF-8", args: []string{"workflow", "inspect", latin1}, code: 1,
			stderrHas: []string{"invalid UTF-8 byte 0xe9", "(line 29, column 30); save the " +
				"file as UTF-8"}},
		{name: "inspect params on a link", args: []string{"workflow", "inspect",
			wfTestdata + "sdxl.json", "--params", `{"prompt":"6.clip"}`}, code: 1,
			stdoutHas: []string{"params.prompt: 6.clip holds a link (to node 4), not a value; " +
				"name the input that holds the text"}},
		{name: "render params on a link", args: []string{"workflow", "render",
			wfTestdata + "sdxl.json", "--prompt", "hi", "--params", `{"prompt":"6.clip"}`},
			code: 1, stderrHas: []string{"6.clip holds a link (to node 4)"},
			stdoutNot: []string{`"clip"`}},
		{name: "render lora without a model consumer", args: []string{"workflow", "render",
			unusedModel, "--prompt", "x", "--lora", "a.safetensors:0.8"}, code: 1,
			stderrHas: []string{"the model loader's MODEL output is not used by any node; " +
				"the LoRA chain would have no effect"}},
		{name: "render without loras, model unused", args: []string{"workflow", "render",
			unusedModel, "--prompt", "x", "--compact"}, stdoutHas: []string{`"text":"x"`}},
		{name: "inspect notes the unused model", args: []string{"workflow", "inspect",
			unusedModel}, stdoutHas: []string{"MODEL output is not used by any node",
			"problems: none"}},
		{name: "render warns of ignored values", args: []string{"workflow", "render",
			wfTestdata + "flux_split_basic.json", "--prompt", "x", "--negative", "n",
			"--cfg", "3", "--width", "1000", "--height", "1001"}, jsonStdout: true,
			stdoutHas: []string{`"width": 1000`, `"height": 1001`},
			stderrHas: []string{
				"warning: the negative prompt is ignored: no sampler or guider has a negative",
				"warning: cfg 3 is ignored: no KSampler",
				"warning: width 1000 is not a multiple of 16, which SD3/Flux latents want " +
					"(node 27, EmptySD3LatentImage); use 992 or 1008",
				"warning: height 1001 is not a multiple of 16", "ComfyUI floors it to 1000",
			}},
		{name: "render warns of guidance on sdxl", args: []string{"workflow", "render",
			wfTestdata + "sdxl.json", "--prompt", "x", "--guidance", "3.5", "--width", "1001"},
			jsonStdout: true, stderrHas: []string{
				"warning: guidance 3.5 is ignored: no FluxGuidance or CLIPTextEncodeFlux node",
				"warning: width 1001 is not a multiple of 8"}},
		{name: "render clean request warns of nothing", args: []string{"workflow", "render",
			wfTestdata + "sdxl.json", "--prompt", "x", "--negative", "n", "--cfg", "5",
			"--width", "1000", "--height", "1024"}, jsonStdout: true,
			stderrNot: []string{"warning"}},
		{name: "inspect sdxl", args: []string{"workflow", "inspect", wfTestdata + "sdxl.json"},
			stdoutHas: []string{"api format, 7 nodes", "prompt", "6.text", "seed", "3.seed",
				"width", "5.width", "4.ckpt_name", "9.filename_prefix", "problems: none",
				"inserted as LoraLoader", "sampler", "3.sampler_name", `"dpmpp_2m"`,
				"3.scheduler", `"karras"`}},
		{name: "inspect json", args: []string{"workflow", "inspect", "--json",
			wfTestdata + "flux_split_basic.json"}, jsonStdout: true,
			stdoutHas: []string{`"format": "api"`, `"unet_name"`, `"model_consumers"`,
				`"name": "sampler",`, `"class": "KSamplerSelect",`, `"input": "sampler_name",`,
				`"name": "scheduler",`, `"class": "BasicScheduler",`, `"input": "scheduler",`}},
		{name: "inspect sampler behind a custom node", args: []string{"workflow", "inspect",
			selector}, stdoutHas: []string{`unresolved: node "3" (KSampler) input ` +
			`"sampler_name" is a link to node "10" (Sampler Selector)`,
			"Render refuses a requested sampler until params.sampler names the inputs",
			"problems: none"}},
		{name: "render sampler and scheduler", args: []string{"workflow", "render",
			wfTestdata + "flux_split_basic.json", "--prompt", "x", "--compact",
			"--sampler", "uni_pc", "--scheduler", "beta"},
			stdoutHas: []string{`"inputs":{"sampler_name":"uni_pc"}`,
				`"inputs":{"scheduler":"beta","steps":20`}, stderrNot: []string{"warning"}},
		{name: "render keeps the template's sampler", args: []string{"workflow", "render",
			wfTestdata + "sdxl.json", "--prompt", "x", "--compact"},
			stdoutHas: []string{`"sampler_name":"dpmpp_2m","scheduler":"karras"`}},
		{name: "render sampler behind a custom node", args: []string{"workflow", "render",
			selector, "--prompt", "x", "--sampler", "euler"}, code: 1,
			stderrHas: []string{`sampler "euler" cannot be set: node "3" (KSampler) input ` +
				`"sampler_name" is a link to node "10"`, "name the point in params.sampler"}},
		{name: "render sampler named in params", args: []string{"workflow", "render",
			selector, "--prompt", "x", "--sampler", "euler", "--compact", "--params",
			`{"sampler":"10.sampler_name"}`},
			stdoutHas: []string{`"sampler_name":["10",0]`, `"inputs":{"sampler_name":"euler"}`}},
		{name: "render warns of an ignored sampler", args: []string{"workflow", "render",
			unusedModel, "--prompt", "x", "--sampler", "euler", "--scheduler", "karras"},
			jsonStdout: true, stderrHas: []string{`warning: sampler "euler" is ignored: no ` +
				`KSampler, KSamplerAdvanced or KSamplerSelect node with a sampler_name`,
				`warning: scheduler "karras" is ignored`}},
		{name: "render bad sampler", args: []string{"workflow", "render",
			wfTestdata + "sdxl.json", "--prompt", "x", "--sampler", "euler "}, code: 1,
			stderrHas: []string{`sampler "euler ": want a name without leading or trailing`}},
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
				"default: the template's", "-sampler", "-scheduler"}},
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
			for _, s := range tt.stderrNot {
				if strings.Contains(stderr, s) {
					t.Errorf("stderr has %q:\n%s", s, stderr)
				}
			}
			if tt.jsonStdout && !json.Valid([]byte(stdout)) {
				t.Errorf("stdout is not JSON:\n%s", stdout)
			}
		})
	}
}

// TestWorkflowCLIReadsFilesOnly checks that inspect and render read regular
// files within the template size limit, and refuse devices, FIFOs and
// folders before reading them.
func TestWorkflowCLIReadsFilesOnly(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk space used.
	if err := f.Truncate(config.MaxTemplateFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tests := []struct {
		name, path, want string
	}{
		{"device", "/dev/zero", "/dev/zero is a device, not a regular file"},
		{"folder", dir, dir + " is a folder, not a regular file"},
		{"too large", big, "larger than the 16 MiB limit; refused without reading it"},
		{"missing", filepath.Join(dir, "none.json"), "none.json: no such file or directory"},
	}
	fifo := filepath.Join(dir, "fifo")
	if exec.Command("mkfifo", fifo).Run() == nil {
		tests = append(tests, struct{ name, path, want string }{"fifo", fifo,
			fifo + " is a named pipe (FIFO), not a regular file"})
	} else {
		t.Log("mkfifo failed; the FIFO case is not run")
	}
	for _, tt := range tests {
		if _, err := os.Stat(tt.path); tt.name == "device" && err != nil {
			t.Logf("%s: %v; skipped", tt.path, err)
			continue
		}
		for _, cmd := range [][]string{{"inspect"}, {"render", "--prompt", "x"}} {
			t.Run(tt.name+" "+cmd[0], func(t *testing.T) {
				done := make(chan struct{})
				var code int
				var stderr string
				go func() { // a FIFO opened for reading would block
					code, _, stderr = runCLI(append([]string{"workflow", cmd[0], tt.path},
						cmd[1:]...)...)
					close(done)
				}()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("the command is still reading the file")
				}
				want := "atelier workflow " + cmd[0] + ": reading workflow: "
				if code != 1 || !strings.Contains(stderr, want) ||
					!strings.Contains(stderr, tt.want) {
					t.Errorf("exit %d, stderr %q; want 1 with %q and %q", code, stderr, want,
						tt.want)
				}
			})
		}
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

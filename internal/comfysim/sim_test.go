package comfysim

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
)

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// edited returns the test graph with one change.
func edited(edit func(g map[string]any)) string {
	g := txt2img(graphSpec{})
	edit(g)
	return mustJSON(map[string]any{"prompt": g})
}

func inputs(g map[string]any, id string) map[string]any {
	return g[id].(map[string]any)["inputs"].(map[string]any)
}

// TestRejections checks ComfyUI's 400 answers, field for field, against
// golden files.
func TestRejections(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		name string
		body string
	}{
		{"no_prompt", `{"client_id": "x"}`},
		{"invalid_prompt_id", `{"prompt": {}, "prompt_id": "0B0E6A47-6C0E-4D8E-9D1F-2A7F4D4B7C11"}`},
		{"invalid_prompt", `{"prompt": {"1": {"inputs": {}}}}`},
		{"ui_format_as_prompt", `{"prompt": {"last_node_id": 9, "nodes": []}}`},
		{"missing_node_type", edited(func(g map[string]any) {
			g["10"] = node("FaceDetailer", map[string]any{})
		})},
		{"prompt_no_outputs", edited(func(g map[string]any) { delete(g, "9") })},
		{"required_input_missing", edited(func(g map[string]any) { delete(inputs(g, "3"), "cfg") })},
		{"value_smaller_than_min", edited(func(g map[string]any) { inputs(g, "3")["seed"] = -1 })},
		{"value_bigger_than_max", edited(func(g map[string]any) { inputs(g, "3")["denoise"] = 1.5 })},
		{"value_not_in_list_short", edited(func(g map[string]any) {
			inputs(g, "4")["ckpt_name"] = "missing.safetensors"
		})},
		{"value_not_in_list_long", edited(func(g map[string]any) { inputs(g, "3")["sampler_name"] = "warp" })},
		{"invalid_input_type", edited(func(g map[string]any) { inputs(g, "3")["steps"] = "many" })},
		{"return_type_mismatch", edited(func(g map[string]any) { inputs(g, "8")["vae"] = []any{"4", 0} })},
		{"bad_linked_input", edited(func(g map[string]any) { inputs(g, "8")["vae"] = []any{"4", 2, 1} })},
		{"linked_node_missing", edited(func(g map[string]any) { inputs(g, "8")["vae"] = []any{"40", 2} })},
		{"stale_unet_loader", mustJSON(map[string]any{"prompt": map[string]any{
			"1": node("UNETLoader", map[string]any{"unet_name": "sdxl_lightning_4step_unet.pth"}),
			"5": node("VAELoader", map[string]any{"vae_name": "ae.safetensors"}),
			"6": node("SaveImage", map[string]any{"images": []any{"7", 0}, "filename_prefix": "x"}),
			"7": node("VAEDecode", map[string]any{"samples": []any{"8", 0}, "vae": []any{"5", 0}}),
			"8": node("KSampler", map[string]any{"model": []any{"1", 0}}),
		}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.do("POST", "/prompt", tt.body)
			if status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body %s", status, body)
			}
			golden(t, filepath.Join("rejections", tt.name+".json"), body)
		})
	}
}

func TestSubmitAnswers(t *testing.T) {
	h := newHarness(t, Options{})
	t.Run("body that is not JSON gets aiohttp's 500", func(t *testing.T) {
		status, body := h.do("POST", "/api/prompt", `{"prompt": `)
		if status != 500 || string(body) != aiohttpError {
			t.Errorf("got %d %q, want 500 %q", status, body, aiohttpError)
		}
	})
	t.Run("accepted prompt answers id, number and empty node_errors", func(t *testing.T) {
		id := "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
		status, body := h.do("POST", "/prompt", mustJSON(map[string]any{"prompt": txt2img(graphSpec{}),
			"prompt_id": id}))
		want := `{"prompt_id":"` + id + `","number":0,"node_errors":{}}`
		if status != 200 || string(body) != want {
			t.Errorf("got %d %s, want 200 %s", status, body, want)
		}
	})
	t.Run("partly valid prompt runs the good output and reports the bad one", func(t *testing.T) {
		g := txt2img(graphSpec{seed: 5})
		g["20"] = node("SaveImage", map[string]any{"images": []any{"21", 0}, "filename_prefix": "bad"})
		g["21"] = node("VAEDecode", map[string]any{"samples": []any{"3", 0}, "vae": []any{"4", 0}})
		status, body := h.do("POST", "/prompt", mustJSON(map[string]any{"prompt": g}))
		var ok struct {
			PromptID   string                     `json:"prompt_id"`
			NodeErrors map[string]json.RawMessage `json:"node_errors"`
		}
		if status != 200 || json.Unmarshal(body, &ok) != nil {
			t.Fatalf("got %d %s, want 200", status, body)
		}
		if _, found := ok.NodeErrors["21"]; !found || len(ok.NodeErrors) != 1 {
			t.Errorf("node_errors = %s, want one entry for node 21", body)
		}
		if got := h.history(ok.PromptID); len(got.Outputs["9"].Images) != 1 || got.Outputs["20"].Images != nil {
			t.Errorf("outputs = %+v, want only node 9's image", got.Outputs)
		}
	})
}

// readEvents reads one socket until executing with node null, skipping
// status messages.
func readEvents(t *testing.T, c *websocket.Conn) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []map[string]any
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading events: %v (got %d so far)", err, len(out))
		}
		var msg struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(data, &msg); err != nil {
			t.Fatal(err)
		}
		if msg.Type == "status" {
			continue
		}
		msg.Data["type"] = msg.Type
		out = append(out, msg.Data)
		if n, ok := msg.Data["node"]; msg.Type == "executing" && ok && n == nil {
			return out
		}
	}
}

func firstMessage(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	return m
}

func TestEventsInComfyUIOrder(t *testing.T) {
	h := newHarness(t, Options{})
	mine, other := h.dial("me"), h.dial("other")
	for _, c := range []struct {
		conn *websocket.Conn
		id   string
	}{{mine, "me"}, {other, "other"}} {
		want := map[string]any{"type": "status", "data": map[string]any{
			"status": map[string]any{"exec_info": map[string]any{"queue_remaining": 0.0}}, "sid": c.id}}
		if diff := cmp.Diff(want, firstMessage(t, c.conn)); diff != "" {
			t.Errorf("first message on %s (-want +got):\n%s", c.id, diff)
		}
	}
	id := h.submit(txt2img(graphSpec{steps: 3, batch: 2}), "me")
	events := readEvents(t, mine)

	var got []string
	for _, e := range events {
		if e["prompt_id"] != id {
			t.Errorf("event %v has prompt_id %v, want %s", e["type"], e["prompt_id"], id)
		}
		name := e["type"].(string)
		switch name {
		case "executing", "executed":
			if n, _ := e["node"].(string); n != "" {
				name += ":" + n
			}
		case "progress":
			name += ":" + e["node"].(string) + ":" + mustJSON(e["value"]) + "/" + mustJSON(e["max"])
		}
		got = append(got, name)
	}
	want := []string{"execution_start", "execution_cached",
		"executing:4", "executing:6", "executing:7", "executing:5", "executing:3",
		"progress:3:1/3", "progress:3:2/3", "progress:3:3/3",
		"executing:8", "executing:9", "executed:9", "execution_success", "executing"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// History is written before executing with node null.
	_, body := h.do("GET", "/history/"+id, "")
	if !strings.Contains(string(body), `"status_str":"success"`) {
		t.Errorf("history right after node null = %s, want the success entry", body)
	}
	// The other socket gets status broadcasts only.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	for {
		_, data, err := other.Read(ctx)
		if err != nil {
			break
		}
		if !strings.Contains(string(data), `"type":"status"`) {
			t.Fatalf("socket of another client got %s", data)
		}
	}
}

func TestQueueHistoryAndInterrupt(t *testing.T) {
	h := newHarness(t, Options{StepDelay: 10 * time.Millisecond})
	a := h.submit(txt2img(graphSpec{steps: 10000, seed: 1}), "")
	b := h.submit(txt2img(graphSpec{steps: 10000, seed: 2}), "")

	if _, body := h.do("GET", "/history/"+a, ""); string(body) != "{}" {
		t.Errorf("history of a queued or running prompt = %s, want {}", body)
	}
	if _, body := h.do("GET", "/api/prompt", ""); string(body) != `{"exec_info":{"queue_remaining":2}}` {
		t.Errorf("GET /prompt = %s, want queue_remaining 2", body)
	}
	queueIDs := func() (running, pending []string) {
		_, body := h.do("GET", "/queue", "")
		var q struct {
			Running [][]json.RawMessage `json:"queue_running"`
			Pending [][]json.RawMessage `json:"queue_pending"`
		}
		json.Unmarshal(body, &q)
		for _, it := range q.Running {
			var id string
			json.Unmarshal(it[1], &id)
			running = append(running, id)
		}
		for _, it := range q.Pending {
			var id string
			json.Unmarshal(it[1], &id)
			pending = append(pending, id)
		}
		return running, pending
	}
	if running, pending := queueIDs(); !slices.Equal(running, []string{a}) || !slices.Equal(pending, []string{b}) {
		t.Errorf("queue = running %v pending %v, want [%s] [%s]", running, pending, a, b)
	}

	h.do("POST", "/queue", mustJSON(map[string]any{"delete": []string{b}}))
	if _, pending := queueIDs(); len(pending) != 0 {
		t.Errorf("pending after delete = %v, want none", pending)
	}
	h.do("POST", "/interrupt", mustJSON(map[string]any{"prompt_id": b}))
	if running, _ := queueIDs(); !slices.Equal(running, []string{a}) {
		t.Errorf("interrupt of another prompt stopped %s: running = %v", a, running)
	}
	h.do("POST", "/interrupt", mustJSON(map[string]any{"prompt_id": a}))
	e := h.history(a)
	if e.Status.StatusStr != "error" || e.Status.Completed || e.message("execution_interrupted") == nil {
		t.Errorf("history after interrupt = %+v, want error with execution_interrupted", e.Status)
	}
	if _, body := h.do("GET", "/history/"+b, ""); string(body) != "{}" {
		t.Errorf("history of a deleted prompt = %s, want {}", body)
	}
}

func TestImages(t *testing.T) {
	h := newHarness(t, Options{})
	decode := func(data []byte) (int, int) {
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("decoding PNG: %v", err)
		}
		return cfg.Width, cfg.Height
	}
	first := h.history(h.submit(txt2img(graphSpec{width: 100, height: 60, batch: 2, seed: 7,
		prompt: "fox", prefix: "sub/dir/fox"}), ""))
	images := first.Outputs["9"].Images
	want := []imageJSON{{"fox_00001_.png", "sub/dir", "output"}, {"fox_00002_.png", "sub/dir", "output"}}
	if diff := cmp.Diff(want, images); diff != "" {
		t.Fatalf("images (-want +got):\n%s", diff)
	}
	for _, img := range images {
		// EmptyLatentImage floors to a multiple of 8, as ComfyUI does.
		if w, ht := decode(h.view(img)); w != 96 || ht != 56 {
			t.Errorf("%s is %dx%d, want 96x56", img.Filename, w, ht)
		}
	}
	if bytes.Equal(h.view(images[0]), h.view(images[1])) {
		t.Error("the two images of a batch are identical")
	}

	second := h.history(h.submit(txt2img(graphSpec{width: 100, height: 60, batch: 2, seed: 7,
		prompt: "fox", prefix: "sub/dir/fox2"}), ""))
	if !bytes.Equal(h.view(images[0]), h.view(second.Outputs["9"].Images[0])) {
		t.Error("same seed and prompt gave different bytes")
	}
	third := h.history(h.submit(txt2img(graphSpec{width: 100, height: 60, batch: 1, seed: 8,
		prompt: "fox", prefix: "sub/dir/fox"}), ""))
	img3 := third.Outputs["9"].Images[0]
	if img3.Filename != "fox_00003_.png" {
		t.Errorf("counter went to %s, want fox_00003_.png", img3.Filename)
	}
	if bytes.Equal(h.view(images[0]), h.view(img3)) {
		t.Error("another seed gave the same bytes")
	}

	for _, tc := range []struct {
		name, excType, msg string
		spec               graphSpec
	}{
		{"prefix outside the output folder", "Exception", "Saving image outside the output folder is not allowed",
			graphSpec{prefix: "../escape"}},
		{"batch too large for the GPU", "torch.OutOfMemoryError", "Allocation on device",
			graphSpec{width: 8192, height: 8192, batch: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := h.history(h.submit(txt2img(tc.spec), ""))
			d := e.message("execution_error")
			if e.Status.StatusStr != "error" || d == nil || d["node_id"] != "9" || d["exception_type"] != tc.excType ||
				!strings.Contains(d["exception_message"].(string), tc.msg) {
				t.Errorf("history = %v %v, want execution_error %s on node 9 saying %q",
					e.Status.StatusStr, d, tc.excType, tc.msg)
			}
		})
	}
}

func TestRepeatedPromptIsServedFromCache(t *testing.T) {
	h := newHarness(t, Options{})
	g := txt2img(graphSpec{seed: 3})
	first := h.history(h.submit(g, ""))
	second := h.history(h.submit(g, ""))
	cached, _ := second.message("execution_cached")["nodes"].([]any)
	if len(cached) != len(g) {
		t.Errorf("execution_cached nodes = %v, want all %d nodes", cached, len(g))
	}
	if diff := cmp.Diff(first.Outputs, second.Outputs); diff != "" {
		t.Errorf("a cached prompt reports other files (-first +second):\n%s", diff)
	}
}

func TestOutputDir(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, Options{OutputDir: dir})
	e := h.history(h.submit(txt2img(graphSpec{prefix: "a/b"}), ""))
	img := e.Outputs["9"].Images[0]
	onDisk, err := os.ReadFile(filepath.Join(dir, "output", "a", img.Filename))
	if err != nil {
		t.Fatalf("image not on disk: %v", err)
	}
	if !bytes.Equal(onDisk, h.view(img)) {
		t.Error("/view serves other bytes than the file on disk")
	}
}

func TestView(t *testing.T) {
	h := newHarness(t, Options{})
	img := h.history(h.submit(txt2img(graphSpec{}), "")).Outputs["9"].Images[0]
	tests := []struct {
		name  string
		query string
		want  int
	}{
		{"existing", "filename=" + img.Filename + "&type=output", 200},
		{"type defaults to output", "filename=" + img.Filename, 200},
		{"unknown file", "filename=nope.png&type=output", 404},
		{"no filename", "type=output", 404},
		{"parent path", "filename=../secret.png", 400},
		{"absolute", "filename=/etc/passwd", 400},
		{"unknown type", "filename=" + img.Filename + "&type=models", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, _ := h.do("GET", "/view?"+tt.query, ""); status != tt.want {
				t.Errorf("status = %d, want %d", status, tt.want)
			}
		})
	}

	t.Run("slow view fault", func(t *testing.T) {
		h.sim.SetFaults(Faults{ViewDelay: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", h.ts.URL+"/view?filename="+img.Filename, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("/view answered %d despite an hour's delay", resp.StatusCode)
		}
		h.sim.SetFaults(Faults{})
		if status, _ := h.do("GET", "/view?filename="+img.Filename, ""); status != 200 {
			t.Errorf("status after clearing the fault = %d", status)
		}
	})
}

func TestControlsOverHTTP(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string
	}{
		{"faults start off", "GET", "/sim/faults", "", 200,
			`{"silent_websocket":false,"submit_error":false,"fail_execution":false,"view_delay":"0s"}`},
		{"set two faults", "POST", "/sim/faults", `{"submit_error": true, "view_delay": "2s"}`, 200,
			`{"silent_websocket":false,"submit_error":true,"fail_execution":false,"view_delay":"2s"}`},
		{"merge another", "POST", "/api/sim/faults", `{"silent_websocket": true}`, 200,
			`{"silent_websocket":true,"submit_error":true,"fail_execution":false,"view_delay":"2s"}`},
		{"submit answers 500 with text", "POST", "/prompt", mustJSON(map[string]any{"prompt": txt2img(graphSpec{})}),
			500, aiohttpError},
		{"unknown fault", "POST", "/sim/faults", `{"slow_everything": true}`, 400,
			`{"error":"body: json: unknown field \"slow_everything\""}`},
		{"bad duration", "POST", "/sim/faults", `{"view_delay": "soon"}`, 400,
			`{"error":"view_delay: \"soon\" is not a duration such as \"2s\""}`},
		{"clear faults", "POST", "/sim/faults", `{"silent_websocket": false, "submit_error": false,
			"view_delay": "0s"}`, 200,
			`{"silent_websocket":false,"submit_error":false,"fail_execution":false,"view_delay":"0s"}`},
		{"step delay", "POST", "/sim/step-delay", `{"step_delay": "5ms"}`, 200, `{"step_delay":"5ms"}`},
		{"bad step delay", "POST", "/sim/step-delay", `{"step_delay": "-1s"}`, 400,
			`{"error":"step_delay: \"-1s\" is not a duration such as \"50ms\""}`},
		{"set inventory", "PUT", "/sim/inventory", `{"checkpoints": ["b.safetensors", "a.safetensors"]}`, 200,
			`{"checkpoints":["a.safetensors","b.safetensors"]}`},
		{"inventory with an empty name", "PUT", "/sim/inventory", `{"loras": [""]}`, 400,
			`{"error":"loras[0]: empty file name"}`},
		{"object_info follows the inventory", "GET", "/object_info/CheckpointLoaderSimple", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.do(tt.method, tt.path, tt.body)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", status, tt.wantStatus, body)
			}
			if tt.wantBody != "" && string(body) != tt.wantBody {
				t.Errorf("body = %s\nwant   %s", body, tt.wantBody)
			}
			if tt.wantBody == "" && !strings.Contains(string(body), `[["a.safetensors","b.safetensors"]`) {
				t.Errorf("body = %s, want the new checkpoints", body)
			}
		})
	}
}

func TestRestartForgetsEverything(t *testing.T) {
	h := newHarness(t, Options{StepDelay: 10 * time.Millisecond})
	done := h.submit(txt2img(graphSpec{seed: 1}), "")
	h.history(done)
	c := h.dial("me")
	firstMessage(t, c)
	running := h.submit(txt2img(graphSpec{seed: 2, steps: 10000}), "me")
	pending := h.submit(txt2img(graphSpec{seed: 3, steps: 10000}), "me")

	if status, _ := h.do("POST", "/sim/restart", ""); status != 200 {
		t.Fatalf("restart status = %d", status)
	}
	for _, id := range []string{done, running, pending} {
		if _, body := h.do("GET", "/history/"+id, ""); string(body) != "{}" {
			t.Errorf("history of %s after restart = %s, want {}", id, body)
		}
	}
	if _, body := h.do("GET", "/queue", ""); string(body) != `{"queue_running":[],"queue_pending":[]}` {
		t.Errorf("queue after restart = %s, want empty", body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the socket stayed open across a restart")
			}
			break
		}
	}
}

func TestObjectInfoEncodings(t *testing.T) {
	inv := &Inventory{Checkpoints: []string{"a.safetensors"}, UNets: []string{"u.safetensors"}}
	tests := []struct {
		enc       ComboEncoding
		ckpt, unt string
	}{
		{ComboMixed, `[["a.safetensors"],{}]`, `["COMBO",{"options":["u.safetensors"]}]`},
		{ComboList, `[["a.safetensors"],{}]`, `[["u.safetensors"],{}]`},
		{ComboTyped, `["COMBO",{"options":["a.safetensors"]}]`, `["COMBO",{"options":["u.safetensors"]}]`},
	}
	for _, tt := range tests {
		t.Run("encoding "+string(tt.enc), func(t *testing.T) {
			h := newHarness(t, Options{Inventory: inv, ComboEncoding: tt.enc})
			for class, want := range map[string]string{
				"CheckpointLoaderSimple": `"ckpt_name":` + tt.ckpt, "UNETLoader": `"unet_name":` + tt.unt} {
				if _, body := h.do("GET", "/api/object_info/"+class, ""); !strings.Contains(string(body), want) {
					t.Errorf("%s = %s\nwant it to contain %s", class, body, want)
				}
			}
		})
	}
	h := newHarness(t, Options{})
	if _, body := h.do("GET", "/object_info/NoSuchNode", ""); string(body) != "{}" {
		t.Errorf("unknown class = %s, want {}", body)
	}
	_, body := h.do("GET", "/object_info/LoraLoader", "")
	golden(t, "object_info_LoraLoader.json", body)
}

func TestLoadInventory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		want    Inventory
		wantErr string
	}{
		{"good", write("good.json", `{"checkpoints": ["a.safetensors"], "loras": ["l\\x.safetensors"]}`),
			Inventory{Checkpoints: []string{"a.safetensors"}, LoRAs: []string{`l\x.safetensors`}}, ""},
		{"unknown field", write("typo.json", `{"lora": ["x"]}`), Inventory{},
			`json: unknown field "lora"`},
		{"empty name", write("empty.json", `{"vaes": ["ok", ""]}`), Inventory{}, "vaes[1]: empty file name"},
		{"not JSON", write("yaml.json", "checkpoints:\n  - a\n"), Inventory{}, "invalid character"},
		{"missing file", filepath.Join(dir, "nope.json"), Inventory{}, "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadInventory(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("inventory (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSilentWebSocketSendsNothing(t *testing.T) {
	h := newHarness(t, Options{})
	h.sim.SetFaults(Faults{SilentWebSocket: true})
	c := h.dial("me")
	id := h.submit(txt2img(graphSpec{}), "me")
	h.history(id)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, data, err := c.Read(ctx); err == nil {
		t.Errorf("a silent socket sent %s", data)
	}
}

package comfysim

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"github.com/atelier-dev/atelier/internal/testlog"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func testLogger(t testing.TB) *slog.Logger { return testlog.New(t) }

// harness is a simulator behind a real HTTP server.
type harness struct {
	t   *testing.T
	sim *Server
	ts  *httptest.Server
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	opts.Logger = testLogger(t)
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.Close()
		ts.CloseClientConnections()
		ts.Close()
	})
	return &harness{t: t, sim: s, ts: ts}
}

// do sends a request and returns status and body.
func (h *harness) do(method, path, body string) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// submit posts a graph and returns the prompt id, failing on anything but 200.
func (h *harness) submit(graph map[string]any, clientID string) string {
	h.t.Helper()
	id := uuid.NewString()
	body, _ := json.Marshal(map[string]any{"prompt": graph, "client_id": clientID, "prompt_id": id})
	status, resp := h.do("POST", "/prompt", string(body))
	if status != 200 {
		h.t.Fatalf("POST /prompt = %d %s", status, resp)
	}
	return id
}

// history polls /history/{id} until it has the entry.
func (h *harness) history(id string) historyJSON {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, body := h.do("GET", "/history/"+id, "")
		var all map[string]historyJSON
		if err := json.Unmarshal(body, &all); err != nil {
			h.t.Fatalf("history body %s: %v", body, err)
		}
		if e, ok := all[id]; ok {
			return e
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.t.Fatalf("no history for %s", id)
	return historyJSON{}
}

// view downloads an image.
func (h *harness) view(img imageJSON) []byte {
	h.t.Helper()
	status, body := h.do("GET", "/view?filename="+img.Filename+"&subfolder="+img.Subfolder+
		"&type="+img.Type, "")
	if status != 200 {
		h.t.Fatalf("/view %+v = %d", img, status)
	}
	return body
}

// dial opens /ws with a client id.
func (h *harness) dial(clientID string) *websocket.Conn {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(h.ts.URL, "http") + "/ws?clientId=" + clientID
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		h.t.Fatalf("dialing %s: %v", url, err)
	}
	h.t.Cleanup(func() { c.CloseNow() })
	return c
}

type historyJSON struct {
	Outputs map[string]struct {
		Images []imageJSON `json:"images"`
	} `json:"outputs"`
	Status struct {
		StatusStr string              `json:"status_str"`
		Completed bool                `json:"completed"`
		Messages  [][]json.RawMessage `json:"messages"`
	} `json:"status"`
}

type imageJSON struct {
	Filename  string `json:"filename"`
	Subfolder string `json:"subfolder"`
	Type      string `json:"type"`
}

// events lists the event names of a history entry.
func (e historyJSON) events() []string {
	var out []string
	for _, m := range e.Status.Messages {
		var name string
		json.Unmarshal(m[0], &name)
		out = append(out, name)
	}
	return out
}

// message returns the data of a history event.
func (e historyJSON) message(name string) map[string]any {
	for _, m := range e.Status.Messages {
		var n string
		json.Unmarshal(m[0], &n)
		if n == name {
			var d map[string]any
			json.Unmarshal(m[1], &d)
			return d
		}
	}
	return nil
}

type graphSpec struct {
	ckpt          string
	width, height int
	batch, steps  int
	seed          uint64
	prompt        string
	prefix        string
}

// txt2img is a checkpoint text-to-image graph.
func txt2img(s graphSpec) map[string]any {
	if s.ckpt == "" {
		s.ckpt = "sd_xl_base_1.0.safetensors"
	}
	if s.width == 0 {
		s.width, s.height = 64, 64
	}
	if s.batch == 0 {
		s.batch = 1
	}
	if s.steps == 0 {
		s.steps = 2
	}
	if s.prefix == "" {
		s.prefix = "ComfyUI"
	}
	return map[string]any{
		"3": node("KSampler", map[string]any{"seed": s.seed, "steps": s.steps, "cfg": 8,
			"sampler_name": "euler", "scheduler": "normal", "denoise": 1, "model": []any{"4", 0},
			"positive": []any{"6", 0}, "negative": []any{"7", 0}, "latent_image": []any{"5", 0}}),
		"4": node("CheckpointLoaderSimple", map[string]any{"ckpt_name": s.ckpt}),
		"5": node("EmptyLatentImage", map[string]any{"width": s.width, "height": s.height,
			"batch_size": s.batch}),
		"6": node("CLIPTextEncode", map[string]any{"text": s.prompt, "clip": []any{"4", 1}}),
		"7": node("CLIPTextEncode", map[string]any{"text": "", "clip": []any{"4", 1}}),
		"8": node("VAEDecode", map[string]any{"samples": []any{"3", 0}, "vae": []any{"4", 2}}),
		"9": node("SaveImage", map[string]any{"filename_prefix": s.prefix, "images": []any{"8", 0}}),
	}
}

func node(class string, inputs map[string]any) map[string]any {
	return map[string]any{"class_type": class, "inputs": inputs, "_meta": map[string]any{"title": class}}
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		pretty.Reset()
		pretty.Write(got)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(want, pretty.Bytes()) {
		t.Errorf("%s differs from the answer:\n--- want\n%s\n--- got\n%s", path, want, pretty.Bytes())
	}
}

// Package comfyui talks to ComfyUI servers: a Client for one server's HTTP
// API, and a Pool that spreads jobs over several servers, watches their
// health and model inventory, follows each job to its outcome and turns
// ComfyUI's errors into messages a user understands.
//
// It is written against ComfyUI's real behaviour (see COMFYUI.md in the
// project's shared notes): both 400 error shapes, a 500 with a text body, a
// 200 that drops outputs, history that is {} until done and gone after a
// restart, WebSocket events that are hints only.
package comfyui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxErrorBody bounds how much of an error answer is read and kept.
const maxErrorBody = 64 << 10

// maxJSONBody bounds a JSON answer (a long /queue holds full graphs).
const maxJSONBody = 256 << 20

// Client is the HTTP API of one ComfyUI server. It holds no state besides
// the address; Pool adds health, inventory, events and job tracking.
type Client struct {
	base *url.URL
	name string
	hc   *http.Client
}

// NewClient makes a client for the server at rawURL ("http://host:8188",
// optionally with a path prefix). hc nil means http.DefaultClient.
func NewClient(rawURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return nil, fmt.Errorf("parsing ComfyUI URL %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ComfyUI URL %q: want http://host:port or https://host:port", rawURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, name: strings.TrimRight(u.Redacted(), "/"), hc: hc}, nil
}

// Name is the server's URL without credentials, as used in messages.
func (c *Client) Name() string { return c.name }

func (c *Client) endpoint(path string, query url.Values) string {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	return u.String()
}

// do sends a request and returns the answer when its status is 200;
// otherwise an *HTTPError (with the body) or a transport error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte) (
	*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path, query), rd)
	if err != nil {
		return nil, fmt.Errorf("building request to ComfyUI at %s: %w", c.name, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &UnreachableError{Backend: c.name, Err: err}
	}
	return resp, nil
}

// getJSON fetches path and decodes a 200 answer into v.
func (c *Client) getJSON(ctx context.Context, path string, query url.Values, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.httpError(resp)
	}
	return c.decode(resp, path, v)
}

func (c *Client) decode(resp *http.Response, path string, v any) error {
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxJSONBody))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("reading %s from ComfyUI at %s: %w", path, c.name, err)
	}
	return nil
}

// postJSON posts v and expects a 200, discarding the answer.
func (c *Client) postJSON(ctx context.Context, path string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s request: %w", path, err)
	}
	resp, err := c.do(ctx, http.MethodPost, path, nil, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.httpError(resp)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return nil
}

func (c *Client) httpError(resp *http.Response) *HTTPError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &HTTPError{Backend: c.name, StatusCode: resp.StatusCode, Body: string(body)}
}

// SubmitRequest is one POST /prompt.
type SubmitRequest struct {
	// Graph is the API-format graph (the "prompt" member).
	Graph json.RawMessage
	// PromptID is the caller's lowercase UUID for the job.
	PromptID string
	// ClientID routes the job's WebSocket events to the socket of that id.
	ClientID string
}

// SubmitResult is ComfyUI's 200 answer. NodeErrors is not empty when some
// outputs failed validation and were dropped while others were queued.
type SubmitResult struct {
	PromptID   string
	Number     float64
	NodeErrors []NodeError
}

// Submit posts a graph. A 400 becomes a *SubmitError (both the object and
// the old string error shapes), any other non-200 an *HTTPError, a failure
// to connect an *UnreachableError.
func (c *Client) Submit(ctx context.Context, r SubmitRequest) (SubmitResult, error) {
	body, err := json.Marshal(struct {
		Prompt   json.RawMessage `json:"prompt"`
		ClientID string          `json:"client_id,omitempty"`
		PromptID string          `json:"prompt_id,omitempty"`
	}{r.Graph, r.ClientID, r.PromptID})
	if err != nil {
		return SubmitResult{}, fmt.Errorf("encoding prompt: %w", err)
	}
	resp, err := c.do(ctx, http.MethodPost, "/prompt", nil, body)
	if err != nil {
		return SubmitResult{}, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var ok struct {
			PromptID   string          `json:"prompt_id"`
			Number     json.Number     `json:"number"`
			NodeErrors json.RawMessage `json:"node_errors"`
		}
		if err := c.decode(resp, "/prompt", &ok); err != nil {
			return SubmitResult{}, err
		}
		num, _ := ok.Number.Float64()
		return SubmitResult{PromptID: ok.PromptID, Number: num,
			NodeErrors: parseNodeErrors(ok.NodeErrors)}, nil
	case http.StatusBadRequest:
		return SubmitResult{}, c.rejection(resp)
	default:
		return SubmitResult{}, c.httpError(resp)
	}
}

// rejection reads a 400 answer in either shape ComfyUI has used.
func (c *Client) rejection(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	var shape struct {
		Error      json.RawMessage `json:"error"`
		NodeErrors json.RawMessage `json:"node_errors"`
	}
	if json.Unmarshal(body, &shape) != nil || shape.Error == nil {
		return &HTTPError{Backend: c.name, StatusCode: resp.StatusCode,
			Body: truncate(string(body), maxErrorBody)}
	}
	e := &SubmitError{Backend: c.name, StatusCode: resp.StatusCode,
		NodeErrors: parseNodeErrors(shape.NodeErrors)}
	var top struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Details string `json:"details"`
	}
	var text string
	switch {
	case json.Unmarshal(shape.Error, &text) == nil:
		e.Message = text // the 2024 shape: "error": "no prompt"
	case json.Unmarshal(shape.Error, &top) == nil:
		e.Type, e.Message, e.Details = top.Type, top.Message, top.Details
	default:
		e.Message = truncate(string(shape.Error), 500)
	}
	return e
}

// History returns the history entry of a prompt, or ErrNoHistory while
// ComfyUI answers {} (unknown, queued, running, or forgotten).
func (c *Client) History(ctx context.Context, promptID string) (History, error) {
	var all map[string]json.RawMessage
	if err := c.getJSON(ctx, "/history/"+url.PathEscape(promptID), nil, &all); err != nil {
		return History{}, err
	}
	raw, ok := all[promptID]
	if !ok {
		return History{}, ErrNoHistory
	}
	h, err := parseHistory(promptID, raw)
	if err != nil {
		return History{}, fmt.Errorf("reading history of %s from ComfyUI at %s: %w", promptID, c.name, err)
	}
	return h, nil
}

// QueueState lists the prompt ids ComfyUI is running and holding.
type QueueState struct {
	Running []string
	Pending []string
}

// Has reports whether id is running or pending.
func (q QueueState) Has(id string) (running, pending bool) {
	for _, r := range q.Running {
		if r == id {
			return true, false
		}
	}
	for _, p := range q.Pending {
		if p == id {
			return false, true
		}
	}
	return false, false
}

// Queue reads GET /queue. Its answer holds full graphs, so it can be large;
// only the ids are kept.
//
// TODO: the whole answer is still read and parsed (one shared read per
// backend per PollMin); on a queue of hundreds of big graphs that costs
// bandwidth and memory. 0.38's /api/jobs/{id} would avoid it but is not
// probed for yet.
func (c *Client) Queue(ctx context.Context) (QueueState, error) {
	var raw struct {
		Running []json.RawMessage `json:"queue_running"`
		Pending []json.RawMessage `json:"queue_pending"`
	}
	if err := c.getJSON(ctx, "/queue", nil, &raw); err != nil {
		return QueueState{}, err
	}
	return QueueState{Running: queueIDs(raw.Running), Pending: queueIDs(raw.Pending)}, nil
}

// queueIDs takes the second member, the prompt id, of each queue item.
func queueIDs(items []json.RawMessage) []string {
	ids := make([]string, 0, len(items))
	for _, it := range items {
		var parts []json.RawMessage
		var id string
		if json.Unmarshal(it, &parts) == nil && len(parts) > 1 && json.Unmarshal(parts[1], &id) == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// QueueRemaining reads GET /prompt: running plus pending prompts.
func (c *Client) QueueRemaining(ctx context.Context) (int, error) {
	var v struct {
		ExecInfo struct {
			QueueRemaining int `json:"queue_remaining"`
		} `json:"exec_info"`
	}
	if err := c.getJSON(ctx, "/prompt", nil, &v); err != nil {
		return 0, err
	}
	return v.ExecInfo.QueueRemaining, nil
}

// DeleteQueued removes pending prompts from the queue; running ones stay.
func (c *Client) DeleteQueued(ctx context.Context, ids ...string) error {
	return c.postJSON(ctx, "/queue", map[string][]string{"delete": ids})
}

// Interrupt stops promptID if it is running. Servers from before late 2025
// ignore the id and stop whatever runs: check the queue first.
func (c *Client) Interrupt(ctx context.Context, promptID string) error {
	return c.postJSON(ctx, "/interrupt", map[string]string{"prompt_id": promptID})
}

// OpenImage downloads an image through /view. The caller closes the body.
func (c *Client) OpenImage(ctx context.Context, ref ImageRef) (io.ReadCloser, string, error) {
	typ := ref.Type
	if typ == "" {
		typ = "output"
	}
	q := url.Values{"filename": {ref.Filename}, "subfolder": {ref.Subfolder}, "type": {typ}}
	resp, err := c.do(ctx, http.MethodGet, "/view", q, nil)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, "", fmt.Errorf("image %q is not on ComfyUI at %s: %w",
				ref.path(), c.name, ErrImageNotFound)
		}
		return nil, "", c.httpError(resp)
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	return resp.Body, ct, nil
}

// ComboOptions reads the allowed values of a combo input from
// /object_info/<class>, in either encoding: [[options...], {...}] or
// ["COMBO", {"options": [...]}]. found is false when the server has no
// such class or input.
func (c *Client) ComboOptions(ctx context.Context, class, input string) (
	opts []string, found bool, err error) {
	var info map[string]struct {
		Input map[string]map[string]json.RawMessage `json:"input"`
	}
	if err := c.getJSON(ctx, "/object_info/"+url.PathEscape(class), nil, &info); err != nil {
		return nil, false, err
	}
	node, ok := info[class]
	if !ok {
		return nil, false, nil
	}
	for _, section := range []string{"required", "optional"} {
		if raw, ok := node.Input[section][input]; ok {
			opts, err := parseCombo(raw)
			if err != nil {
				return nil, false, fmt.Errorf("reading %s.%s from ComfyUI at %s: %w", class, input, c.name, err)
			}
			return opts, true, nil
		}
	}
	return nil, false, nil
}

// parseCombo reads one combo input spec in either encoding.
func parseCombo(raw json.RawMessage) ([]string, error) {
	var spec []json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil || len(spec) == 0 {
		return nil, fmt.Errorf("input spec is not a list")
	}
	var values []json.RawMessage
	if json.Unmarshal(spec[0], &values) != nil {
		var typ string
		if json.Unmarshal(spec[0], &typ) != nil || typ != "COMBO" || len(spec) < 2 {
			return nil, fmt.Errorf("input is not a combo")
		}
		var opts struct {
			Options []json.RawMessage `json:"options"`
		}
		if err := json.Unmarshal(spec[1], &opts); err != nil {
			return nil, fmt.Errorf("reading combo options: %w", err)
		}
		values = opts.Options
	}
	out := make([]string, 0, len(values))
	for _, v := range values {
		var s string
		if json.Unmarshal(v, &s) == nil { // a few nodes list numbers; no file name is one
			out = append(out, s)
		}
	}
	return out, nil
}

// SystemStats probes GET /system_stats and returns the ComfyUI version it
// reports. A server without the route (404) is probed on /features.
func (c *Client) SystemStats(ctx context.Context) (version string, err error) {
	var v struct {
		System struct {
			Version string `json:"comfyui_version"`
		} `json:"system"`
	}
	err = c.getJSON(ctx, "/system_stats", nil, &v)
	var he *HTTPError
	if errors.As(err, &he) && he.StatusCode == http.StatusNotFound {
		var features map[string]any
		return "", c.getJSON(ctx, "/features", nil, &features)
	}
	return v.System.Version, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// numericLess orders node ids as numbers when both are, else as text.
func numericLess(a, b string) bool {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return x < y
	}
	return a < b
}

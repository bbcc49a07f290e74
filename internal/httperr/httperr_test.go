package httperr_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atelier-dev/atelier/internal/httperr"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		logged     string // substring of the log, "" for nothing logged
		notInReply string
	}{
		{"public error", httperr.BadRequest("width: must be positive"), 400, "bad_request", "", ""},
		{"designed 503", httperr.New(503, "no_config", "no usable config"), 503, "no_config", "",
			""},
		{"internal error hides its text", errors.New("pq: password authentication failed"),
			500, "internal", "password authentication failed", "pq:"},
		{"cause is logged, not sent", &httperr.Error{Status: 502, Code: "upstream",
			Message: "ComfyUI failed", Cause: errors.New("dial tcp 10.0.0.1")}, 502, "upstream",
			"dial tcp", "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			h := httperr.WithRequestID(httperr.Func(log, func(http.ResponseWriter,
				*http.Request) error {
				return tt.err
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			var body struct {
				Error struct {
					Code, Message string
					RequestID     string `json:"request_id"`
				}
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != tt.code || body.Error.RequestID == "" ||
				body.Error.RequestID != rec.Header().Get("X-Request-Id") {
				t.Errorf("body %+v, header id %q", body, rec.Header().Get("X-Request-Id"))
			}
			if tt.notInReply != "" && strings.Contains(rec.Body.String(), tt.notInReply) {
				t.Errorf("reply leaks %q: %s", tt.notInReply, rec.Body)
			}
			switch {
			case tt.logged == "" && logs.Len() > 0:
				t.Errorf("logged %q, want nothing", logs.String())
			case tt.logged != "" && !strings.Contains(logs.String(), tt.logged):
				t.Errorf("log %q lacks %q", logs.String(), tt.logged)
			}
		})
	}
}

func TestDecodeJSONMessages(t *testing.T) {
	type req struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	tests := []struct {
		body, status, want string
	}{
		{`{"name":"a","count":2}`, "ok", ""},
		{``, "400", "request body is empty"},
		{`{"name":"a"`, "400", "truncated"},
		{`{"name":"a"}{"x":1}`, "400", "data after the JSON object"},
		{`{"count":"two"}`, "400", "field count: expected a whole number, got a JSON string"},
		{`[1,2]`, "400", "must be a JSON object"},
		{`{"nme":"a"}`, "400", `unknown field "nme"`},
		{`{"name":'a'}`, "400", "not valid JSON at byte"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			var v req
			err := httperr.DecodeJSON(rec, r, 1<<20, &v)
			if tt.status == "ok" {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				return
			}
			var he *httperr.Error
			if !errors.As(err, &he) || he.Status != 400 || !strings.Contains(he.Message, tt.want) {
				t.Errorf("DecodeJSON(%q) = %v, want 400 with %q", tt.body, err, tt.want)
			}
			if strings.Contains(err.Error(), "Go value") || strings.Contains(err.Error(), "httperr_test.req") {
				t.Errorf("message leaks Go type names: %v", err)
			}
		})
	}
}

func TestUnrouted(t *testing.T) {
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})
	mux.Handle("GET /api/things/{id}", ok)
	mux.Handle("DELETE /api/things/{id}", ok)
	mux.Handle("/api/", httperr.Unrouted(mux, nil))
	for _, tt := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/api/things/7", http.StatusMethodNotAllowed, "GET, DELETE"},
		{"GET", "/api/nothing", http.StatusNotFound, ""},
		{"GET", "/api/things/7", http.StatusOK, ""},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status || rec.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d Allow %q; want %d %q", tt.method, tt.path, rec.Code,
				rec.Header().Get("Allow"), tt.status, tt.allow)
		}
	}
}

package configclient

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
	"time"

	"github.com/atelier-dev/atelier/internal/config"
)

// MaxReleaseBytes bounds one release as read from the sync API (an /all
// body or one stream event). Larger answers are refused, not truncated.
const MaxReleaseBytes = 64 << 20

// ErrNoRelease is returned when the admin service answers that nothing has
// been published yet (404 no_release).
var ErrNoRelease = errors.New("the admin service has no published release yet")

// rejectError is an answer that arrived but is not a usable release.
type rejectError struct {
	version int64 // the version the answer claimed, 0 when unknown
	reason  string
}

func (e *rejectError) Error() string {
	if e.version > 0 {
		return fmt.Sprintf("release %d rejected: %s", e.version, e.reason)
	}
	return "release rejected: " + e.reason
}

// DecodeRelease parses and verifies one release as the sync API sends it
// (the /all body): it must be a JSON object, pass config.Validate, carry a
// positive version, hold at least one model, and its hash must equal the
// one recomputed from its four sections. Top-level fields other than the
// sections and the release meta (last_updated, config_source, or fields a
// newer admin service adds) are dropped; inside the sections unknown fields
// are errors. config.Validate checks every workflow graph with the
// workflow engine, so a graph without its injection points is refused.
func DecodeRelease(body []byte) (*config.Snapshot, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, &rejectError{reason: "empty answer"}
	}
	if trimmed[0] != '{' {
		return nil, &rejectError{reason: "not a JSON object: starts with " + quotePrefix(trimmed)}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		return nil, &rejectError{reason: "invalid JSON: " + describeJSONError(err, len(trimmed))}
	}
	version := versionOf(top)
	for k := range top {
		// Response meta (last_updated, config_source) and fields a newer
		// admin service may add are not part of the config. Dropping them
		// is safe: the hash check covers every section.
		if !releaseKeys[k] {
			delete(top, k)
		}
	}
	clean, err := json.Marshal(top)
	if err != nil {
		return nil, &rejectError{version: version, reason: "re-encoding: " + err.Error()}
	}
	snap, err := config.ParseJSON(clean, "release")
	if err != nil {
		return nil, &rejectError{version: version, reason: "invalid config: " + summarize(err)}
	}
	if err := verifySnapshot(snap); err != nil {
		return nil, &rejectError{version: version, reason: err.Error()}
	}
	return snap, nil
}

// releaseKeys are the top-level keys of a release that the snapshot holds.
var releaseKeys = map[string]bool{
	"schema_version": true, "models": true, "loras": true, "workflows": true,
	"image_gen": true, "version": true, "hash": true, "published_at": true,
	"published_by": true,
}

// verifySnapshot checks what config.Validate does not: release meta, the
// hash, and that the snapshot is not empty.
func verifySnapshot(s *config.Snapshot) error {
	if s.Version <= 0 {
		return fmt.Errorf("version must be a positive release number, got %d", s.Version)
	}
	if len(s.Models) == 0 {
		return errors.New("the release has no models; an empty config is never applied")
	}
	if s.Hash == "" {
		return errors.New("the release carries no hash")
	}
	got, err := s.ComputeHash()
	if err != nil {
		return fmt.Errorf("computing hash: %w", err)
	}
	if got != s.Hash {
		return fmt.Errorf("hash mismatch: the release says %s, its content hashes to %s", s.Hash, got)
	}
	return nil
}

// versionOf reads the version a raw release claims, for rejection reports.
func versionOf(top map[string]json.RawMessage) int64 {
	var v int64
	if raw, ok := top["version"]; ok {
		_ = json.Unmarshal(raw, &v) // best effort: 0 when unreadable
	}
	return v
}

// summarize shortens a list of validation problems for status and logs.
func summarize(err error) string {
	var ps config.Problems
	if !errors.As(err, &ps) || len(ps) <= 3 {
		return strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	parts := make([]string, 0, 4)
	for _, p := range ps[:3] {
		parts = append(parts, p.String())
	}
	parts = append(parts, fmt.Sprintf("and %d more", len(ps)-3))
	return fmt.Sprintf("%d problems: %s", len(ps), strings.Join(parts, "; "))
}

func describeJSONError(err error, n int) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if se.Offset >= int64(n) {
			return "the answer ends too early (truncated?)"
		}
		return fmt.Sprintf("%v at byte %d", se, se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the answer ends too early (truncated?)"
	}
	return err.Error()
}

func quotePrefix(b []byte) string {
	const max = 32
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}

// apiError is a non-success answer of the sync API.
type apiError struct {
	op      string
	status  int
	code    string
	message string
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: http %d", e.op, e.status)
	if e.code != "" {
		b.WriteString(" " + e.code)
	}
	if e.message != "" {
		b.WriteString(": " + e.message)
	}
	return b.String()
}

func (e *apiError) Is(target error) bool {
	return target == ErrNoRelease && e.status == http.StatusNotFound && e.code == "no_release"
}

// readAPIError turns a failed response into an apiError, reading the
// {"error": {"code", "message"}} body when there is one.
func readAPIError(op string, resp *http.Response) error {
	e := &apiError{op: op, status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var doc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &doc) == nil {
		e.code, e.message = doc.Error.Code, doc.Error.Message
	} else if t := strings.TrimSpace(string(body)); t != "" && len(t) <= 200 {
		e.message = t
	}
	return e
}

// answer is one response of /all or /watch.
type answer struct {
	notModified bool
	body        []byte
	version     int64 // X-Config-Version, 0 when absent
}

// get performs one GET against the sync API and reads the answer. A
// status other than 200 and 304 is an *apiError.
func get(ctx context.Context, hc *http.Client, url, token, etag string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return answer{}, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", strconv.Quote(etag))
	}
	op := "GET " + pathOf(url)
	resp, err := hc.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s: %w", op, unwrapURLError(err))
	}
	defer resp.Body.Close()
	a := answer{}
	a.version, _ = strconv.ParseInt(resp.Header.Get("X-Config-Version"), 10, 64)
	switch resp.StatusCode {
	case http.StatusNotModified:
		a.notModified = true
		return a, nil
	case http.StatusOK:
	default:
		return a, readAPIError(op, resp)
	}
	a.body, err = io.ReadAll(io.LimitReader(resp.Body, MaxReleaseBytes+1))
	if err != nil {
		// A body cut off mid-way is a broken answer, not a release.
		return a, fmt.Errorf("%s: reading answer: %w", op, err)
	}
	if len(a.body) > MaxReleaseBytes {
		return a, &rejectError{version: a.version, reason: fmt.Sprintf(
			"answer is larger than the %d MiB limit", MaxReleaseBytes>>20)}
	}
	return a, nil
}

// unwrapURLError drops the *url.Error wrapper, which repeats the method
// and the whole URL in front of the cause.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// pathOf returns the last path element of a sync API URL, for messages.
func pathOf(url string) string {
	if i := strings.IndexByte(url, '?'); i >= 0 {
		url = url[:i]
	}
	if i := strings.LastIndexByte(url, '/'); i >= 0 {
		return url[i:]
	}
	return url
}

// FetchRelease downloads the current release from the sync API at baseURL
// (BACKEND_CONFIG_URL) and verifies it exactly as the client does before
// applying one. It returns ErrNoRelease (wrapped) when nothing has been
// published yet. `atelier config sync` uses it with WriteCache.
func FetchRelease(ctx context.Context, baseURL, token string) (*config.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	a, err := get(ctx, defaultHTTPClient(), strings.TrimRight(baseURL, "/")+"/all", token, "")
	if err != nil {
		return nil, err
	}
	if a.notModified {
		return nil, errors.New("GET /all: unexpected 304 to an unconditional request")
	}
	snap, err := DecodeRelease(a.body)
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// Package httperr is the one error type and writer every Atelier HTTP
// handler uses: handlers return errors, clients see a public message, a
// stable code and a request id, and the cause goes to the log only.
package httperr

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
)

// Error is an error with an HTTP status and a message safe to show.
type Error struct {
	Status  int
	Code    string // stable, machine-readable: "not_found", "conflict", …
	Message string // public
	Details any    // optional public detail, encoded as "details"
	Cause   error  // logged, never sent
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an Error with a status, code and public message.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// With returns a copy of e carrying details.
func (e *Error) With(details any) *Error {
	c := *e
	c.Details = details
	return &c
}

// Common errors.
var (
	ErrUnauthorized = New(http.StatusUnauthorized, "unauthorized", "sign in or send a valid bearer token")
	ErrForbidden    = New(http.StatusForbidden, "forbidden", "your role does not allow this")
)

// BadRequest is a 400 with a message that says what is wrong.
func BadRequest(message string) *Error { return New(http.StatusBadRequest, "bad_request", message) }

type ctxKey struct{}

// RequestID returns the request id the middleware gave r, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// WithRequestID gives every request an id (the client's X-Request-Id when
// it sent a sane one) and echoes it in the response.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if len(id) == 0 || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
	})
}

type body struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Details   any    `json:"details,omitempty"`
		RequestID string `json:"request_id,omitempty"`
	} `json:"error"`
}

// Write sends err as JSON with its status. Errors that are not *Error are
// logged with their cause and answered 500 with no internal text. An
// *Error is the service answering as designed (a 503 while no config
// exists, say): it is logged only when it carries a cause.
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var he *Error
	internal := !errors.As(err, &he)
	if internal {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return // the client went away; nobody to answer
		}
		he = &Error{Status: http.StatusInternalServerError, Code: "internal",
			Message: "internal error; the request id identifies it in the service's log", Cause: err}
	}
	id := RequestID(r.Context())
	switch {
	case log == nil:
	case internal:
		log.Error("request failed", "method", r.Method, "path", r.URL.Path,
			"status", he.Status, "request_id", id, "err", err)
	case he.Cause != nil && he.Status >= 500:
		log.Warn("request refused", "method", r.Method, "path", r.URL.Path,
			"status", he.Status, "request_id", id, "err", he.Cause)
	}
	var b body
	b.Error.Code, b.Error.Message, b.Error.Details, b.Error.RequestID = he.Code, he.Message,
		he.Details, id
	JSON(w, he.Status, b)
}

// JSON writes v as JSON with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// Func adapts a handler that returns an error.
func Func(log *slog.Logger, fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			Write(w, r, log, err)
		}
	})
}

// DecodeJSON reads a JSON body of at most limit bytes into v, strictly:
// one object, no unknown fields, nothing after it.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return BodyError(err, limit)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("request body has data after the JSON object; send one object")
	}
	return nil
}

// BodyError turns a body read or decode error into a 400 or 413 whose
// message says what is wrong without Go's type names.
func BodyError(err error, limit int64) error {
	var (
		mbe *http.MaxBytesError
		te  *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &mbe):
		return New(http.StatusRequestEntityTooLarge, "too_large",
			"request body is larger than the limit of "+humanBytes(limit))
	case errors.Is(err, io.EOF):
		return BadRequest("request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("request body ends too early (truncated JSON)")
	case errors.As(err, &te) && te.Field != "":
		return BadRequest(fmt.Sprintf("field %s: expected %s, got a JSON %s", te.Field,
			jsonKind(te.Type.Kind()), te.Value))
	case errors.As(err, &te):
		return BadRequest(fmt.Sprintf("request body must be a JSON object, got a JSON %s",
			te.Value))
	case errors.As(err, &se):
		return BadRequest(fmt.Sprintf("request body is not valid JSON at byte %d: %s",
			se.Offset, strings.TrimPrefix(se.Error(), "json: ")))
	}
	return BadRequest("request body: " + strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

func humanBytes(n int64) string {
	if n%(1<<20) == 0 {
		return itoa(n>>20) + " MiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Unrouted answers requests no route took: 405 with an Allow header when
// the path exists for other methods in mux, else 404, both as JSON. Mount
// it as mux's catch-all for an API prefix.
func Unrouted(mux *http.ServeMux, log *slog.Logger) http.Handler {
	return Func(log, func(w http.ResponseWriter, r *http.Request) error {
		_, self := mux.Handler(r)
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut,
			http.MethodPatch, http.MethodDelete} {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := mux.Handler(probe); p != self && p != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return New(http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf(
				"%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
		}
		return New(http.StatusNotFound, "not_found", "no such API endpoint")
	})
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atelier-dev/atelier/internal/comfyui"
	"github.com/atelier-dev/atelier/internal/httperr"
	"github.com/atelier-dev/atelier/internal/jobs"
)

// MaxWait caps ?wait= on POST /api/generate-image.
const MaxWait = 10 * time.Minute

const maxGenerateBody = 1 << 20

func (s *Server) jobRoutes() {
	if s.opt.Jobs == nil {
		return
	}
	s.mux.Handle("POST /api/generate-image", httperr.Func(s.log, s.generate))
	s.mux.Handle("GET /api/jobs/{id}", httperr.Func(s.log, s.getJob))
	s.mux.Handle("GET /api/jobs/{id}/events", httperr.Func(s.log, s.jobEvents))
	s.mux.Handle("POST /api/jobs/{id}/cancel", httperr.Func(s.log, s.cancelJob))
	s.mux.Handle("GET /api/images/{id}/{n}", httperr.Func(s.log, s.image))
}

func (s *Server) generate(w http.ResponseWriter, r *http.Request) error {
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Second, nil
		}
		if err != nil || d < 0 {
			return httperr.BadRequest(fmt.Sprintf("wait: %q is not a duration such as 60s", v))
		}
		wait = min(d, MaxWait)
	}
	var req jobs.Request
	if err := httperr.DecodeJSON(w, r, maxGenerateBody, &req); err != nil {
		return err
	}
	snap := s.opt.Config.Current()
	if snap == nil {
		return s.noConfig()
	}
	st := s.opt.Config.Status()
	j, err := s.opt.Jobs.Submit(r.Context(), snap, jobs.Source{Version: snap.Version,
		Source: st.Source}, req)
	if err != nil {
		return generateError(err)
	}
	w.Header().Set("Location", "/api/jobs/"+j.ID())
	if wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		defer cancel()
		for {
			v, changed := j.Changed()
			if v.Status.Final() {
				httperr.JSON(w, http.StatusOK, v)
				return nil
			}
			select {
			case <-changed:
			case <-ctx.Done():
				if r.Context().Err() != nil {
					return nil
				}
				httperr.JSON(w, http.StatusAccepted, j.View())
				return nil
			}
		}
	}
	httperr.JSON(w, http.StatusAccepted, map[string]any{"job_id": j.ID(),
		"status_url": "/api/jobs/" + j.ID(), "events_url": "/api/jobs/" + j.ID() + "/events",
		"status": jobs.StatusQueued})
	return nil
}

// generateError maps submission failures to statuses: bad requests 400,
// files missing on every backend 422 (the request names something that
// cannot run here), no backend up 503, ComfyUI refusing the graph 502.
func generateError(err error) error {
	var (
		inv  *jobs.InvalidError
		un   *comfyui.UnavailableError
		sub  *comfyui.SubmitError
		unr  *comfyui.UnreachableError
		herr *comfyui.HTTPError
	)
	switch {
	case errors.As(err, &inv):
		return httperr.New(http.StatusBadRequest, "invalid_request",
			"the request cannot be generated: "+inv.Error()).
			With(inv.Problems)
	case errors.Is(err, jobs.ErrFull):
		return httperr.New(http.StatusServiceUnavailable, "busy",
			"too many jobs in flight; try again shortly")
	case errors.As(err, &un):
		if missing := un.Missing(); len(missing) > 0 && allUpButMissing(un) {
			return httperr.New(http.StatusUnprocessableEntity, "not_installed", un.Error()).
				With(backendProblems(un))
		}
		return httperr.New(http.StatusServiceUnavailable, "comfyui_unavailable", un.Error()).
			With(backendProblems(un))
	case errors.As(err, &sub):
		if len(sub.MissingFiles()) > 0 {
			return httperr.New(http.StatusUnprocessableEntity, "not_installed", sub.Error())
		}
		return httperr.New(http.StatusBadGateway, "comfyui_refused", sub.Error())
	case errors.As(err, &unr):
		return httperr.New(http.StatusServiceUnavailable, "comfyui_unavailable", unr.Error())
	case errors.As(err, &herr):
		return httperr.New(http.StatusBadGateway, "comfyui_error", herr.Error())
	}
	return err
}

// backendProblem is a comfyui.BackendProblem in the API's JSON shape.
type backendProblem struct {
	Backend string        `json:"backend"`
	Down    bool          `json:"down"`
	Reason  string        `json:"reason,omitempty"`
	Missing []missingFile `json:"missing,omitempty"`
}

type missingFile struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// backendProblems are the details of an *UnavailableError: why each
// backend cannot run the job.
func backendProblems(un *comfyui.UnavailableError) []backendProblem {
	out := make([]backendProblem, len(un.Problems))
	for i, p := range un.Problems {
		out[i] = backendProblem{Backend: p.Backend, Down: p.Down, Reason: p.Reason}
		for _, m := range p.Missing {
			out[i].Missing = append(out[i].Missing, missingFile{Kind: string(m.Kind), Name: m.Name})
		}
	}
	return out
}

// allUpButMissing reports whether every backend is up and lacks files:
// then retrying will not help, the request must change. With a backend
// down, it may hold the files once it is back: that is a 503.
func allUpButMissing(un *comfyui.UnavailableError) bool {
	for _, p := range un.Problems {
		if p.Down {
			return false
		}
	}
	return len(un.Problems) > 0
}

func (s *Server) job(r *http.Request) (*jobs.Job, error) {
	j, err := s.opt.Jobs.Get(r.PathValue("id"))
	if errors.Is(err, jobs.ErrNotFound) {
		return nil, httperr.New(http.StatusNotFound, "not_found",
			"no such job (jobs are kept in memory for a limited time and forgotten on restart)")
	}
	return j, err
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	httperr.JSON(w, http.StatusOK, j.View())
	return nil
}

// jobEvents streams the job's state as Server-Sent Events until it ends:
// "state" events carry the whole job view.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	last := ""
	for {
		v, changed := j.Changed()
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if string(b) != last {
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", eventName(v), b); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
			last = string(b)
		}
		if v.Status.Final() {
			return nil
		}
		select {
		case <-changed:
		case <-heartbeat.C:
			if _, err := io.WriteString(w, ": heartbeat\n\n"); err != nil {
				return nil
			}
			_ = rc.Flush()
		case <-r.Context().Done():
			return nil
		}
	}
}

func eventName(v jobs.View) string {
	if v.Status == jobs.StatusRunning {
		return "progress"
	}
	return string(v.Status)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	if v := j.View(); v.Status.Final() {
		return httperr.New(http.StatusConflict, "finished",
			fmt.Sprintf("the job already ended: %s", v.Status))
	}
	if err := j.Cancel(r.Context()); err != nil {
		return httperr.New(http.StatusBadGateway, "cancel_failed",
			"the ComfyUI backend could not be told to cancel: "+err.Error())
	}
	httperr.JSON(w, http.StatusAccepted, j.View())
	return nil
}

func (s *Server) image(w http.ResponseWriter, r *http.Request) error {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		return httperr.BadRequest(fmt.Sprintf("%q is not an image number", r.PathValue("n")))
	}
	body, ctype, err := s.opt.Jobs.OpenImage(r.Context(), r.PathValue("id"), n)
	if errors.Is(err, jobs.ErrNotFound) {
		return httperr.New(http.StatusNotFound, "not_found", "no such job or image")
	}
	if err != nil {
		return httperr.New(http.StatusBadGateway, "comfyui_error",
			"the image could not be fetched from ComfyUI: "+err.Error())
	}
	defer body.Close()
	if ctype == "" || !strings.HasPrefix(ctype, "image/") {
		ctype = "image/png"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q",
		fmt.Sprintf("atelier-%s-%d.png", r.PathValue("id"), n)))
	_, _ = io.Copy(w, body)
	return nil
}

package admin

import (
	"errors"
	"io"
	"net/http"

	"github.com/atelier-dev/atelier/internal/httperr"
	"github.com/atelier-dev/atelier/internal/workflow"
)

// inspectAnswer is POST /api/admin/workflows/inspect's answer: what the
// console shows the moment an operator uploads a workflow file.
type inspectAnswer struct {
	Format     workflow.Format      `json:"format"`
	OK         bool                 `json:"ok"`
	Message    string               `json:"message,omitempty"`
	Inspection *workflow.Inspection `json:"inspection,omitempty"`
	Problems   []workflow.Problem   `json:"problems"`
	Graph      *workflow.Graph      `json:"workflow_json,omitempty"`
	Params     workflow.Params      `json:"params,omitempty"`
}

// inspectWorkflow detects an uploaded workflow's format and its injection
// points. ?params= may carry explicit points as JSON. A file the engine
// cannot use is still a 200: the answer says why, for the console to show.
func (s *Server) inspectWorkflow(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return httperr.BodyError(err, MaxBodyBytes)
	}
	var params workflow.Params
	if v := r.URL.Query().Get("params"); v != "" {
		if err := params.UnmarshalJSON([]byte(v)); err != nil {
			return httperr.BadRequest("params: " + err.Error())
		}
	}
	ans := inspectAnswer{Problems: []workflow.Problem{}, Params: params}
	format, _, derr := workflow.Detect(body)
	ans.Format = format
	g, err := workflow.Parse(body)
	if err != nil {
		ans.Message = err.Error()
		if derr != nil && !errors.Is(err, derr) {
			ans.Message = derr.Error()
		}
		httperr.JSON(w, http.StatusOK, ans)
		return nil
	}
	ans.Graph = g
	ins, err := g.Inspect(params)
	if err != nil {
		ans.Message = err.Error()
	}
	ans.Inspection = ins
	if ps := workflow.Check(body, params); len(ps) > 0 {
		ans.Problems = ps
	}
	ans.OK = err == nil && len(ans.Problems) == 0
	if ans.OK {
		ans.Message = "API format; every required injection point was found"
	}
	httperr.JSON(w, http.StatusOK, ans)
	return nil
}

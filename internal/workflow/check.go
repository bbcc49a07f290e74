package workflow

import "strings"

// Problem is one validation problem. Field is relative to the workflow
// entry: "workflow_json" for the graph, "params.seed" for a params entry.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Field + ": " + p.Message }

// Problems is a list of problems that is also an error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "; ")
}

// Check is the config-validation hook: data is the workflow_json of a
// config entry and p its explicit points. It returns every problem: not API
// format (a UI-format file gets the export hint), unparsable (invalid UTF-8
// or JSON, cycles of links, links to missing nodes or written with a numeric
// node id), required points missing (prompt, seed, width, height, model,
// output), values hidden behind links the engine does not understand (but
// for sampler and scheduler, see Inspection.Problems), template values
// ComfyUI would refuse, and invalid params (unknown point, node not in the
// graph, input not on that node, input that holds a link). It returns nil
// when the workflow can be rendered.
func Check(data []byte, p Params) []Problem {
	g, err := Parse(data)
	if err != nil {
		return parseProblems(err)
	}
	ins, probs := g.inspect(p)
	probs = append(probs, ins.Problems()...)
	if len(probs) == 0 {
		return nil
	}
	return probs
}

// parseProblems turns a Parse error into one problem per joined error.
func parseProblems(err error) Problems {
	var probs Problems
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			probs = append(probs, Problem{"workflow_json", e.Error()})
		}
		return probs
	}
	return Problems{{"workflow_json", err.Error()}}
}

package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Graph is a parsed API-format workflow. It keeps every value as the JSON
// text it was written with, and the order of nodes and inputs, so that
// encoding an unchanged graph gives back the (compacted) input. A Graph is
// never changed after Parse and is safe for concurrent use.
type Graph struct {
	order []string         // node ids in file order
	nodes map[string]*node // by id
	pos   map[string]int   // position of each id in order
}

// Link is a connection from an output of a node: an input whose value is
// ["<node id>", <output index>].
type Link struct {
	Node   string `json:"node"`
	Output int    `json:"output"`
}

// node is one node of a graph.
type node struct {
	id     string
	class  string
	fields []field // the node's members in order; the inputs member has raw nil
	inputs []input
}

// field is one member of a node object other than inputs, kept as written.
type field struct {
	key string
	raw json.RawMessage
}

// input is one entry of a node's inputs: a literal value or a link.
type input struct {
	name   string
	raw    json.RawMessage // the value as written (compacted)
	isLink bool
	link   Link
	// numID is set when the value is a literal [<integer>, <integer>]: a
	// link whose node id was written as a number if a node has that id.
	numID string
}

// maxParseIssues bounds how many structural problems Parse lists.
const maxParseIssues = 20

// Parse detects the format of data, unwraps envelopes and parses an
// API-format graph. Numbers keep their exact text. A UI-format file gives an
// error wrapping ErrUIFormat that says how to export API format; other
// shapes give an error wrapping ErrUnknownFormat. Structural problems (a
// node without class_type or inputs, a link to a missing node, duplicate
// ids) are all reported, joined into one error.
func Parse(data []byte) (*Graph, error) {
	format, graph, err := Detect(data)
	if err != nil {
		return nil, err
	}
	if format == FormatUI {
		return nil, fmt.Errorf("%w: %s", ErrUIFormat, exportHint)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, graph); err != nil {
		return nil, fmt.Errorf("reading workflow JSON: %w", err)
	}
	g := &Graph{nodes: map[string]*node{}, pos: map[string]int{}}
	var issues []error
	err = eachMember(compact.Bytes(), func(id string, raw json.RawMessage) error {
		if _, dup := g.nodes[id]; dup {
			issues = append(issues, fmt.Errorf("node %q appears twice", id))
			return nil
		}
		n, errs := parseNode(id, raw)
		issues = append(issues, errs...)
		g.pos[id] = len(g.order)
		g.order = append(g.order, id)
		g.nodes[id] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading workflow JSON: %w", err)
	}
	issues = append(issues, g.checkLinks()...)
	if len(issues) > 0 {
		if len(issues) > maxParseIssues {
			more := len(issues) - maxParseIssues
			issues = append(issues[:maxParseIssues], fmt.Errorf("and %d more problems", more))
		}
		return nil, errors.Join(issues...)
	}
	return g, nil
}

// parseNode reads one node object; it returns what it could read and every
// problem found.
func parseNode(id string, raw json.RawMessage) (*node, []error) {
	n := &node{id: id}
	var issues []error
	if id == "" {
		issues = append(issues, errors.New("a node has an empty id"))
	}
	seen := map[string]bool{}
	hasClass, hasInputs := false, false
	err := eachMember(raw, func(key string, v json.RawMessage) error {
		if seen[key] {
			issues = append(issues, fmt.Errorf("node %q: member %q appears twice", id, key))
			return nil
		}
		seen[key] = true
		switch key {
		case "class_type":
			hasClass = true
			if json.Unmarshal(v, &n.class) != nil || n.class == "" {
				issues = append(issues, fmt.Errorf("node %q: class_type must be a non-empty "+
					"string, found %s", id, kindOf(v)))
			}
			n.fields = append(n.fields, field{key: key, raw: v})
		case "inputs":
			hasInputs = true
			issues = append(issues, n.parseInputs(v)...)
			n.fields = append(n.fields, field{key: key})
		default:
			n.fields = append(n.fields, field{key: key, raw: v})
		}
		return nil
	})
	if err != nil {
		return n, append(issues, fmt.Errorf("node %q: %w", id, err))
	}
	if !hasClass {
		issues = append(issues, fmt.Errorf("node %q has no class_type", id))
	}
	if !hasInputs {
		issues = append(issues, fmt.Errorf("node %q has no inputs object", id))
	}
	return n, issues
}

func (n *node) parseInputs(raw json.RawMessage) []error {
	var issues []error
	seen := map[string]bool{}
	err := eachMember(raw, func(name string, v json.RawMessage) error {
		if seen[name] {
			issues = append(issues, fmt.Errorf("node %q: input %q appears twice", n.id, name))
			return nil
		}
		seen[name] = true
		in := input{name: name, raw: v}
		link, isLink, err := parseLink(v)
		if err != nil {
			issues = append(issues, fmt.Errorf("node %q input %q: %w", n.id, name, err))
		}
		in.isLink, in.link = isLink, link
		if !isLink && err == nil {
			in.numID = numericLinkID(v)
		}
		n.inputs = append(n.inputs, in)
		return nil
	})
	if err != nil {
		issues = append(issues, fmt.Errorf("node %q inputs: %w", n.id, err))
	}
	return issues
}

// parseLink reports whether v is a link the way ComfyUI decides it: a
// two-element array of a string and a number. A literal list is written
// {"__value__": [...]}, so it never looks like a link.
func parseLink(v json.RawMessage) (Link, bool, error) {
	if len(v) == 0 || v[0] != '[' {
		return Link{}, false, nil
	}
	var parts []json.RawMessage
	if json.Unmarshal(v, &parts) != nil || len(parts) != 2 {
		return Link{}, false, nil
	}
	if len(parts[0]) == 0 || parts[0][0] != '"' || kindOf(parts[1]) != "a number" {
		return Link{}, false, nil
	}
	var l Link
	if err := json.Unmarshal(parts[0], &l.Node); err != nil {
		return Link{}, false, nil
	}
	f, err := strconv.ParseFloat(string(parts[1]), 64)
	if err != nil || f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
		return Link{}, false, fmt.Errorf("link output index %s is not a whole number ≥ 0",
			parts[1])
	}
	l.Output = int(f)
	return l, true, nil
}

// numericLinkID returns the id text of a value shaped [<integer>,
// <integer ≥ 0>], which ComfyUI takes for a literal list, not a link, and
// "" for any other value.
func numericLinkID(v json.RawMessage) string {
	var parts []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &parts) != nil || len(parts) != 2 {
		return ""
	}
	id, err := strconv.ParseUint(string(parts[0]), 10, 64)
	if err != nil {
		return ""
	}
	if _, err := strconv.ParseUint(string(parts[1]), 10, 31); err != nil {
		return ""
	}
	return strconv.FormatUint(id, 10)
}

// checkLinks reports links to nodes that are not in the graph, links whose
// node id is written as a number, and cycles.
func (g *Graph) checkLinks() []error {
	var issues []error
	for _, id := range g.order {
		for _, in := range g.nodes[id].inputs {
			if in.isLink && g.nodes[in.link.Node] == nil {
				issues = append(issues, fmt.Errorf("node %q input %q links to node %q, "+
					"which is not in the graph", id, in.name, in.link.Node))
			}
			if in.numID != "" && g.nodes[in.numID] != nil {
				issues = append(issues, fmt.Errorf("node %q input %q looks like a link but "+
					"its node id is a number; ComfyUI's API format writes %s, and reads %s "+
					"as a literal list", id, in.name, linkFromNumeric(in.raw), in.raw))
			}
		}
	}
	return append(issues, g.findCycles()...)
}

// linkFromNumeric rewrites [4,0] as the link ["4",0].
func linkFromNumeric(raw json.RawMessage) string {
	var parts []json.Number
	if json.Unmarshal(raw, &parts) != nil || len(parts) != 2 {
		return string(raw)
	}
	return `["` + parts[0].String() + `",` + parts[1].String() + `]`
}

// findCycles reports every cycle of links, one per link that closes a
// cycle: ComfyUI cannot run nodes that wait on each other. It walks the
// graph depth first without recursion, so that a long chain cannot exhaust
// the stack.
func (g *Graph) findCycles() []error {
	const (
		unseen = iota
		open   // on the current path
		done
	)
	state := make(map[string]int, len(g.order))
	var issues []error
	for _, root := range g.order {
		if state[root] != unseen {
			continue
		}
		state[root] = open
		path := []walkFrame{{n: g.nodes[root]}}
		for len(path) > 0 {
			top := &path[len(path)-1]
			if top.next == len(top.n.inputs) {
				state[top.n.id] = done
				path = path[:len(path)-1]
				continue
			}
			in := top.n.inputs[top.next]
			top.next++
			if !in.isLink || g.nodes[in.link.Node] == nil {
				continue
			}
			switch src := in.link.Node; state[src] {
			case open:
				issues = append(issues, cycleError(path, src))
			case unseen:
				state[src] = open
				path = append(path, walkFrame{n: g.nodes[src]})
			}
		}
	}
	return issues
}

// walkFrame is one node on findCycles' path and the next input to follow;
// the input before next is the link to the following frame.
type walkFrame struct {
	n    *node
	next int
}

// cycleError describes the cycle closed by the link just followed from the
// last node of path back to node to, which is on path.
func cycleError(path []walkFrame, to string) error {
	start := len(path) - 1
	for path[start].n.id != to {
		start--
	}
	last := path[len(path)-1]
	if start == len(path)-1 {
		return fmt.Errorf("links form a cycle: node %q input %q links to node %q itself",
			to, last.n.inputs[last.next-1].name, to)
	}
	steps := make([]string, 0, len(path)-start)
	for k := start; k < len(path); k++ {
		f := path[k]
		next := to
		if k+1 < len(path) {
			next = path[k+1].n.id
		}
		steps = append(steps, fmt.Sprintf("node %q input %q links to node %q",
			f.n.id, f.n.inputs[f.next-1].name, next))
	}
	return fmt.Errorf("links form a cycle: %s", strings.Join(steps, ", "))
}

// Len returns the number of nodes.
func (g *Graph) Len() int { return len(g.order) }

// Class returns the class_type of node id, and whether the node exists.
func (g *Graph) Class(id string) (string, bool) {
	n, ok := g.nodes[id]
	if !ok {
		return "", false
	}
	return n.class, true
}

// MarshalJSON encodes the graph compactly, nodes and inputs in their
// original order and every untouched value as written.
func (g *Graph) MarshalJSON() ([]byte, error) {
	return g.appendJSON(make([]byte, 0, 4096)), nil
}

func (g *Graph) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i, id := range g.order {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, id)
		dst = append(dst, ':')
		dst = g.nodes[id].appendJSON(dst)
	}
	return append(dst, '}')
}

func (n *node) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i, f := range n.fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, f.key)
		dst = append(dst, ':')
		if f.raw != nil {
			dst = append(dst, f.raw...)
			continue
		}
		dst = append(dst, '{')
		for j, in := range n.inputs {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, in.name)
			dst = append(dst, ':')
			dst = append(dst, in.raw...)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// clone returns a copy of g whose nodes and inputs can be changed without
// touching g. Raw values are shared: they are replaced, never modified.
func (g *Graph) clone() *Graph {
	// pos stays nil: Render adds and removes nodes, and needs no positions.
	c := &Graph{
		order: append([]string(nil), g.order...),
		nodes: make(map[string]*node, len(g.nodes)),
	}
	for id, n := range g.nodes {
		cn := *n
		cn.inputs = append([]input(nil), n.inputs...)
		c.nodes[id] = &cn
	}
	return c
}

// input returns a pointer to the named input of n, or nil.
func (n *node) input(name string) *input {
	for i := range n.inputs {
		if n.inputs[i].name == name {
			return &n.inputs[i]
		}
	}
	return nil
}

// linkAt returns the link in input name, if that input is a link.
func (n *node) linkAt(name string) (Link, bool) {
	in := n.input(name)
	if in == nil || !in.isLink {
		return Link{}, false
	}
	return in.link, true
}

// set replaces the input's value with a literal.
func (in *input) set(raw json.RawMessage) {
	in.raw, in.isLink, in.link = raw, false, Link{}
}

// point re-points the input to l.
func (in *input) point(l Link) {
	in.raw, in.isLink, in.link = appendLink(nil, l), true, l
}

func appendLink(dst []byte, l Link) []byte {
	dst = append(dst, '[')
	dst = appendString(dst, l.Node)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(l.Output), 10)
	return append(dst, ']')
}

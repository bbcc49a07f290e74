package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// RawJSON is a JSON value kept as its exact bytes, so that numbers such as a
// 64-bit seed keep their text. In YAML it may be written as YAML; it is
// turned into JSON with number literals unchanged.
type RawJSON []byte

// MarshalJSON returns the bytes, or null when empty.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	if !json.Valid(r) {
		return nil, errors.New("workflow_json is not valid JSON")
	}
	return r, nil
}

// UnmarshalJSON keeps a copy of b.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = nil
		return nil
	}
	*r = append((*r)[:0], b...)
	return nil
}

// UnmarshalYAML converts the YAML value to JSON. A problem is reported as a
// *yaml.TypeError so that the decoder carries on and reports it, with its
// line, beside every other problem in the file.
func (r *RawJSON) UnmarshalYAML(n *yaml.Node) error {
	c := yamlConverter{nodes: maxYAMLJSONNodes}
	if err := c.convert(n, 0); err != nil {
		line, msg := n.Line, err.Error()
		var le *lineError
		if errors.As(err, &le) {
			line, msg = le.line, le.msg
		}
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", line, msg)}}
	}
	*r = c.buf.Bytes()
	return nil
}

// Bounds on what one inline graph may expand to, so that a YAML file full
// of aliases (a "billion laughs") cannot exhaust memory: a count of values
// and, since one alias can stand for a long string, a size.
const (
	maxYAMLJSONNodes = 1_000_000
	maxYAMLJSONBytes = MaxTemplateFileBytes
)

// lineError is a conversion problem at a line of the YAML file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func errAt(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// yamlConverter writes a YAML node tree as JSON within a budget.
type yamlConverter struct {
	buf   bytes.Buffer
	nodes int
}

func (c *yamlConverter) convert(n *yaml.Node, depth int) error {
	c.nodes--
	if c.nodes < 0 || c.buf.Len() > maxYAMLJSONBytes {
		return errAt(n, "inline workflow is too large (more than %d values or %s, "+
			"counting what aliases repeat)", maxYAMLJSONNodes, formatBytes(maxYAMLJSONBytes))
	}
	if depth > 200 {
		return errAt(n, "inline workflow is nested too deeply")
	}
	buf := &c.buf
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			buf.WriteString("null")
			return nil
		}
		return c.convert(n.Content[0], depth+1)
	case yaml.AliasNode:
		return c.convert(n.Alias, depth+1)
	case yaml.MappingNode:
		buf.WriteByte('{')
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return errAt(k, "mapping keys must be strings")
			}
			if first, dup := seen[k.Value]; dup {
				return errAt(k, "duplicate key %q (first at line %d)", k.Value, first)
			}
			seen[k.Value] = k.Line
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, k.Value)
			buf.WriteByte(':')
			if err := c.convert(n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := c.convert(e, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		return scalarToJSON(buf, n)
	default:
		return errAt(n, "unsupported YAML value")
	}
	return nil
}

func scalarToJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		buf.WriteString("null")
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return errAt(n, "%q is not a boolean", n.Value)
		}
		buf.WriteString(strconv.FormatBool(b))
	case "!!int", "!!float":
		if jsonNumber.MatchString(n.Value) {
			buf.WriteString(n.Value)
			return nil
		}
		// YAML spellings JSON lacks (0x1f, 1_000, +5, .5): convert.
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			buf.WriteString(strconv.FormatInt(i, 10))
			return nil
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return errAt(n, "number %q cannot be written as JSON", n.Value)
		}
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !jsonNumber.MatchString(s) {
			return errAt(n, "number %q cannot be written as JSON", n.Value)
		}
		buf.WriteString(s)
	default:
		writeJSONString(buf, n.Value)
	}
	return nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	buf.Truncate(buf.Len() - 1)
}

// UnmarshalYAML accepts a string or a list of strings.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = StringList{n.Value}
		return nil
	}
	var many []string
	if err := n.Decode(&many); err != nil {
		return err
	}
	*l = many
	return nil
}

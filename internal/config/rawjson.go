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

// UnmarshalYAML converts the YAML value to JSON.
func (r *RawJSON) UnmarshalYAML(n *yaml.Node) error {
	var buf bytes.Buffer
	budget := maxYAMLJSONNodes
	if err := yamlToJSON(&buf, n, &budget, 0); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*r = buf.Bytes()
	return nil
}

// maxYAMLJSONNodes bounds the nodes one inline graph may expand to, so that
// a YAML file full of aliases (a "billion laughs") cannot exhaust memory.
const maxYAMLJSONNodes = 1_000_000

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

func yamlToJSON(buf *bytes.Buffer, n *yaml.Node, budget *int, depth int) error {
	*budget--
	if *budget < 0 {
		return errors.New("inline workflow is too large (too many values or aliases)")
	}
	if depth > 200 {
		return errors.New("inline workflow is nested too deeply")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			buf.WriteString("null")
			return nil
		}
		return yamlToJSON(buf, n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		return yamlToJSON(buf, n.Alias, budget, depth+1)
	case yaml.MappingNode:
		buf.WriteByte('{')
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: mapping keys must be strings", k.Line)
			}
			if first, dup := seen[k.Value]; dup {
				return fmt.Errorf("line %d: duplicate key %q (first at line %d)", k.Line, k.Value, first)
			}
			seen[k.Value] = k.Line
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, k.Value)
			buf.WriteByte(':')
			if err := yamlToJSON(buf, n.Content[i+1], budget, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := yamlToJSON(buf, c, budget, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		return scalarToJSON(buf, n)
	default:
		return fmt.Errorf("line %d: unsupported YAML value", n.Line)
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
			return err
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
			return fmt.Errorf("line %d: number %q cannot be written as JSON", n.Line, n.Value)
		}
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !jsonNumber.MatchString(s) {
			return fmt.Errorf("line %d: number %q cannot be written as JSON", n.Line, n.Value)
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

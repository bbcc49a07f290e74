package comfysim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// kv is one member of an object whose key order matters.
type kv struct {
	k string
	v any
}

// object is a JSON object that keeps its key order, as Python dicts do; ComfyUI
// clients never depend on it, but people reading /object_info do.
type object []kv

// MarshalJSON writes the members in order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.k)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.v)
		if err != nil {
			return nil, fmt.Errorf("encoding %q: %w", m.k, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// decodeOrdered decodes a JSON object into its members, keeping the order of
// the keys (ComfyUI walks a prompt in the order it was sent, and the first
// error it reports depends on that order). A duplicate key keeps the last
// value at the first position, as Python's json module does.
func decodeOrdered(raw []byte) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errNotObject
	}
	var keys []string
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := members[key]; !dup {
			keys = append(keys, key)
		}
		members[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	return keys, members, nil
}

var errNotObject = errors.New("not a JSON object")

// jsonKind tells what a raw JSON value is by its first byte.
func jsonKind(raw json.RawMessage) byte {
	s := bytes.TrimLeft(raw, " \t\r\n")
	if len(s) == 0 {
		return 0
	}
	switch c := s[0]; {
	case c == '"', c == '{', c == '[', c == 't', c == 'f', c == 'n':
		return c
	default:
		return '0'
	}
}

// pyRepr formats a decoded JSON value the way Python's str() shows it inside
// ComfyUI's messages: 'text', 1.0, True, None, ['a', 'b'].
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return pyQuote(x)
	case json.Number:
		return string(x)
	case *big.Float:
		return pyFloat(x)
	case *big.Int:
		return x.String()
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = pyQuote(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		return "{...}"
	default:
		return fmt.Sprint(x)
	}
}

// pyQuote quotes like Python's repr of a str: single quotes unless the text
// holds one and no double quote.
func pyQuote(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	if q == "'" {
		s = strings.ReplaceAll(s, "'", `\'`)
	}
	s = strings.ReplaceAll(s, "\n", `\n`)
	return q + s + q
}

// pyFloat formats like Python's repr of a float: 1.0, 0.5, 1e+16.
func pyFloat(f *big.Float) string {
	v, _ := f.Float64()
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eIN") {
		s += ".0"
	}
	return s
}

// decodeAny decodes a raw value with numbers kept as json.Number.
func decodeAny(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

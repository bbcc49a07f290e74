package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Size limits of the files the loaders read. Larger files are refused
// before they are read into memory.
const (
	MaxConfigFileBytes   = 8 << 20
	MaxTemplateFileBytes = 16 << 20
)

// Load reads a configuration file (YAML, or JSON when the name ends in
// .json), reads the workflow templates it names, and validates the result.
// It returns the snapshot and, when anything is wrong, a Problems error
// listing every problem with its file, line and path.
func Load(file string) (*Snapshot, error) {
	data, err := ReadLimited(file, MaxConfigFileBytes)
	if err != nil {
		return nil, err
	}
	var s *Snapshot
	if strings.EqualFold(filepath.Ext(file), ".json") {
		s, err = ParseJSON(data, file)
	} else {
		s, err = ParseYAML(data, file, filepath.Dir(file))
	}
	if err != nil {
		return s, err
	}
	return s, nil
}

// ReadLimited reads a whole file that must not be larger than limit bytes.
func ReadLimited(file string, limit int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, errors.Unwrap(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("reading %s: is a folder, not a file", file)
	} else if err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, fmt.Errorf("%s is %s, larger than the %s limit; refused without reading it",
			file, formatBytes(fi.Size()), formatBytes(limit))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("reading %s: file is larger than the %s limit", file,
			formatBytes(limit))
	}
	return data, nil
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkText reports text that no loader should parse: empty or not UTF-8.
func checkInputText(data []byte, file string) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return Problems{{File: file, Message: "file is empty"}}
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, size := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		line, col := lineCol(data, off)
		return Problems{{File: file, Line: line, Message: fmt.Sprintf(
			"invalid UTF-8 byte 0x%02x at column %d; save the file as UTF-8", data[off], col)}}
	}
	return nil
}

func lineCol(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	line = bytes.Count(data[:off], []byte("\n")) + 1
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// ParseYAML decodes, reads templates for, and validates a YAML config.
// Template paths are resolved against dir and must stay inside it; an
// empty dir refuses template paths. file names the source in problems.
func ParseYAML(data []byte, file, dir string) (*Snapshot, error) {
	s, idx, err := DecodeYAML(data, file)
	if err != nil {
		return nil, err
	}
	return s, finish(s, file, dir, idx)
}

// ParseJSON decodes and validates a JSON config. JSON configs hold their
// graphs inline; template_path is refused.
func ParseJSON(data []byte, file string) (*Snapshot, error) {
	s, idx, err := DecodeJSON(data, file)
	if err != nil {
		return nil, err
	}
	return s, finish(s, file, "", idx)
}

func finish(s *Snapshot, file, dir string, idx pathIndex) error {
	ps := loadTemplates(s, dir)
	s.normalize()
	ps = append(ps, Validate(s)...)
	ps.locate(file, idx)
	return ps.Err()
}

// DecodeYAML decodes a YAML config strictly (unknown fields, duplicate keys
// and wrong types are problems) without validating it or reading its
// templates. The index maps snapshot paths to lines.
func DecodeYAML(data []byte, file string) (*Snapshot, pathIndex, error) {
	if err := checkInputText(data, file); err != nil {
		return nil, nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, yamlSyntaxProblem(err, data, file)
	}
	if len(root.Content) == 0 {
		return nil, nil, Problems{{File: file, Message: "file is empty (only comments)"}}
	}
	if top := root.Content[0]; top.Kind != yaml.MappingNode {
		return nil, nil, Problems{{File: file, Line: top.Line,
			Message: "the top level must be a mapping with models, loras, workflows and image_gen"}}
	}
	idx := pathIndex{}
	indexYAML(idx, "", root.Content[0])

	var s Snapshot
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, nil, yamlDecodeProblems(err, file, idx)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, nil, Problems{{File: file, Line: extra.Line,
			Message: "holds more than one YAML document; keep one"}}
	}
	return &s, idx, nil
}

func indexYAML(idx pathIndex, prefix string, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if prefix != "" {
				p = prefix + "." + k.Value
			}
			if _, ok := idx[p]; !ok {
				idx[p] = k.Line
			}
			if !strings.HasSuffix(p, "workflow_json") {
				indexYAML(idx, p, v)
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", prefix, i)
			idx[p] = c.Line
			indexYAML(idx, p, c)
		}
	}
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func yamlSyntaxProblem(err error, data []byte, file string) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return yamlDecodeProblems(err, file, nil)
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Problem{File: file, Message: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Message = m[2]
	}
	if p.Line > 0 {
		lines := bytes.Split(data, []byte("\n"))
		for _, l := range []int{p.Line - 1, p.Line} {
			if l >= 1 && l <= len(lines) && bytes.ContainsRune(lines[l-1], '\t') {
				p.Line = l
				p.Message += " (a tab character: YAML indents with spaces only)"
				break
			}
		}
	}
	return Problems{p}
}

var (
	reUnknownField = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	reCannot       = regexp.MustCompile("^cannot unmarshal !!(\\w+) `?(.*?)`? into (.+)$")
	reDupKey       = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

func yamlDecodeProblems(err error, file string, idx pathIndex) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return Problems{{File: file, Message: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	lineToPath := map[int]string{}
	for p, l := range idx {
		if cur, ok := lineToPath[l]; !ok || len(p) > len(cur) {
			lineToPath[l] = p
		}
	}
	var ps Problems
	for _, e := range te.Errors {
		p := Problem{File: file, Message: e}
		if m := yamlLine.FindStringSubmatch(e); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Message = m[2]
			p.Path = lineToPath[p.Line]
		}
		p.Message = friendlyYAMLMessage(p.Message, &p.Path)
		ps = append(ps, p)
	}
	return ps
}

func friendlyYAMLMessage(msg string, path *string) string {
	if m := reUnknownField.FindStringSubmatch(msg); m != nil {
		// The path of an unknown key's line is the key itself: report it
		// at its parent.
		if i := strings.LastIndex(*path, "."); i > 0 && strings.HasSuffix(*path, "."+m[1]) {
			*path = (*path)[:i]
		} else if *path == m[1] {
			*path = ""
		}
		return unknownFieldMessage(m[1], m[2])
	}
	if m := reCannot.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("expected %s, got %s %s", describeGoType(m[3]),
			describeYAMLTag(m[1]), strconv.Quote(m[2]))
	}
	if m := reDupKey.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("duplicate key %q (first defined at line %s)", m[1], m[2])
	}
	return msg
}

// knownFields lists the field names of each decoded type, for suggestions.
var knownFields = map[string]reflect.Type{
	"config.Snapshot":      reflect.TypeFor[Snapshot](),
	"config.Model":         reflect.TypeFor[Model](),
	"config.ModelDefaults": reflect.TypeFor[ModelDefaults](),
	"config.Lora":          reflect.TypeFor[Lora](),
	"config.Workflow":      reflect.TypeFor[Workflow](),
	"config.ImageGen":      reflect.TypeFor[ImageGen](),
	"config.Size":          reflect.TypeFor[Size](),
}

func unknownFieldMessage(field, typeName string) string {
	t, ok := knownFields[strings.TrimPrefix(typeName, "*")]
	if !ok {
		return fmt.Sprintf("unknown field %q", field)
	}
	var names []string
	best, bestDist := "", 3
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
		if d := editDistance(field, name); d < bestDist {
			best, bestDist = name, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field %q (did you mean %q?)", field, best)
	}
	return fmt.Sprintf("unknown field %q (known: %s)", field, strings.Join(names, ", "))
}

func describeGoType(t string) string {
	switch {
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map[") || strings.HasPrefix(t, "config."):
		return "a mapping"
	}
	return t
}

func describeYAMLTag(tag string) string {
	switch tag {
	case "str":
		return "the text"
	case "int", "float":
		return "the number"
	case "bool":
		return "the boolean"
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	}
	return tag
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// DecodeJSON decodes a JSON config strictly (unknown fields, duplicate keys
// and wrong types are problems) without validating it.
func DecodeJSON(data []byte, file string) (*Snapshot, pathIndex, error) {
	if err := checkInputText(data, file); err != nil {
		return nil, nil, err
	}
	idx, err := indexJSON(data, file)
	if err != nil {
		return nil, nil, err
	}
	var s Snapshot
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, nil, jsonDecodeProblem(err, data, dec.InputOffset(), file)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, _ := lineCol(data, int(dec.InputOffset()))
		return nil, nil, Problems{{File: file, Line: line,
			Message: "unexpected data after the JSON object"}}
	}
	return &s, idx, nil
}

func jsonDecodeProblem(err error, data []byte, off int64, file string) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	p := Problem{File: file}
	switch {
	case errors.As(err, &se):
		p.Line, _ = lineCol(data, int(se.Offset))
		p.Message = "invalid JSON: " + se.Error()
	case errors.As(err, &te):
		p.Line, _ = lineCol(data, int(te.Offset))
		p.Path = te.Field
		p.Message = fmt.Sprintf("expected %s, got a JSON %s", describeGoType(te.Type.String()),
			te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		p.Message = "invalid JSON: the file ends too early (truncated?)"
	default:
		p.Line, _ = lineCol(data, int(off))
		p.Message = strings.TrimPrefix(err.Error(), "json: ")
	}
	return Problems{p}
}

// indexJSON walks a JSON document once, building the path index and
// finding duplicate object keys, which encoding/json would silently merge.
func indexJSON(data []byte, file string) (pathIndex, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	idx := pathIndex{}
	var ps Problems
	var walk func(prefix string, depth int) error
	walk = func(prefix string, depth int) error {
		if depth > 10000 {
			return errors.New("nested too deeply")
		}
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if prefix != "" {
			if _, ok := idx[prefix]; !ok {
				idx[prefix], _ = lineCol(data, int(start)+1)
			}
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return nil
		}
		inGraph := strings.HasSuffix(prefix, "workflow_json")
		switch d {
		case '{':
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				if seen[k] {
					line, _ := lineCol(data, int(dec.InputOffset()))
					ps = append(ps, Problem{File: file, Line: line, Path: p,
						Message: fmt.Sprintf("duplicate key %q", k)})
				}
				seen[k] = true
				if inGraph {
					p = prefix + ".?" // graphs are not indexed, only walked
				}
				if err := walk(p, depth+1); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", prefix, i), depth+1); err != nil {
					return err
				}
			}
		}
		_, err = dec.Token() // the closing delimiter
		return err
	}
	if err := walk("", 0); err != nil {
		return nil, jsonDecodeProblem(err, data, dec.InputOffset(), file)
	}
	return idx, ps.Err()
}

// loadTemplates reads each workflow's template_path below dir into its
// WorkflowJSON. Paths must be relative and stay inside dir, symlinks
// included.
func loadTemplates(s *Snapshot, dir string) Problems {
	var ps Problems
	for i := range s.Workflows {
		w := &s.Workflows[i]
		if w.TemplatePath == "" {
			continue
		}
		p := fmt.Sprintf("workflows[%d].template_path", i)
		if len(w.WorkflowJSON) > 0 {
			ps.add(fmt.Sprintf("workflows[%d]", i), "set template_path or workflow_json, not both")
			continue
		}
		if dir == "" {
			ps.add(p, "template_path is only allowed in a local YAML file; inline the graph "+
				"as workflow_json")
			continue
		}
		data, err := readTemplate(dir, w.TemplatePath)
		if err != nil {
			ps.add(p, "%v", err)
			continue
		}
		if !json.Valid(data) {
			var v any
			err := json.Unmarshal(data, &v)
			msg := "not valid JSON"
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line, _ := lineCol(data, int(se.Offset))
				msg = fmt.Sprintf("not valid JSON (line %d: %v)", line, se)
			}
			ps.add(p, "template %q: %s", w.TemplatePath, msg)
			continue
		}
		w.WorkflowJSON = data
	}
	return ps
}

func readTemplate(dir, rel string) ([]byte, error) {
	if filepath.IsAbs(rel) || filepath.VolumeName(rel) != "" {
		return nil, fmt.Errorf("%q must be relative to the config folder", rel)
	}
	full := filepath.Join(dir, rel)
	if !inside(dir, full) {
		return nil, fmt.Errorf("%q points outside the config folder", rel)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving the config folder: %w", err)
	}
	realFull, err := filepath.EvalSymlinks(full)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("template file %q not found (looked for %s)", rel, full)
	} else if err != nil {
		return nil, fmt.Errorf("resolving %q: %w", rel, err)
	}
	if !inside(realDir, realFull) {
		return nil, fmt.Errorf("%q leads through a symlink outside the config folder", rel)
	}
	data, err := ReadLimited(realFull, MaxTemplateFileBytes)
	if err != nil {
		return nil, errors.New(strings.Replace(err.Error(), realFull, rel, 1))
	}
	return data, nil
}

// inside reports whether path is dir or below it.
func inside(dir, path string) bool {
	r, err := filepath.Rel(dir, path)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) &&
		!filepath.IsAbs(r)
}

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
	for i := range ps {
		// A graph problem is in the template file; say which one.
		for j, w := range s.Workflows {
			prefix := fmt.Sprintf("workflows[%d].workflow_json", j)
			if w.TemplatePath != "" && strings.HasPrefix(ps[i].Path, prefix) {
				ps[i].Message += fmt.Sprintf(" (in template %s)", w.TemplatePath)
			}
		}
	}
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
	var ints Problems
	checkYAMLInts(&ints, file, "", root.Content[0], reflect.TypeFor[Snapshot]())

	var s Snapshot
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		ps, _ := yamlDecodeProblems(err, file, idx).(Problems)
		return nil, nil, append(ints, ps...)
	}
	if len(ints) > 0 {
		return nil, nil, ints
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, nil, Problems{{File: file, Line: extra.Line,
			Message: "holds more than one YAML document; keep one"}}
	}
	return &s, idx, nil
}

// checkYAMLInts reports fractional numbers given for whole-number fields:
// the YAML decoder would silently truncate 4.5 to 4, where JSON refuses it.
func checkYAMLInts(ps *Problems, file, prefix string, n *yaml.Node, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.AliasNode && n.Alias != nil:
		checkYAMLInts(ps, file, prefix, n.Alias, t)
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fieldByYAMLName(t, k.Value)
			if !ok {
				continue // unknown fields are reported by the decoder
			}
			p := k.Value
			if prefix != "" {
				p = prefix + "." + k.Value
			}
			checkYAMLInts(ps, file, p, v, f.Type)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			checkYAMLInts(ps, file, fmt.Sprintf("%s[%d]", prefix, i), c, t.Elem())
		}
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float":
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			*ps = append(*ps, Problem{File: file, Line: n.Line, Path: prefix,
				Message: fmt.Sprintf("expected a whole number, got %s", n.Value)})
		}
	}
}

func fieldByYAMLName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
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
		// The parser's line for a tab can be one off; name the tab's line.
		lines := bytes.Split(data, []byte("\n"))
		for _, l := range []int{p.Line, p.Line + 1, p.Line - 1} {
			if l >= 1 && l <= len(lines) && bytes.ContainsRune(lines[l-1], '\t') {
				p.Line = l
				if !strings.Contains(p.Message, "tab") {
					p.Message += " (a tab character: YAML indents with spaces only)"
				} else {
					p.Message += " (YAML indents with spaces only)"
				}
				break
			}
		}
	}
	return Problems{p}
}

var (
	reUnknownField = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	reCannot       = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
	reCollection   = regexp.MustCompile(`^cannot unmarshal !!(seq|map) into`)
	reDupKey       = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

func yamlDecodeProblems(err error, file string, idx pathIndex) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return Problems{{File: file, Message: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	// Several paths can start on one line ("- name: x", "size: [1, 2]"):
	// a problem is placed at the deepest, or for a list or mapping of the
	// wrong type, at the shallowest.
	lineToPath, lineToTop := map[int]string{}, map[int]string{}
	for p, l := range idx {
		if cur, ok := lineToPath[l]; !ok || len(p) > len(cur) || len(p) == len(cur) && p < cur {
			lineToPath[l] = p
		}
		if cur, ok := lineToTop[l]; !ok || len(p) < len(cur) || len(p) == len(cur) && p < cur {
			lineToTop[l] = p
		}
	}
	var ps Problems
	for _, e := range te.Errors {
		p := Problem{File: file, Message: e}
		if m := yamlLine.FindStringSubmatch(e); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Message = m[2]
			p.Path = pathAtLine(lineToPath, p.Line)
			if reCollection.MatchString(p.Message) && lineToTop[p.Line] != "" {
				p.Path = lineToTop[p.Line]
			}
		}
		p.Message = friendlyYAMLMessage(p.Message, &p.Path, lineToPath)
		ps = append(ps, p)
	}
	return ps
}

// pathAtLine returns the path of the value at line, or, for a line inside
// an inline workflow_json (whose inside is not indexed), that graph's path.
func pathAtLine(lineToPath map[int]string, line int) string {
	if p, ok := lineToPath[line]; ok {
		return p
	}
	for l := line - 1; l > 0; l-- {
		if p, ok := lineToPath[l]; ok {
			if strings.HasSuffix(p, "workflow_json") {
				return p
			}
			return ""
		}
	}
	return ""
}

func friendlyYAMLMessage(msg string, path *string, lineToPath map[int]string) string {
	if m := reUnknownField.FindStringSubmatch(msg); m != nil {
		// The path of an unknown key's line is the key itself: report it
		// at its parent.
		if i := strings.LastIndex(*path, "."); i > 0 && strings.HasSuffix(*path, "."+m[1]) {
			*path = (*path)[:i]
		} else if *path == m[1] {
			*path = ""
		}
		return unknownFieldMessage(m[1], knownFields[strings.TrimPrefix(m[2], "*")])
	}
	if m := reCannot.FindStringSubmatch(msg); m != nil {
		if m[2] == "" {
			return fmt.Sprintf("expected %s, got %s", describeGoType(m[3]), describeYAMLTag(m[1]))
		}
		return fmt.Sprintf("expected %s, got %s %s", describeGoType(m[3]),
			describeYAMLTag(m[1]), strconv.Quote(m[2]))
	}
	if m := reDupKey.FindStringSubmatch(msg); m != nil {
		// The second key is not indexed; the first one's path is the key's.
		first, _ := strconv.Atoi(m[2])
		if p := lineToPath[first]; p == m[1] || strings.HasSuffix(p, "."+m[1]) {
			*path = p
		}
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

func unknownFieldMessage(field string, t reflect.Type) string {
	if t == nil || t.Kind() != reflect.Struct {
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
	case t == "config.StringList":
		return "a string or a list of strings"
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
	// Editors on Windows may start a UTF-8 file with a byte order mark,
	// which YAML accepts and encoding/json does not.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if err := checkInputText(data, file); err != nil {
		return nil, nil, err
	}
	ix := &jsonIndexer{data: data, file: file, idx: pathIndex{}}
	if err := ix.index(); err != nil {
		return nil, nil, err
	}
	var s Snapshot
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, nil, ix.problem(err, dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		line, _ := lineCol(data, int(dec.InputOffset()))
		return nil, nil, Problems{{File: file, Line: line,
			Message: "unexpected data after the JSON object"}}
	}
	return &s, ix.idx, nil
}

// jsonIndexer walks a JSON document once, before it is decoded, building
// the path index and finding what encoding/json would merge silently
// (duplicate keys) or report without a place (unknown fields).
type jsonIndexer struct {
	data  []byte
	file  string
	dec   *json.Decoder
	idx   pathIndex
	spans []jsonSpan
	ps    Problems
}

// jsonSpan is where the value at path lies: data[start:end].
type jsonSpan struct {
	path       string
	start, end int64
}

func (ix *jsonIndexer) index() error {
	ix.dec = json.NewDecoder(bytes.NewReader(ix.data))
	ix.dec.UseNumber()
	if err := ix.walk("", reflect.TypeFor[Snapshot](), 0); err != nil {
		return ix.problem(err, ix.dec.InputOffset())
	}
	return ix.ps.Err()
}

// walk reads one value at prefix. t is the Go type it decodes into, nil
// where fields are not checked (workflow graphs, params).
func (ix *jsonIndexer) walk(prefix string, t reflect.Type, depth int) error {
	if depth > 10000 {
		return errors.New("nested too deeply")
	}
	start := ix.valueStart(ix.dec.InputOffset())
	tok, err := ix.dec.Token()
	if err != nil {
		return err
	}
	if prefix != "" {
		if _, ok := ix.idx[prefix]; !ok {
			ix.idx[prefix], _ = lineCol(ix.data, int(start)+1)
		}
	}
	defer func() { ix.spans = append(ix.spans, jsonSpan{prefix, start, ix.dec.InputOffset()}) }()
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	t = checkedType(t)
	switch d {
	case '{':
		if err := ix.object(prefix, t, depth); err != nil {
			return err
		}
	case '[':
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Slice {
			elem = t.Elem()
		}
		for i := 0; ix.dec.More(); i++ {
			if err := ix.walk(fmt.Sprintf("%s[%d]", prefix, i), elem, depth+1); err != nil {
				return err
			}
		}
	}
	_, err = ix.dec.Token() // the closing delimiter
	return err
}

func (ix *jsonIndexer) object(prefix string, t reflect.Type, depth int) error {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for ix.dec.More() {
		kt, err := ix.dec.Token()
		if err != nil {
			return err
		}
		k, _ := kt.(string)
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		line, _ := lineCol(ix.data, int(ix.dec.InputOffset()))
		if seen[k] {
			ix.ps = append(ix.ps, Problem{File: ix.file, Line: line, Path: p,
				Message: fmt.Sprintf("duplicate key %q", k)})
		}
		seen[k] = true
		ft, known := fields[k]
		if fields != nil && !known {
			ix.ps = append(ix.ps, Problem{File: ix.file, Line: line, Path: prefix,
				Message: unknownFieldMessage(k, t)})
		}
		if t == nil {
			p = prefix + ".?" // graphs are not indexed, only walked
		}
		if err := ix.walk(p, ft, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// valueStart skips the white space and separators before a value.
func (ix *jsonIndexer) valueStart(off int64) int64 {
	for off < int64(len(ix.data)) && strings.IndexByte(" \t\r\n,:", ix.data[off]) >= 0 {
		off++
	}
	return off
}

// checkedType is the type whose fields are checked for t: structs and
// slices, not types that decode themselves (graphs, string lists, times).
func checkedType(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || reflect.PointerTo(t).Implements(typeOfJSONUnmarshaler) {
		return nil
	}
	if t.Kind() != reflect.Struct && t.Kind() != reflect.Slice {
		return nil
	}
	return t
}

var typeOfJSONUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// jsonFields maps the JSON names of t's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = t.Field(i).Type
		}
	}
	return fields
}

// problem turns a decoding error into a Problem with its line and path.
func (ix *jsonIndexer) problem(err error, off int64) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	p := Problem{File: ix.file}
	switch {
	case errors.As(err, &se):
		p.Line, _ = lineCol(ix.data, int(se.Offset))
		p.Message = "invalid JSON: " + se.Error()
	case errors.As(err, &te):
		p.Line, _ = lineCol(ix.data, int(te.Offset))
		p.Path = ix.pathAt(te.Offset, te.Field)
		if l, ok := ix.idx[p.Path]; ok && te.Offset == 0 {
			p.Line = l
		}
		p.Message = fmt.Sprintf("expected %s, got a JSON %s", describeGoType(te.Type.String()),
			te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		p.Line, _ = lineCol(ix.data, len(ix.data))
		p.Message = "invalid JSON: the file ends too early (truncated?)"
	default:
		p.Line, _ = lineCol(ix.data, int(off))
		p.Message = strings.TrimPrefix(err.Error(), "json: ")
	}
	return Problems{p}
}

var reIndex = regexp.MustCompile(`\[\d+\]`)

// pathAt returns the deepest indexed path whose value holds offset off and
// whose field names match field (encoding/json's path, without indexes).
func (ix *jsonIndexer) pathAt(off int64, field string) string {
	best := ""
	for _, sp := range ix.spans {
		if sp.start < off && off <= sp.end && len(sp.path) > len(best) &&
			reIndex.ReplaceAllString(sp.path, "") == field {
			best = sp.path
		}
	}
	if best != "" {
		return best
	}
	// Types that decode themselves report no offset: place the problem at
	// the only value with that field path, when there is one.
	for _, sp := range ix.spans {
		if reIndex.ReplaceAllString(sp.path, "") == field {
			if best != "" {
				return field
			}
			best = sp.path
		}
	}
	if best == "" {
		return field
	}
	return best
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
		abs, _ := filepath.Abs(full)
		return nil, fmt.Errorf("template file %q not found (looked for %s)", rel, abs)
	} else if err != nil {
		return nil, fmt.Errorf("resolving %q: %w", rel, err)
	}
	if !inside(realDir, realFull) {
		return nil, fmt.Errorf("%q leads through a symlink outside the config folder", rel)
	}
	if fi, err := os.Stat(realFull); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		// A FIFO or device would block or never end.
		return nil, fmt.Errorf("%q is not a regular file", rel)
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

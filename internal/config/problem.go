package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a configuration, with where it is.
type Problem struct {
	// File is the file the problem is in, when it came from one.
	File string `json:"file,omitempty"`
	// Line is the 1-based line in File, 0 when unknown.
	Line int `json:"line,omitempty"`
	// Path locates the value in the snapshot: "loras[3].base_model".
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found in a configuration. It is an error so
// that loaders can return it; a nil or empty Problems means none.
type Problems []Problem

func (ps Problems) Error() string {
	switch len(ps) {
	case 0:
		return "no problems"
	case 1:
		return ps[0].String()
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d problems:\n%s", len(ps), strings.Join(lines, "\n"))
}

// Err returns ps as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// add appends a problem at path with a formatted message.
func (ps *Problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// locate fills File and Line from a path index and sorts by line, so that
// a file's problems read top to bottom.
func (ps Problems) locate(file string, idx pathIndex) {
	for i := range ps {
		if ps[i].File == "" {
			ps[i].File = file
		}
		if ps[i].Line == 0 && idx != nil {
			ps[i].Line = idx.lineOf(ps[i].Path)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
}

// pathIndex maps a snapshot path ("models[2].name") to its line in a file.
type pathIndex map[string]int

// lineOf returns the line of path, or of its nearest ancestor that has one.
func (idx pathIndex) lineOf(path string) int {
	for path != "" {
		if l, ok := idx[path]; ok {
			return l
		}
		cut := strings.LastIndexAny(path, ".[")
		if cut <= 0 {
			break
		}
		path = path[:cut]
	}
	return 0
}

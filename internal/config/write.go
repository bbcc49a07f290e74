package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/atelier-dev/atelier/internal/atomicfile"
)

var unsafeFileChars = regexp.MustCompile(`[^a-z0-9._-]`)

// WriteLocal writes s into dir as a local_config.yaml plus one template
// file per workflow under workflows/, each written atomically, the
// replaced files kept as .bak. The result loads back to the same hash.
// It returns the paths written.
func WriteLocal(dir string, s *Snapshot, header string) ([]string, error) {
	c := s.Sections()
	c.normalize()
	if err := os.MkdirAll(filepath.Join(dir, "workflows"), 0o755); err != nil {
		return nil, fmt.Errorf("creating folder: %w", err)
	}
	var written []string
	wfs := make([]Workflow, len(c.Workflows))
	for i, w := range c.Workflows {
		var pretty bytes.Buffer
		// Indent keeps every number's text.
		if err := json.Indent(&pretty, w.WorkflowJSON, "", "  "); err != nil {
			return written, fmt.Errorf("workflow %q: %w", w.Name, err)
		}
		pretty.WriteByte('\n')
		rel := "workflows/" + unsafeFileChars.ReplaceAllString(w.Name, "_") + ".json"
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := atomicfile.Write(p, pretty.Bytes(), atomicfile.Options{Backup: true}); err != nil {
			return written, err
		}
		written = append(written, p)
		w.WorkflowJSON, w.TemplatePath = nil, rel
		wfs[i] = w
	}
	c.Workflows = wfs
	var buf bytes.Buffer
	if header != "" {
		buf.WriteString(header)
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&c); err != nil {
		return written, fmt.Errorf("encoding YAML: %w", err)
	}
	p := filepath.Join(dir, LocalConfigName)
	if err := atomicfile.Write(p, buf.Bytes(), atomicfile.Options{Backup: true}); err != nil {
		return written, err
	}
	return append(written, p), nil
}

// SyncHeader is the comment WriteLocal callers put atop a file written
// from a release.
func SyncHeader(s *Snapshot, now time.Time) string {
	return fmt.Sprintf("# Written by `atelier config sync` from release %d (%s) at %s.\n"+
		"# Edit freely: this is now your local config file.\n",
		s.Version, s.Hash, now.UTC().Format(time.RFC3339))
}

package config

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/atelier-dev/atelier/internal/atomicfile"
)

// LocalConfigName is the name of the local config file in its folder.
const LocalConfigName = "local_config.yaml"

//go:embed starter
var starterFS embed.FS

// StarterFiles returns the files `atelier config init` writes: a commented
// local_config.yaml and its workflow templates, by path relative to the
// config folder.
func StarterFiles() map[string][]byte {
	files := map[string][]byte{}
	_ = fs.WalkDir(starterFS, "starter", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := starterFS.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("starter", p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	return files
}

// ErrExists is returned when a file would be overwritten without force.
var ErrExists = errors.New("file exists")

// WriteStarter writes the starter files into dir, creating it. Without
// force it refuses, before writing anything, when any of them exists.
// It returns the paths written.
func WriteStarter(dir string, force bool) ([]string, error) {
	files := StarterFiles()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	if !force {
		var existing []string
		for _, n := range names {
			if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
				existing = append(existing, filepath.Join(dir, n))
			}
		}
		if len(existing) > 0 {
			return nil, fmt.Errorf("%w: %s (use --force to overwrite)", ErrExists,
				strings.Join(existing, ", "))
		}
	}
	var written []string
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, fmt.Errorf("creating folder: %w", err)
		}
		if err := atomicfile.Write(p, files[n], atomicfile.Options{}); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}

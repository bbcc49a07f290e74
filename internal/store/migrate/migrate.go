// Package migrate reads the numbered SQL migrations a store embeds. Each
// store applies them with its own dialect and records them in a
// schema_migrations table; this package only finds, orders and checks them.
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
)

// Migration is one schema step, read from a file named NNNN_name.sql.
type Migration struct {
	Version int64
	Name    string
	SQL     string
}

var fileName = regexp.MustCompile(`^([0-9]+)_([a-z0-9_]+)\.sql$`)

// Load returns the migrations in dir of fsys ordered by version. Versions
// must start at 1 and leave no gaps, so a missing or doubled file is an
// error at start-up rather than a silently skipped schema step.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("reading migrations: %s: name is not NNNN_name.sql", e.Name())
		}
		v, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("reading migrations: %s: %w", e.Name(), err)
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading migrations: %w", err)
		}
		ms = append(ms, Migration{Version: v, Name: m[2], SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != int64(i+1) {
			return nil, fmt.Errorf("reading migrations: expected version %d, found %d (%s)",
				i+1, m.Version, m.Name)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("reading migrations: none in %s", dir)
	}
	return ms, nil
}

// CheckApplied reports an error when the database has a schema version this
// binary does not know: an older binary must not write to a newer schema.
func CheckApplied(all []Migration, maxApplied int64) error {
	known := all[len(all)-1].Version
	if maxApplied > known {
		return fmt.Errorf("database schema is at version %d but this binary knows only up to %d: "+
			"run a newer atelier", maxApplied, known)
	}
	return nil
}

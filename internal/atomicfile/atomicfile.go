// Package atomicfile writes files so that a reader, or the next start after
// a crash, sees either the old content or the new, never a mix.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Options change how Write replaces a file.
type Options struct {
	// Perm is the new file's mode. Default: 0o644.
	Perm os.FileMode
	// Backup keeps the replaced file as path+".bak" (itself replaced
	// atomically) before the new content takes its place.
	Backup bool
}

// Write replaces path with data: it writes a temporary file in the same
// folder, syncs it, renames it over path and syncs the folder, so the
// rename survives a power loss.
func Write(path string, data []byte, opt Options) (err error) {
	if opt.Perm == 0 {
		opt.Perm = 0o644
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(opt.Perm); err != nil {
		tmp.Close()
		return fmt.Errorf("setting mode of %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if opt.Backup {
		if err := backup(path); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	return SyncDir(dir)
}

// backup makes path+".bak" a copy of path, written atomically, with the
// same mode, so a private file's backup stays private.
func backup(path string) error {
	bak := path + ".bak"
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading %s for its backup: %w", path, err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s for its backup: %w", path, err)
	}
	if err := Write(bak, old, Options{Perm: fi.Mode().Perm()}); err != nil {
		return fmt.Errorf("writing backup %s: %w", bak, err)
	}
	return nil
}

// SyncDir fsyncs a folder so that renames and creations in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing folder %s: %w", dir, err)
	}
	return nil
}

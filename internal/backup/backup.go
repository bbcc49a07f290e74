// Package backup writes and restores one-file archives of a main service's
// configuration: the local config file, its workflow templates and the
// config client's cache folder.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/atelier-dev/atelier/internal/atomicfile"
	"github.com/atelier-dev/atelier/internal/config"
)

// Limits on what Restore reads from an archive.
const (
	MaxEntries    = 10_000
	MaxEntryBytes = 64 << 20
	MaxTotalBytes = 512 << 20
)

// Archive layout: config files under configPrefix (the local config as
// configPrefix+config.LocalConfigName, templates by their template_path),
// cache files under cachePrefix, and a manifest.
const (
	configPrefix = "config/"
	cachePrefix  = "cache/"
	manifestName = "manifest.json"
)

// Manifest describes an archive's content.
type Manifest struct {
	Format      int               `json:"format"`
	CreatedAt   time.Time         `json:"created_at"`
	LocalConfig string            `json:"local_config"`
	CacheDir    string            `json:"cache_dir"`
	ConfigHash  string            `json:"config_hash,omitempty"`
	Files       map[string]string `json:"files"` // archive name -> sha256
}

// Sources are the files a backup takes.
type Sources struct {
	LocalConfig string // path of local_config.yaml
	CacheDir    string // the client cache folder; skipped when missing
}

// Create writes a .tar.gz of src to w. It returns the manifest written.
// The local config is taken even when it does not validate (a backup is
// most wanted when something is broken); its templates are the files its
// template_path fields name, when they exist inside its folder.
func Create(w io.Writer, src Sources, now time.Time) (*Manifest, error) {
	files := map[string][]byte{}
	cfg, err := config.ReadLimited(src.LocalConfig, config.MaxConfigFileBytes)
	if err != nil {
		return nil, err
	}
	files[configPrefix+config.LocalConfigName] = cfg
	m := &Manifest{Format: 1, CreatedAt: now.UTC(), LocalConfig: src.LocalConfig,
		CacheDir: src.CacheDir, Files: map[string]string{}}
	if s, _, err := config.DecodeYAML(cfg, src.LocalConfig); err == nil {
		for _, wf := range s.Workflows {
			if err := addTemplate(files, filepath.Dir(src.LocalConfig), wf.TemplatePath); err != nil {
				return nil, err
			}
		}
	}
	if s, err := config.Load(src.LocalConfig); err == nil {
		m.ConfigHash, _ = s.ComputeHash()
	}
	if err := addCache(files, src.CacheDir); err != nil {
		return nil, err
	}
	return m, writeArchive(w, files, m)
}

func addTemplate(files map[string][]byte, dir, rel string) error {
	if rel == "" || filepath.IsAbs(rel) {
		return nil
	}
	clean := path.Clean(filepath.ToSlash(rel))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return nil // refused by validation; nothing of ours to back up
	}
	// Follow symlinks only as far as the loader does: a template that
	// leads out of the config folder is refused by validation, and its
	// content (which could be any file) stays out of the archive.
	real, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(clean)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("resolving template %s: %w", rel, err)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("resolving config folder: %w", err)
	}
	if r, err := filepath.Rel(realDir, real); err != nil || r == ".." ||
		strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return nil
	}
	b, err := config.ReadLimited(real, config.MaxTemplateFileBytes)
	if err != nil {
		return err
	}
	files[configPrefix+clean] = b
	return nil
}

func addCache(files map[string][]byte, dir string) error {
	if dir == "" {
		return nil
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
			return nil // temporary files start with a dot
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := config.ReadLimited(p, MaxEntryBytes)
		if err != nil {
			return err
		}
		files[cachePrefix+filepath.ToSlash(rel)] = b
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading cache folder: %w", err)
	}
	return nil
}

func writeArchive(w io.Writer, files map[string][]byte, m *Manifest) error {
	names := make([]string, 0, len(files))
	for n, b := range files {
		names = append(names, n)
		sum := sha256.Sum256(b)
		m.Files[n] = hex.EncodeToString(sum[:])
	}
	sort.Strings(names)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding manifest: %w", err)
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	put := func(name string, b []byte) error {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: m.CreatedAt,
			Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("writing archive: %w", err)
		}
		_, err := tw.Write(b)
		return err
	}
	if err := put(manifestName, mb); err != nil {
		return err
	}
	for _, n := range names {
		if err := put(n, files[n]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	return gz.Close()
}

// Targets are where Restore writes.
type Targets struct {
	LocalConfig string // the local config file to replace
	CacheDir    string // the cache folder
}

// Result lists what Restore wrote and which replaced files it kept as .bak.
type Result struct {
	Written    []string
	BackedUp   []string
	ConfigHash string
}

// Restore reads the archive in r and checks, before touching anything, every
// entry name, every entry against the manifest's checksums, the config it
// holds (validated as a whole, templates included) and every place it will
// write. It then writes each file atomically, keeping a replaced file as
// .bak, templates before the config file that names them. When ctx ends
// between two files it stops and says how far it got; each file is whole,
// old or new.
func Restore(ctx context.Context, r io.Reader, dst Targets) (*Result, error) {
	files, err := readArchive(r)
	if err != nil {
		return nil, err
	}
	cfgName := configPrefix + config.LocalConfigName
	if _, ok := files[cfgName]; !ok {
		return nil, fmt.Errorf("archive has no %s: not an atelier config backup", cfgName)
	}
	if err := checkManifest(files); err != nil {
		return nil, err
	}
	hash, err := validateArchived(files)
	if err != nil {
		return nil, err
	}
	plan := planRestore(files, dst)
	for _, p := range plan {
		if err := checkTarget(p.target); err != nil {
			return nil, fmt.Errorf("nothing was changed: %w", err)
		}
	}
	res := &Result{ConfigHash: hash}
	for i, p := range plan {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("restore interrupted after %d of %d files; each file is "+
				"whole (old or new); run the restore again to finish", i, len(plan))
		}
		if err := os.MkdirAll(filepath.Dir(p.target), 0o755); err != nil {
			return res, fmt.Errorf("creating folder for %s: %w", p.target, err)
		}
		_, statErr := os.Stat(p.target)
		if err := atomicfile.Write(p.target, files[p.name], atomicfile.Options{Backup: true}); err != nil {
			return res, err
		}
		if statErr == nil {
			res.BackedUp = append(res.BackedUp, p.target+".bak")
		}
		res.Written = append(res.Written, p.target)
	}
	return res, nil
}

type restoreStep struct{ name, target string }

// planRestore maps archive entries to target paths, templates and cache
// first, the config file last.
func planRestore(files map[string][]byte, dst Targets) []restoreStep {
	cfgName := configPrefix + config.LocalConfigName
	names := make([]string, 0, len(files))
	for n := range files {
		if n != cfgName {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	names = append(names, cfgName)
	cfgDir := filepath.Dir(dst.LocalConfig)
	var plan []restoreStep
	for _, n := range names {
		switch {
		case n == cfgName:
			plan = append(plan, restoreStep{n, dst.LocalConfig})
		case strings.HasPrefix(n, configPrefix):
			plan = append(plan, restoreStep{n, filepath.Join(cfgDir,
				filepath.FromSlash(strings.TrimPrefix(n, configPrefix)))})
		case strings.HasPrefix(n, cachePrefix) && dst.CacheDir != "":
			plan = append(plan, restoreStep{n, filepath.Join(dst.CacheDir,
				filepath.FromSlash(strings.TrimPrefix(n, cachePrefix)))})
		}
	}
	return plan
}

// checkTarget refuses a target that is a folder, or below a path part
// that is a file.
func checkTarget(target string) error {
	if fi, err := os.Lstat(target); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s exists and is not a regular file", target)
	}
	for dir := filepath.Dir(target); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("cannot write %s: %s is a file, not a folder", target, dir)
			}
			return nil
		}
		if next := filepath.Dir(dir); next == dir {
			return nil
		}
	}
}

// checkManifest requires a manifest listing every entry with its sha256.
func checkManifest(files map[string][]byte) error {
	raw, ok := files[manifestName]
	if !ok {
		return fmt.Errorf("archive has no %s: not an atelier config backup", manifestName)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("archive's %s cannot be read: %w", manifestName, err)
	}
	for n, b := range files {
		if n == manifestName {
			continue
		}
		want, listed := m.Files[n]
		if !listed {
			return fmt.Errorf("archive entry %q is not in the manifest; refused", n)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != want {
			return fmt.Errorf("archive entry %q does not match its checksum in the manifest "+
				"(damaged or edited); nothing was changed", n)
		}
	}
	for n := range m.Files {
		if _, ok := files[n]; !ok {
			return fmt.Errorf("the manifest lists %q but the archive lacks it (truncated?)", n)
		}
	}
	return nil
}

// readArchive reads every entry into memory, refusing unsafe names, links
// and sizes past the limits.
func readArchive(r io.Reader) (map[string][]byte, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("reading archive: not a gzip file: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading archive: %w", err)
		}
		if len(files) >= MaxEntries {
			return nil, fmt.Errorf("archive has more than %d entries", MaxEntries)
		}
		if err := checkEntryName(h.Name); err != nil {
			return nil, err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			return nil, fmt.Errorf("archive entry %q: only regular files are allowed "+
				"(links and devices are refused)", h.Name)
		}
		if h.Size > MaxEntryBytes {
			return nil, fmt.Errorf("archive entry %q is larger than %d MiB", h.Name, MaxEntryBytes>>20)
		}
		total += h.Size
		if total > MaxTotalBytes {
			return nil, fmt.Errorf("archive content is larger than %d MiB", MaxTotalBytes>>20)
		}
		b, err := io.ReadAll(io.LimitReader(tr, MaxEntryBytes+1))
		if err != nil {
			return nil, fmt.Errorf("reading archive entry %q: %w", h.Name, err)
		}
		if _, dup := files[h.Name]; dup {
			return nil, fmt.Errorf("archive entry %q appears twice", h.Name)
		}
		files[h.Name] = b
	}
	return files, nil
}

func checkEntryName(name string) error {
	clean := path.Clean(name)
	switch {
	case name == "" || strings.ContainsRune(name, 0) || strings.Contains(name, `\`):
		return fmt.Errorf("archive entry %q has an invalid name", name)
	case path.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") ||
		strings.Contains(name, "/../") || strings.HasSuffix(name, "/.."):
		return fmt.Errorf("archive entry %q points outside the restore folder; refused", name)
	case clean != manifestName && !strings.HasPrefix(clean, configPrefix) &&
		!strings.HasPrefix(clean, cachePrefix):
		return fmt.Errorf("archive entry %q is not part of an atelier backup "+
			"(expected manifest.json, config/… or cache/…)", name)
	}
	return nil
}

// validateArchived writes the archive's config files to a temporary folder
// and loads them there, so templates are read exactly as they would be.
func validateArchived(files map[string][]byte) (string, error) {
	tmp, err := os.MkdirTemp("", "atelier-restore-*")
	if err != nil {
		return "", fmt.Errorf("creating temporary folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	for n, b := range files {
		if !strings.HasPrefix(n, configPrefix) {
			continue
		}
		p := filepath.Join(tmp, filepath.FromSlash(strings.TrimPrefix(n, configPrefix)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return "", err
		}
	}
	s, err := config.Load(filepath.Join(tmp, config.LocalConfigName))
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			for i := range ps {
				ps[i].File = strings.Replace(ps[i].File, tmp, "archive:config", 1)
			}
			return "", fmt.Errorf("the archive's config does not validate; nothing was changed:\n%w", ps)
		}
		return "", fmt.Errorf("the archive's config cannot be read; nothing was changed: %w", err)
	}
	return s.ComputeHash()
}

// DefaultName is a timestamped archive name.
func DefaultName(now time.Time) string {
	return "atelier-backup-" + now.UTC().Format("20060102T150405Z") + ".tar.gz"
}

package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/config"
	"github.com/google/go-cmp/cmp"
)

var testTime = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// tree returns every file and link below dir, by slash path: a file's
// content, a link's target, a folder as "dir".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "link:" + target
			return err
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			out[rel] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// source makes a config folder with the starter config and a cache folder
// with two files and a temporary file that must be left out.
func source(t *testing.T) Sources {
	t.Helper()
	root := t.TempDir()
	cfgDir := filepath.Join(root, "config")
	if _, err := config.WriteStarter(cfgDir, false); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(root, "cache")
	writeFile(t, filepath.Join(cache, "snapshot.json"), `{"version":7}`)
	writeFile(t, filepath.Join(cache, "releases", "7.json"), `{"v":7}`)
	writeFile(t, filepath.Join(cache, ".snapshot.json.tmp-123"), "partial")
	return Sources{LocalConfig: filepath.Join(cfgDir, config.LocalConfigName), CacheDir: cache}
}

func createArchive(t *testing.T, src Sources) ([]byte, *Manifest) {
	t.Helper()
	var buf bytes.Buffer
	m, err := Create(&buf, src, testTime)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return buf.Bytes(), m
}

func TestCreateManifest(t *testing.T) {
	src := source(t)
	_, m := createArchive(t, src)
	var names []string
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"cache/releases/7.json", "cache/snapshot.json",
		"config/local_config.yaml", "config/workflows/flux1_dev.json", "config/workflows/sdxl.json"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("archived files (-want +got):\n%s", diff)
	}
	s, err := config.Load(src.LocalConfig)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := s.ComputeHash(); m.ConfigHash != h {
		t.Errorf("manifest config_hash = %q; want %q", m.ConfigHash, h)
	}
	if !m.CreatedAt.Equal(testTime) || m.Format != 1 {
		t.Errorf("manifest = %+v", m)
	}
}

func TestCreateBacksUpAnInvalidConfig(t *testing.T) {
	src := source(t)
	b, _ := os.ReadFile(src.LocalConfig)
	writeFile(t, src.LocalConfig, strings.Replace(string(b), "base_model: flux1-dev",
		"base_model: flux2", 1))
	_, m := createArchive(t, src)
	if m.ConfigHash != "" {
		t.Errorf("an invalid config got a hash: %s", m.ConfigHash)
	}
	if _, ok := m.Files["config/workflows/sdxl.json"]; !ok {
		t.Errorf("templates of an invalid config were left out: %v", m.Files)
	}
}

func TestCreateLeavesOutTemplatesOutsideTheFolder(t *testing.T) {
	src := source(t)
	cfgDir := filepath.Dir(src.LocalConfig)
	secret := filepath.Join(t.TempDir(), "secret.json")
	writeFile(t, secret, `{"secret": true}`)
	sdxl := filepath.Join(cfgDir, "workflows", "sdxl.json")
	if err := os.Remove(sdxl); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, sdxl); err != nil {
		t.Fatal(err)
	}
	archive, m := createArchive(t, src)
	if _, ok := m.Files["config/workflows/sdxl.json"]; ok {
		t.Errorf("a template symlinked out of the config folder was archived")
	}
	if bytes.Contains(gunzip(t, archive), []byte(`"secret"`)) {
		t.Errorf("the archive holds the outside file's content")
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	src := source(t)
	archive, m := createArchive(t, src)

	dst := t.TempDir()
	tg := Targets{LocalConfig: filepath.Join(dst, "etc", config.LocalConfigName),
		CacheDir: filepath.Join(dst, "cache")}
	res, err := Restore(t.Context(), bytes.NewReader(archive), tg)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if res.ConfigHash != m.ConfigHash || len(res.BackedUp) != 0 {
		t.Errorf("result = %+v; want hash %s and nothing backed up", res, m.ConfigHash)
	}
	if len(res.Written) != 5 || res.Written[len(res.Written)-1] != tg.LocalConfig {
		t.Errorf("written = %v; want 5 files, the config last", res.Written)
	}
	srcCfg := tree(t, filepath.Dir(src.LocalConfig))
	if diff := cmp.Diff(srcCfg, tree(t, filepath.Dir(tg.LocalConfig))); diff != "" {
		t.Errorf("restored config folder (-source +restored):\n%s", diff)
	}
	wantCache := tree(t, src.CacheDir)
	delete(wantCache, ".snapshot.json.tmp-123")
	if diff := cmp.Diff(wantCache, tree(t, tg.CacheDir)); diff != "" {
		t.Errorf("restored cache folder (-source +restored):\n%s", diff)
	}
	if _, err := config.Load(tg.LocalConfig); err != nil {
		t.Errorf("the restored config does not load: %v", err)
	}

	// Restoring over changed files keeps each replaced one as .bak.
	writeFile(t, filepath.Join(tg.CacheDir, "snapshot.json"), `{"version":8}`)
	writeFile(t, filepath.Join(filepath.Dir(tg.LocalConfig), "workflows", "sdxl.json"), `{"x":1}`)
	res, err = Restore(t.Context(), bytes.NewReader(archive), tg)
	if err != nil {
		t.Fatalf("second Restore: %v", err)
	}
	if len(res.BackedUp) != 5 {
		t.Errorf("backed up %v; want every replaced file", res.BackedUp)
	}
	got := tree(t, dst)
	for name, want := range map[string]string{
		"cache/snapshot.json":         `{"version":7}`,
		"cache/snapshot.json.bak":     `{"version":8}`,
		"etc/workflows/sdxl.json.bak": `{"x":1}`,
		"etc/workflows/sdxl.json":     srcCfg["workflows/sdxl.json"],
		"etc/local_config.yaml.bak":   srcCfg["local_config.yaml"],
	} {
		if got[name] != want {
			t.Errorf("%s = %.60q; want %.60q", name, got[name], want)
		}
	}
	for name := range got {
		if strings.Contains(name, ".tmp-") {
			t.Errorf("temporary file left: %s", name)
		}
	}
}

// entry is one member of a hand-made archive.
type entry struct {
	name, body, link string
	typ              byte
}

// makeArchive writes entries as a .tar.gz with a manifest listing each
// regular entry's checksum, as Create does.
func makeArchive(t *testing.T, entries []entry) []byte {
	t.Helper()
	m := Manifest{Format: 1, CreatedAt: testTime, Files: map[string]string{}}
	for _, e := range entries {
		if e.typ == 0 || e.typ == tar.TypeReg {
			sum := sha256.Sum256([]byte(e.body))
			m.Files[e.name] = hex.EncodeToString(sum[:])
		}
	}
	mb, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return makeRawArchive(t, append([]entry{{name: manifestName, body: string(mb)}}, entries...))
}

// makeRawArchive writes entries as they are, with no manifest added.
func makeRawArchive(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: 0o644,
			Size: int64(len(e.body)), ModTime: testTime, Format: tar.FormatPAX}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// validEntries is a restorable archive's content: the starter files.
func validEntries() []entry {
	var es []entry
	for name, b := range config.StarterFiles() {
		es = append(es, entry{name: "config/" + name, body: string(b)})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].name < es[j].name })
	return append(es, entry{name: "cache/snapshot.json", body: "{}"})
}

func TestRestoreRefusesAndChangesNothing(t *testing.T) {
	starterCfg := string(config.StarterFiles()[config.LocalConfigName])
	with := func(extra ...entry) []byte {
		return makeArchive(t, append(validEntries(), extra...))
	}
	replaced := func(old, new string) []byte {
		var es []entry
		for _, e := range validEntries() {
			if e.name == "config/"+config.LocalConfigName {
				e.body = strings.Replace(starterCfg, old, new, 1)
			}
			es = append(es, e)
		}
		return makeArchive(t, es)
	}
	tests := []struct {
		name    string
		archive []byte
		want    string
	}{
		{"parent entry", with(entry{name: "../x", body: "x"}),
			`archive entry "../x" points outside the restore folder`},
		{"parent inside entry", with(entry{name: "config/../../x", body: "x"}),
			"points outside the restore folder"},
		{"absolute entry", with(entry{name: "/etc/cron.d/x", body: "x"}),
			`archive entry "/etc/cron.d/x" points outside the restore folder`},
		{"symlink entry", with(entry{name: "config/workflows/evil.json", link: "/etc/passwd",
			typ: tar.TypeSymlink}), "only regular files are allowed"},
		{"hard link entry", with(entry{name: "cache/x", link: "/etc/passwd", typ: tar.TypeLink}),
			"only regular files are allowed"},
		{"backslash entry", with(entry{name: `config\..\..\x`, body: "x"}), "invalid name"},
		{"foreign entry", with(entry{name: "etc/passwd", body: "x"}),
			"is not part of an atelier backup"},
		{"duplicate entry", with(entry{name: "cache/snapshot.json", body: "{}"}), "appears twice"},
		{"config that does not validate", replaced("base_model: flux1-dev", "base_model: flux2"),
			`the archive's config does not validate; nothing was changed:` + "\n" +
				"archive:config/local_config.yaml:"},
		{"config naming a template outside", replaced("template_path: workflows/sdxl.json",
			"template_path: ../../etc/passwd"), "points outside the config folder"},
		{"config with a template missing", makeArchive(t, []entry{{
			name: "config/local_config.yaml", body: starterCfg}}), "not found"},
		{"no config", makeArchive(t, []entry{{name: "cache/snapshot.json", body: "{}"}}),
			"archive has no config/local_config.yaml"},
		{"not gzip", []byte("PK\x03\x04 a zip file"), "not a gzip file"},
		{"no manifest", makeRawArchive(t, validEntries()), "archive has no manifest.json"},
		{"entry edited after the backup", func() []byte {
			raw := makeArchive(t, validEntries())
			// Re-pack with one entry changed but the old manifest kept.
			files := untar(t, raw)
			files["cache/snapshot.json"] = `{"tampered":true}`
			var out []entry
			for _, n := range sortedKeys(files) {
				out = append(out, entry{name: n, body: files[n]})
			}
			return makeRawArchive(t, out)
		}(), "does not match its checksum"},
		{"truncated", with()[:200], "reading archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			tg := Targets{LocalConfig: filepath.Join(dst, "config", config.LocalConfigName),
				CacheDir: filepath.Join(dst, "cache")}
			// An existing installation that must stay as it is.
			if _, err := config.WriteStarter(filepath.Dir(tg.LocalConfig), false); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(tg.CacheDir, "snapshot.json"), `{"mine":true}`)
			before := tree(t, dst)
			parentBefore := tree(t, filepath.Dir(dst))

			res, err := Restore(t.Context(), bytes.NewReader(tt.archive), tg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Restore = %v; want an error containing %q", err, tt.want)
			}
			if res != nil && len(res.Written) > 0 {
				t.Errorf("Restore wrote %v before refusing", res.Written)
			}
			if diff := cmp.Diff(before, tree(t, dst)); diff != "" {
				t.Errorf("the target folder changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(parentBefore, tree(t, filepath.Dir(dst))); diff != "" {
				t.Errorf("the folder around the target changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestDefaultName(t *testing.T) {
	got := DefaultName(time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)))
	if want := "atelier-backup-20250102T020405Z.tar.gz"; got != want {
		t.Errorf("DefaultName = %q; want %q", got, want)
	}
}

func untar(t *testing.T, archive []byte) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = string(b)
	}
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestRestoreChecksTargetsFirst(t *testing.T) {
	archive := makeArchive(t, validEntries())
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, dst string) Targets
		want  string
	}{
		{"config path is a folder", func(t *testing.T, dst string) Targets {
			cfg := filepath.Join(dst, "cfg")
			if err := os.MkdirAll(cfg, 0o755); err != nil {
				t.Fatal(err)
			}
			return Targets{LocalConfig: cfg, CacheDir: filepath.Join(dst, "cache")}
		}, "is not a regular file"},
		{"a path part is a file", func(t *testing.T, dst string) Targets {
			writeFile(t, filepath.Join(dst, "config", "workflows"), "a file")
			return Targets{LocalConfig: filepath.Join(dst, "config", config.LocalConfigName),
				CacheDir: filepath.Join(dst, "cache")}
		}, "is a file, not a folder"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			tg := tt.setup(t, dst)
			before := tree(t, dst)
			_, err := Restore(t.Context(), bytes.NewReader(archive), tg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Restore = %v; want %q", err, tt.want)
			}
			if diff := cmp.Diff(before, tree(t, dst)); diff != "" {
				t.Errorf("a refused restore changed files (-before +after):\n%s", diff)
			}
		})
	}
}

func TestRestoreStopsBetweenFilesWhenCancelled(t *testing.T) {
	dst := t.TempDir()
	tg := Targets{LocalConfig: filepath.Join(dst, "config", config.LocalConfigName),
		CacheDir: filepath.Join(dst, "cache")}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := Restore(ctx, bytes.NewReader(makeArchive(t, validEntries())), tg)
	if err == nil || !strings.Contains(err.Error(), "interrupted after 0 of") {
		t.Fatalf("Restore = %v; want an interruption report", err)
	}
	if len(res.Written) != 0 {
		t.Errorf("wrote %v after cancellation", res.Written)
	}
}

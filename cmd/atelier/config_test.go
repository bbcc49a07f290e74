package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/atelier-dev/atelier/internal/config"
	"github.com/google/go-cmp/cmp"
)

// configEnv points the settings at temporary paths, so no test reads or
// writes the developer's ./config or ./data, and returns the config folder
// and the cache folder.
func configEnv(t *testing.T) (cfgDir, cacheDir string) {
	t.Helper()
	root := t.TempDir()
	cfgDir, cacheDir = filepath.Join(root, "config"), filepath.Join(root, "cache")
	t.Setenv("ATELIER_LOCAL_CONFIG", filepath.Join(cfgDir, config.LocalConfigName))
	t.Setenv("ATELIER_CACHE_DIR", cacheDir)
	// Settings that must not come from the developer's environment.
	for _, v := range []string{"BACKEND_CONFIG_URL", "BACKEND_CONFIG_TOKEN",
		"BACKEND_CONFIG_TOKEN_FILE", "CONFIG_CACHE_TTL", "CONFIG_SYNC_INTERVAL",
		"CONFIG_STARTUP_WAIT", "ATELIER_LOG_LEVEL", "ATELIER_LOG_FORMAT", "COMFYUI_URL"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	return cfgDir, cacheDir
}

// atelier runs the command with args as the binary would.
func atelier(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// initConfig runs `atelier config init --dir dir` and fails the test
// unless it succeeds.
func initConfig(t *testing.T, dir string) string {
	t.Helper()
	code, out, errOut := atelier("config", "init", "--dir", dir)
	if code != 0 {
		t.Fatalf("config init: exit %d\n%s%s", code, out, errOut)
	}
	return filepath.Join(dir, config.LocalConfigName)
}

// hashOf loads file with the config package and returns its hash.
func hashOf(t *testing.T, file string) string {
	t.Helper()
	s, err := config.Load(file)
	if err != nil {
		t.Fatalf("loading %s: %v", file, err)
	}
	h, err := s.ComputeHash()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestConfigInitThenValidate(t *testing.T) {
	_, _ = configEnv(t)
	dir := filepath.Join(t.TempDir(), "t")
	code, out, errOut := atelier("config", "init", "--dir", dir)
	if code != 0 || errOut != "" {
		t.Fatalf("config init: exit %d, stderr %q", code, errOut)
	}
	file := filepath.Join(dir, config.LocalConfigName)
	for _, want := range []string{"wrote " + file, "wrote " + filepath.Join(dir, "workflows"),
		"next: atelier config validate " + file} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = atelier("config", "validate", file)
	if code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errOut)
	}
	want := fmt.Sprintf("ok: %s: 3 models, 4 loras, 2 workflows; %s\n", file, hashOf(t, file))
	if out != want {
		t.Errorf("validate output = %q; want %q", out, want)
	}
}

func TestConfigInitDefaultsToTheLocalConfigFolder(t *testing.T) {
	cfgDir, _ := configEnv(t)
	if code, _, errOut := atelier("config", "init"); code != 0 {
		t.Fatalf("config init: exit %d: %s", code, errOut)
	}
	// validate without a file reads ATELIER_LOCAL_CONFIG.
	code, out, errOut := atelier("config", "validate")
	if code != 0 || !strings.HasPrefix(out, "ok: "+filepath.Join(cfgDir, config.LocalConfigName)) {
		t.Errorf("validate with no file: exit %d\n%s%s", code, out, errOut)
	}
}

func TestConfigInitRefusesToOverwrite(t *testing.T) {
	configEnv(t)
	dir := t.TempDir()
	file := initConfig(t, dir)
	if err := os.WriteFile(file, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := atelier("config", "init", "--dir", dir)
	if code != 1 || !strings.Contains(errOut, "file exists") ||
		!strings.Contains(errOut, "--force") || !strings.Contains(errOut, file) {
		t.Errorf("init over existing files: exit %d, stderr %q; want 1 naming the file and --force",
			code, errOut)
	}
	if b, _ := os.ReadFile(file); string(b) != "# mine\n" {
		t.Errorf("init without --force changed %s", file)
	}
	if code, _, errOut := atelier("config", "init", "--dir", dir, "--force"); code != 0 {
		t.Fatalf("init --force: exit %d: %s", code, errOut)
	}
	if code, _, errOut := atelier("config", "validate", file); code != 0 {
		t.Errorf("validate after init --force: exit %d: %s", code, errOut)
	}
}

func TestConfigValidateJSON(t *testing.T) {
	configEnv(t)
	file := initConfig(t, t.TempDir())
	code, out, _ := atelier("config", "validate", "--json", file)
	if code != 0 {
		t.Fatalf("validate --json: exit %d\n%s", code, out)
	}
	type report struct {
		File     string
		Valid    bool
		Hash     string
		Counts   map[string]int
		Problems []config.Problem
	}
	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("validate --json output is not JSON: %v\n%s", err, out)
	}
	s, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	wantHash, err := s.ComputeHash()
	if err != nil {
		t.Fatal(err)
	}
	canon, err := s.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Hash != wantHash || !rep.Valid || rep.File != file ||
		rep.Problems == nil || len(rep.Problems) != 0 || rep.Counts["models"] != 3 {
		t.Errorf("report = %+v; want valid, hash %s, no problems", rep, wantHash)
	}

	// The same content as one JSON file (graphs inline) has the same hash.
	jsonFile := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(jsonFile, canon, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := atelier("config", "validate", jsonFile)
	if code != 0 || !strings.HasSuffix(out, "; "+rep.Hash+"\n") {
		t.Errorf("validate of the JSON form: exit %d, %q %s; want the YAML's hash %s", code,
			out, errOut, rep.Hash)
	}

	// An invalid file: exit 1, the problems in the report with their places.
	bad := filepath.Join(filepath.Dir(file), "bad.yaml")
	b, _ := os.ReadFile(file)
	in := strings.Replace(string(b), "base_model: flux1-dev", "base_model: flux2", 1)
	if err := os.WriteFile(bad, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = atelier("config", "validate", bad, "--json")
	rep = report{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("validate --json output is not JSON: %v\n%s", err, out)
	}
	want := []config.Problem{{File: bad, Line: lineOf(in, "base_model: flux2"),
		Path: "loras[1].base_model", Message: `no model or model_type "flux2"`}}
	if code != 1 || rep.Valid || rep.Hash != "" {
		t.Errorf("invalid file: exit %d, report %+v; want exit 1, not valid, no hash", code, rep)
	}
	if diff := cmp.Diff(want, rep.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// lineOf returns the 1-based line of marker's first occurrence in s.
func lineOf(s, marker string) int {
	i := strings.Index(s, marker)
	if i < 0 {
		panic("marker not found: " + marker)
	}
	return strings.Count(s[:i], "\n") + 1
}

// TestConfigValidateBadInput runs the bad inputs through the
// command: each exits 1 with the problem and its place (file:line: path).
func TestConfigValidateBadInput(t *testing.T) {
	configEnv(t)
	starter := string(config.StarterFiles()[config.LocalConfigName])
	outside := filepath.Join(t.TempDir(), "outside.json")
	if err := os.WriteFile(outside, config.StarterFiles()["workflows/sdxl.json"], 0o644); err != nil {
		t.Fatal(err)
	}
	with := func(old, new string) string {
		if !strings.Contains(starter, old) {
			t.Fatalf("starter config lacks %q", old)
		}
		return strings.Replace(starter, old, new, 1)
	}
	tests := []struct {
		name    string
		content string
		setup   func(dir string) // extra files beside the config
		marker  string           // the problem's line holds this; "" = no line
		path    string
		message string
	}{
		{"tab", with("    model_type: sdxl\n", "\tmodel_type: sdxl\n"), nil,
			"\tmodel_type", "", "tab character"},
		{"duplicate key", with("    file: sd_xl_base_1.0.safetensors\n",
			"    file: sd_xl_base_1.0.safetensors\n    file: other.safetensors\n"), nil,
			"file: other", "models[1].file", `duplicate key "file"`},
		{"wrong type", with("    sort_order: 2\n", "    sort_order: \"one\"\n"), nil,
			`sort_order: "one"`, "models[1].sort_order", `expected a whole number, got the text "one"`},
		{"unknown field", with("    display_name: Juggernaut XL", "    dispaly_name: Juggernaut XL"),
			nil, "dispaly_name", "models[2]", `unknown field "dispaly_name" (did you mean "display_name"?)`},
		{"template outside the folder", with("template_path: workflows/sdxl.json",
			"template_path: ../../etc/passwd"), nil,
			"../../etc/passwd", "workflows[1].template_path", "points outside the config folder"},
		{"template symlinked out of the folder", with("template_path: workflows/sdxl.json",
			"template_path: workflows/linked.json"), func(dir string) {
			if err := os.Symlink(outside, filepath.Join(dir, "workflows", "linked.json")); err != nil {
				t.Fatal(err)
			}
		}, "linked.json", "workflows[1].template_path", "symlink outside the config folder"},
		{"missing template", with("template_path: workflows/sdxl.json",
			"template_path: workflows/nope.json"), nil,
			"nope.json", "workflows[1].template_path", `template file "workflows/nope.json" not found`},
		{"non-UTF-8", with("display_name: Film Grain", "display_name: Film \xe9Grain"), nil,
			"\xe9", "", "invalid UTF-8"},
		{"empty file", "", nil, "", "", "file is empty"},
		{"reference to a missing model type", with("base_model: flux1-dev", "base_model: flux2"),
			nil, "flux2", "loras[1].base_model", `no model or model_type "flux2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			initConfig(t, dir)
			file := filepath.Join(dir, config.LocalConfigName)
			if err := os.WriteFile(file, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(dir)
			}
			code, out, errOut := atelier("config", "validate", file)
			place := file + ": "
			if tt.marker != "" {
				place = fmt.Sprintf("%s:%d: ", file, lineOf(tt.content, tt.marker))
			}
			if tt.path != "" {
				place += tt.path + ": "
			}
			if code != 1 || out != "" || !strings.Contains(errOut, "the config is not valid") {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 1 and a summary", code, out,
					errOut)
			}
			if !hasLine(errOut, place, tt.message) {
				t.Errorf("no stderr line starting %q holding %q:\n%s", place, tt.message, errOut)
			}
		})
	}
}

// hasLine reports whether some line of s starts with prefix and holds frag.
func hasLine(s, prefix, frag string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, frag) {
			return true
		}
	}
	return false
}

func TestConfigValidateRefusesALargeFile(t *testing.T) {
	configEnv(t)
	file := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, _, errOut := atelier("config", "validate", file)
	if code != 1 || !strings.Contains(errOut, file+" is 50 MiB, larger than the 8 MiB limit") {
		t.Errorf("50 MB file: exit %d, stderr %q", code, errOut)
	}
}

// tree returns every file below dir by slash path with its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func TestConfigBackupRestore(t *testing.T) {
	cfgDir, cacheDir := configEnv(t)
	file := initConfig(t, cfgDir)
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cacheDir, "snapshot.json"), []byte(`{"v":3}`),
		0o644); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "b.tar.gz")
	code, out, errOut := atelier("config", "backup", "--out", archive)
	if code != 0 {
		t.Fatalf("backup: exit %d: %s", code, errOut)
	}
	if want := fmt.Sprintf("wrote %s: 4 files, config %s\n", archive, hashOf(t, file)); out != want {
		t.Errorf("backup output = %q; want %q", out, want)
	}
	if code, _, errOut := atelier("config", "backup", "--out", archive); code != 1 ||
		!strings.Contains(errOut, "exists") {
		t.Errorf("backup over an existing archive: exit %d, %q", code, errOut)
	}

	// Restore into other folders, given by flags.
	dst := t.TempDir()
	dstCfg := filepath.Join(dst, "cfg", config.LocalConfigName)
	dstCache := filepath.Join(dst, "cache")
	code, out, errOut = atelier("config", "restore", archive, "--config", dstCfg,
		"--cache-dir", dstCache)
	if code != 0 {
		t.Fatalf("restore: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "restored "+dstCfg) ||
		!strings.HasSuffix(out, "restored config "+hashOf(t, file)+"\n") {
		t.Errorf("restore output:\n%s", out)
	}
	if diff := cmp.Diff(tree(t, cfgDir), tree(t, filepath.Dir(dstCfg))); diff != "" {
		t.Errorf("restored config folder (-source +restored):\n%s", diff)
	}
	if diff := cmp.Diff(tree(t, cacheDir), tree(t, dstCache)); diff != "" {
		t.Errorf("restored cache (-source +restored):\n%s", diff)
	}

	// Restoring over the settings' own paths keeps the replaced files.
	if err := os.WriteFile(filepath.Join(cacheDir, "snapshot.json"), []byte(`{"v":4}`),
		0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = atelier("config", "restore", archive)
	if code != 0 {
		t.Fatalf("restore over the current files: exit %d: %s", code, errOut)
	}
	bak := filepath.Join(cacheDir, "snapshot.json.bak")
	if !strings.Contains(out, "kept previous file as "+bak) {
		t.Errorf("restore output does not name %s:\n%s", bak, out)
	}
	if b, _ := os.ReadFile(bak); string(b) != `{"v":4}` {
		t.Errorf("%s = %q; want the replaced content", bak, b)
	}
}

func TestConfigBackupDefaultName(t *testing.T) {
	cfgDir, _ := configEnv(t)
	initConfig(t, cfgDir)
	wd := t.TempDir()
	t.Chdir(wd)
	code, out, errOut := atelier("config", "backup")
	if code != 0 {
		t.Fatalf("backup: exit %d: %s", code, errOut)
	}
	names, _ := filepath.Glob(filepath.Join(wd, "atelier-backup-*Z.tar.gz"))
	if len(names) != 1 || !strings.Contains(out, filepath.Base(names[0])) {
		t.Errorf("archives %v; output %q", names, out)
	}
}

// tarGz builds an archive from name/content pairs.
// tarGz writes files as a backup archive, with the manifest of checksums
// `config backup` writes.
func tarGz(t *testing.T, files [][2]string) string {
	t.Helper()
	sums := map[string]string{}
	for _, f := range files {
		sum := sha256.Sum256([]byte(f[1]))
		sums[f[0]] = hex.EncodeToString(sum[:])
	}
	manifest, err := json.Marshal(map[string]any{"format": 1, "files": sums})
	if err != nil {
		t.Fatal(err)
	}
	files = append([][2]string{{"manifest.json", string(manifest)}}, files...)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigRestoreRefusals(t *testing.T) {
	starter := config.StarterFiles()
	var good [][2]string
	var names []string
	for n := range starter {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		good = append(good, [2]string{"config/" + n, string(starter[n])})
	}
	badCfg := strings.Replace(string(starter[config.LocalConfigName]),
		"base_model: flux1-dev", "base_model: flux2", 1)
	var invalid [][2]string
	for _, f := range good {
		if f[0] == "config/"+config.LocalConfigName {
			f[1] = badCfg
		}
		invalid = append(invalid, f)
	}
	tests := []struct {
		name  string
		files [][2]string
		want  []string
	}{
		{"entry named ../x", append(append([][2]string{}, good...), [2]string{"../x", "x"}),
			[]string{`archive entry "../x" points outside the restore folder`}},
		{"config that does not validate", invalid, []string{
			"the archive's config does not validate; nothing was changed",
			fmt.Sprintf("archive:config/%s:%d: loras[1].base_model: no model or model_type \"flux2\"",
				config.LocalConfigName, lineOf(badCfg, "flux2")),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgDir, cacheDir := configEnv(t)
			initConfig(t, cfgDir)
			before := tree(t, filepath.Dir(cfgDir))
			code, out, errOut := atelier("config", "restore", tarGz(t, tt.files))
			if code != 1 || strings.Contains(out, "restored ") {
				t.Errorf("exit %d, stdout %q; want 1 and nothing restored", code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if diff := cmp.Diff(before, tree(t, filepath.Dir(cfgDir))); diff != "" {
				t.Errorf("files changed (-before +after):\n%s", diff)
			}
			if _, err := os.Stat(cacheDir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the cache folder was created: %v", err)
			}
		})
	}
}

func TestConfigDiff(t *testing.T) {
	configEnv(t)
	dir := t.TempDir()
	a := initConfig(t, dir)
	b, _ := os.ReadFile(a)
	changed := strings.NewReplacer(
		"display_name: Flux.1 Dev", "display_name: Flux Dev",
		"  - name: sdxl/add-detail-xl.safetensors\n", "  - name: sdxl/more-detail-xl.safetensors\n",
		"max_steps: 60", "max_steps: 80",
	).Replace(string(b))
	bFile := filepath.Join(dir, "b.yaml")
	if err := os.WriteFile(bFile, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := atelier("config", "diff", a, bFile)
	if code != 0 {
		t.Fatalf("diff: exit %d: %s", code, errOut)
	}
	want := `models:
  ~ flux1-dev:
      display_name: "Flux.1 Dev" -> "Flux Dev"
loras:
  + sdxl/more-detail-xl.safetensors (added)
  - sdxl/add-detail-xl.safetensors (removed)
image_gen:
  ~ max_steps: 60 -> 80
`
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("diff output (-want +got):\n%s", diff)
	}

	code, out, _ = atelier("config", "diff", "--json", a, bFile)
	var d config.Diff
	if err := json.Unmarshal([]byte(out), &d); err != nil || code != 0 {
		t.Fatalf("diff --json: exit %d, %v\n%s", code, err, out)
	}
	if len(d.Models.Changed) != 1 || d.Models.Changed[0].Fields[0].Field != "display_name" ||
		len(d.Loras.Added) != 1 || len(d.ImageGen) != 1 {
		t.Errorf("diff --json = %+v", d)
	}

	if code, out, _ := atelier("config", "diff", a, a); code != 0 || out != "no changes\n" {
		t.Errorf("diff of a file with itself: exit %d, %q", code, out)
	}
	if code, _, errOut := atelier("config", "diff", a); code != 2 ||
		!strings.Contains(errOut, "give two") {
		t.Errorf("diff with one file: exit %d, %q", code, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("models: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := atelier("config", "diff", a, bad); code != 1 ||
		!strings.Contains(errOut, bad) {
		t.Errorf("diff with a broken file: exit %d, %q", code, errOut)
	}
}

func TestConfigUsageErrors(t *testing.T) {
	configEnv(t)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, 2, "Usage: atelier <command>"},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"config"}, 2, "Usage: atelier config <subcommand>"},
		{[]string{"config", "nope"}, 2, `unknown subcommand "nope"`},
		{[]string{"config", "init", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"config", "validate", "a", "b"}, 2, "at most one file"},
		{[]string{"config", "validate", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"config", "restore"}, 2, "give one archive file"},
		{[]string{"config", "restore", filepath.Join(t.TempDir(), "none.tar.gz")}, 1,
			"no such file"},
	} {
		code, out, errOut := atelier(tt.args...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("atelier %q: exit %d, output %q; want %d and %q", tt.args, code,
				out+errOut, tt.code, tt.want)
		}
	}
}

func TestConfigBadSettingStops(t *testing.T) {
	configEnv(t)
	t.Setenv("CONFIG_CACHE_TTL", "soon")
	code, _, errOut := atelier("config", "validate")
	if code != 2 || !strings.Contains(errOut, "CONFIG_CACHE_TTL") {
		t.Errorf("bad setting: exit %d, %q; want 2 naming the variable", code, errOut)
	}
}

func TestHelp(t *testing.T) {
	configEnv(t)
	code, out, _ := atelier("--help")
	if code != 0 || !strings.Contains(out, "  config ") ||
		!strings.Contains(out, "Run 'atelier <command> --help'") {
		t.Errorf("atelier --help: exit %d\n%s", code, out)
	}
	code, out, _ = atelier("config", "--help")
	for _, sub := range configSubs {
		if !strings.Contains(out, "  "+sub[0]) {
			t.Errorf("atelier config --help lacks %s:\n%s", sub[0], out)
		}
	}
	if code != 0 {
		t.Errorf("atelier config --help: exit %d", code)
	}
	for _, tt := range []struct {
		sub  string
		want []string
	}{
		{"init", []string{"-dir", "-force", "ATELIER_LOCAL_CONFIG",
			"(default: config/local_config.yaml)"}},
		{"validate", []string{"-json", "ATELIER_LOCAL_CONFIG", "(default: config/local_config.yaml)"}},
		{"backup", []string{"-out", "-cache-dir", "ATELIER_CACHE_DIR", "(default: data/cache)"}},
		{"restore", []string{"-config", "ATELIER_LOCAL_CONFIG", "ATELIER_CACHE_DIR",
			"(default: data/cache)"}},
		{"diff", []string{"-json", "A B"}},
		{"sync", []string{"BACKEND_CONFIG_URL", "(default: http://127.0.0.1:8000/api/admin/config-sync)"}},
	} {
		for _, flag := range []string{"--help", "-h"} {
			code, out, errOut := atelier("config", tt.sub, flag)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: atelier config "+tt.sub) {
				t.Errorf("atelier config %s %s: exit %d, stderr %q\n%s", tt.sub, flag, code, errOut, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("atelier config %s --help lacks %q:\n%s", tt.sub, w, out)
				}
			}
		}
	}
}

// TestConfigBinary builds the real binary and runs the "done when"
// steps through it: init, validate (exit 0), a bad file (exit 1).
func TestConfigBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	configEnv(t)
	bin := filepath.Join(t.TempDir(), "atelier")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "t")
	if out, err := exec.Command(bin, "config", "init", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("atelier config init: %v\n%s", err, out)
	}
	file := filepath.Join(dir, config.LocalConfigName)
	out, err := exec.Command(bin, "config", "validate", file).Output()
	if err != nil || !strings.HasPrefix(string(out), "ok: ") ||
		!strings.Contains(string(out), hashOf(t, file)) {
		t.Errorf("atelier config validate: %v\n%s", err, out)
	}
	if err := os.WriteFile(file, []byte("models:\n\t- name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "config", "validate", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 ||
		!strings.Contains(stderr.String(), file+":2: ") {
		t.Errorf("validate of a file with a tab: %v; stderr %q; want exit status 1 naming %s:2",
			err, stderr.String(), file)
	}
}

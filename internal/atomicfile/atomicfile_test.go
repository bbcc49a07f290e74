package atomicfile

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name      string
		existing  string // "" = no file before
		opt       Options
		wantFiles []string
		wantBak   string
		wantPerm  os.FileMode
	}{
		{"new file", "", Options{}, []string{"f.json"}, "", 0o644},
		{"new file with backup asked", "", Options{Backup: true}, []string{"f.json"}, "", 0o644},
		{"replace without backup", "old", Options{}, []string{"f.json"}, "", 0o644},
		{"replace with backup", "old", Options{Backup: true},
			[]string{"f.json", "f.json.bak"}, "old", 0o644},
		{"private mode", "", Options{Perm: 0o600}, []string{"f.json"}, "", 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f.json")
			if tt.existing != "" {
				if err := os.WriteFile(p, []byte(tt.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := Write(p, []byte("new"), tt.opt); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if got := readFile(t, p); got != "new" {
				t.Errorf("content = %q; want new", got)
			}
			// No temporary file may be left beside it.
			if diff := cmp.Diff(tt.wantFiles, listDir(t, dir)); diff != "" {
				t.Errorf("files in the folder (-want +got):\n%s", diff)
			}
			if tt.wantBak != "" {
				if got := readFile(t, p+".bak"); got != tt.wantBak {
					t.Errorf(".bak = %q; want %q", got, tt.wantBak)
				}
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.wantPerm {
				t.Errorf("mode = %v; want %v", fi.Mode().Perm(), tt.wantPerm)
			}
		})
	}
}

func TestWriteBackupKeepsTheLastVersion(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for _, v := range []string{"v1", "v2", "v3"} {
		if err := Write(p, []byte(v), Options{Backup: true}); err != nil {
			t.Fatal(err)
		}
	}
	if got, bak := readFile(t, p), readFile(t, p+".bak"); got != "v3" || bak != "v2" {
		t.Errorf("file %q, .bak %q; want v3, v2", got, bak)
	}
	if diff := cmp.Diff([]string{"f", "f.bak"}, listDir(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestWriteBackupKeepsTheMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "token")
	if err := Write(p, []byte("old"), Options{Perm: 0o600}); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("new"), Options{Perm: 0o600, Backup: true}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p + ".bak")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf(".bak of a 0600 file has mode %v", fi.Mode().Perm())
	}
}

func TestWriteFailureLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	// A non-empty folder where the file should go: the rename fails.
	target := filepath.Join(dir, "f")
	if err := os.MkdirAll(filepath.Join(target, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Write(target, []byte("new"), Options{})
	if err == nil || !strings.Contains(err.Error(), "replacing "+target) {
		t.Fatalf("Write over a folder: %v; want a replacing error", err)
	}
	if diff := cmp.Diff([]string{"f"}, listDir(t, dir)); diff != "" {
		t.Errorf("files after a failed write (-want +got):\n%s", diff)
	}
}

func TestWriteIntoMissingFolder(t *testing.T) {
	err := Write(filepath.Join(t.TempDir(), "no", "f"), []byte("x"), Options{})
	if err == nil || !strings.Contains(err.Error(), "creating temporary file") {
		t.Errorf("Write into a missing folder: %v", err)
	}
}

func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Errorf("SyncDir: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if err := SyncDir(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("SyncDir(missing) = %v; want an error naming it", err)
	}
}

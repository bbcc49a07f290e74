package comfysim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// maxMemoryFiles bounds the in-memory store; the oldest files go first.
const maxMemoryFiles = 2000

// fileStore keeps what SaveImage and PreviewImage write, by folder type
// ("output", "temp"), subfolder and file name.
type fileStore interface {
	put(typ, subfolder, name string, data []byte) error
	get(typ, subfolder, name string) ([]byte, error)
	// names lists the file names in one folder.
	names(typ, subfolder string) ([]string, error)
}

var errNoFile = errors.New("no such file")

// memStore holds files in memory, the default for tests.
type memStore struct {
	mu    sync.Mutex
	files map[string][]byte
	order []string
}

func newMemStore() *memStore { return &memStore{files: map[string][]byte{}} }

func memKey(typ, subfolder, name string) string { return typ + "\x00" + subfolder + "\x00" + name }

func (m *memStore) put(typ, subfolder, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey(typ, subfolder, name)
	if _, ok := m.files[k]; !ok {
		m.order = append(m.order, k)
	}
	m.files[k] = data
	for len(m.order) > maxMemoryFiles {
		delete(m.files, m.order[0])
		m.order = m.order[1:]
	}
	return nil
}

func (m *memStore) get(typ, subfolder, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.files[memKey(typ, subfolder, name)]
	if !ok {
		return nil, errNoFile
	}
	return data, nil
}

func (m *memStore) names(typ, subfolder string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prefix := typ + "\x00" + subfolder + "\x00"
	var out []string
	for _, k := range m.order {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, rest)
		}
	}
	return out, nil
}

// dirStore writes files under a directory, one folder per type, like
// ComfyUI's output/ and temp/ folders.
type dirStore struct{ root string }

func (d dirStore) path(typ, subfolder, name string) string {
	return filepath.Join(d.root, typ, filepath.FromSlash(subfolder), name)
}

func (d dirStore) put(typ, subfolder, name string, data []byte) error {
	p := d.path(typ, subfolder, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating output folder: %w", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("writing image: %w", err)
	}
	return nil
}

func (d dirStore) get(typ, subfolder, name string) ([]byte, error) {
	data, err := os.ReadFile(d.path(typ, subfolder, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoFile
	}
	return data, err
}

func (d dirStore) names(typ, subfolder string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(d.root, typ, filepath.FromSlash(subfolder)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing output folder: %w", err)
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out, nil
}

// errOutsideOutput is ComfyUI's refusal of a filename_prefix like "../x".
var errOutsideOutput = errors.New(
	"**** ERROR: Saving image outside the output folder is not allowed.")

// splitPrefix turns a filename_prefix into subfolder and base name the way
// ComfyUI's get_save_image_path does, refusing paths that leave the folder.
func splitPrefix(prefix string, w, h int) (subfolder, base string, err error) {
	prefix = strings.ReplaceAll(prefix, "%width%", strconv.Itoa(w))
	prefix = strings.ReplaceAll(prefix, "%height%", strconv.Itoa(h))
	clean := path.Clean(prefix)
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", "", fmt.Errorf("%w\n full_output_folder: %s", errOutsideOutput, clean)
	}
	subfolder, base = path.Split(clean)
	return strings.TrimSuffix(subfolder, "/"), base, nil
}

// nextCounter is one more than the highest counter of files named
// "<base>_<counter>_..." in the folder, as ComfyUI numbers its outputs.
func nextCounter(st fileStore, typ, subfolder, base string) (int, error) {
	names, err := st.names(typ, subfolder)
	if err != nil {
		return 0, err
	}
	highest := 0
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, base+"_")
		if !ok {
			continue
		}
		digits, _, _ := strings.Cut(rest, "_")
		if c, err := strconv.Atoi(digits); err == nil && c > highest {
			highest = c
		}
	}
	return highest + 1, nil
}

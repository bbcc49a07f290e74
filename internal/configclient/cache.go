package configclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/atelier-dev/atelier/internal/atomicfile"
	"github.com/atelier-dev/atelier/internal/config"
)

// CacheFileName is the cache file's name inside the cache folder; the
// previous good file is kept beside it with a ".bak" suffix.
const CacheFileName = "config_cache.json"

// CacheFormatVersion is the envelope format this build writes and reads.
const CacheFormatVersion = 1

// cacheEnvelope is the cache file. Checksum covers every other field, so
// that damage anywhere in the file (a flipped bit in published_by or in
// fetched_at, which the release hash does not cover) is detected.
type cacheEnvelope struct {
	FormatVersion  int             `json:"format_version"`
	ReleaseVersion int64           `json:"release_version"`
	Hash           string          `json:"hash"`
	FetchedAt      time.Time       `json:"fetched_at"`
	Checksum       string          `json:"checksum"`
	Snapshot       json.RawMessage `json:"snapshot"`
}

func (e *cacheEnvelope) checksum() string {
	var b bytes.Buffer
	b.WriteString(strconv.Itoa(e.FormatVersion) + "\n")
	b.WriteString(strconv.FormatInt(e.ReleaseVersion, 10) + "\n")
	b.WriteString(e.Hash + "\n")
	b.WriteString(e.FetchedAt.UTC().Format(time.RFC3339Nano) + "\n")
	b.Write(e.Snapshot)
	return config.HashBytes(b.Bytes())
}

// CacheEntry is a verified cache file.
type CacheEntry struct {
	Snapshot  *config.Snapshot
	FetchedAt time.Time // when the release was fetched from the admin service
	Path      string    // the file it was read from: the cache file or its .bak
	// Skipped says why the cache file itself was not used when Path is the
	// .bak; empty otherwise.
	Skipped string
}

// EncodeCache returns the cache file content for a verified release.
func EncodeCache(snap *config.Snapshot, fetchedAt time.Time) ([]byte, error) {
	if snap == nil {
		return nil, errors.New("encoding cache: no snapshot")
	}
	if err := verifySnapshot(snap); err != nil {
		return nil, fmt.Errorf("encoding cache: refusing an unverified snapshot: %w", err)
	}
	raw, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("encoding cache: %w", err)
	}
	env := cacheEnvelope{
		FormatVersion:  CacheFormatVersion,
		ReleaseVersion: snap.Version,
		Hash:           snap.Hash,
		FetchedAt:      fetchedAt.UTC().Round(0),
		Snapshot:       raw,
	}
	env.Checksum = env.checksum()
	data, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encoding cache: %w", err)
	}
	return append(data, '\n'), nil
}

// DecodeCache parses and verifies cache file content: the envelope, its
// checksum, the snapshot (config.Validate), its hash, and that the
// envelope's version and hash match the snapshot's.
func DecodeCache(data []byte) (*config.Snapshot, time.Time, error) {
	env, err := decodeEnvelope(data)
	if err != nil {
		return nil, time.Time{}, err
	}
	snap, err := config.ParseJSON(env.Snapshot, "snapshot")
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("invalid config: %s", summarize(err))
	}
	if err := verifySnapshot(snap); err != nil {
		return nil, time.Time{}, err
	}
	if snap.Version != env.ReleaseVersion || snap.Hash != env.Hash {
		return nil, time.Time{}, fmt.Errorf("envelope says release %d %s, snapshot is %d %s",
			env.ReleaseVersion, env.Hash, snap.Version, snap.Hash)
	}
	return snap, env.FetchedAt, nil
}

// decodeEnvelope checks the envelope and its checksum only.
func decodeEnvelope(data []byte) (*cacheEnvelope, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("file is empty")
	}
	var env cacheEnvelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("not a cache envelope: %s", describeJSONError(err, len(data)))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not a cache envelope: unexpected data after the JSON object")
	}
	if env.FormatVersion != CacheFormatVersion {
		return nil, fmt.Errorf("format version %d is not supported (this build reads %d)",
			env.FormatVersion, CacheFormatVersion)
	}
	if env.Checksum != env.checksum() {
		return nil, errors.New("checksum mismatch: the file is damaged")
	}
	return &env, nil
}

// WriteCache writes snap into the cache folder dir, creating the folder,
// the way the client does after applying a release: atomically (temporary
// file, fsync, rename, folder fsync), keeping the previous file as .bak
// when that file is itself intact. snap must be a verified release.
func WriteCache(dir string, snap *config.Snapshot) error {
	return writeCacheAt(dir, snap, time.Now())
}

func writeCacheAt(dir string, snap *config.Snapshot, fetchedAt time.Time) error {
	data, err := EncodeCache(snap, fetchedAt)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating cache folder: %w", err)
	}
	path := filepath.Join(dir, CacheFileName)
	// A damaged current file must not replace a good .bak.
	old, err := os.ReadFile(path)
	keep := err == nil && validEnvelope(old)
	if err := atomicfile.Write(path, data, atomicfile.Options{Perm: 0o644, Backup: keep}); err != nil {
		return fmt.Errorf("writing cache: %w", err)
	}
	return nil
}

func validEnvelope(data []byte) bool {
	_, err := decodeEnvelope(data)
	return err == nil
}

// ReadCache returns the verified snapshot of the cache folder dir: the
// cache file, or its .bak when the file is missing or damaged. The error
// wraps os.ErrNotExist when neither file exists.
func ReadCache(dir string) (*config.Snapshot, error) {
	e, err := ReadCacheEntry(dir)
	if err != nil {
		return nil, err
	}
	return e.Snapshot, nil
}

// ReadCacheEntry is ReadCache with the fetch time and the file used.
func ReadCacheEntry(dir string) (*CacheEntry, error) {
	path := filepath.Join(dir, CacheFileName)
	e, mainErr := readCacheFile(path)
	if mainErr == nil {
		return e, nil
	}
	e, bakErr := readCacheFile(path + ".bak")
	if bakErr == nil {
		if !errors.Is(mainErr, os.ErrNotExist) {
			e.Skipped = mainErr.Error()
		} else {
			e.Skipped = path + " is missing"
		}
		return e, nil
	}
	if errors.Is(mainErr, os.ErrNotExist) && errors.Is(bakErr, os.ErrNotExist) {
		return nil, fmt.Errorf("no cache in %s: %w", dir, os.ErrNotExist)
	}
	return nil, fmt.Errorf("no usable cache in %s: %w", dir, errors.Join(mainErr, bakErr))
}

func readCacheFile(path string) (*CacheEntry, error) {
	data, err := config.ReadLimited(path, MaxReleaseBytes)
	if err != nil {
		if _, statErr := os.Stat(path); errors.Is(statErr, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", path, os.ErrNotExist)
		}
		return nil, err
	}
	snap, fetchedAt, err := DecodeCache(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &CacheEntry{Snapshot: snap, FetchedAt: fetchedAt, Path: path}, nil
}

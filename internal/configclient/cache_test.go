package configclient

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCacheRoundTrip(t *testing.T) {
	rel := release(t, 1, 7)
	at := time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.FixedZone("x", 3600))
	data, err := EncodeCache(rel, at)
	if err != nil {
		t.Fatal(err)
	}
	got, fetchedAt, err := DecodeCache(data)
	if err != nil {
		t.Fatalf("DecodeCache: %v", err)
	}
	if got.Version != 7 || got.Hash != rel.Hash || !fetchedAt.Equal(at) ||
		!got.PublishedAt.Equal(rel.PublishedAt) || got.PublishedBy != rel.PublishedBy {
		t.Errorf("round trip: %d %s %v %v %q", got.Version, got.Hash, fetchedAt, got.PublishedAt,
			got.PublishedBy)
	}
	again, err := EncodeCache(got, fetchedAt)
	if err != nil || !bytes.Equal(again, data) {
		t.Errorf("re-encoding differs (%v):\n%s\n%s", err, data, again)
	}
}

func TestEncodeCacheRefusesUnverified(t *testing.T) {
	s := release(t, 1, 1)
	s.Hash = "sha256:00"
	if _, err := EncodeCache(s, time.Now()); err == nil || !strings.Contains(err.Error(), "hash") {
		t.Errorf("EncodeCache with a wrong hash: %v", err)
	}
	if _, err := EncodeCache(sections(t, 1), time.Now()); err == nil {
		t.Errorf("EncodeCache accepted a snapshot without version")
	}
}

// damages returns the ways a good cache file gets broken: truncated at
// random offsets, one bit flipped at random positions, zero bytes.
func damages(good []byte, rng *rand.Rand) map[string][]byte {
	out := map[string][]byte{"zero bytes": {}, "only a newline": []byte("\n")}
	for i := 0; i < 25; i++ {
		n := rng.IntN(len(good) - 1)
		out["truncated at "+strconv.Itoa(n)] = good[:n]
	}
	for i := 0; i < 40; i++ {
		pos, bit := rng.IntN(len(good)), rng.IntN(8)
		b := bytes.Clone(good)
		b[pos] ^= 1 << bit
		out["bit "+strconv.Itoa(bit)+" of byte "+strconv.Itoa(pos)] = b
	}
	return out
}

func TestDamagedCacheFallsBackToBak(t *testing.T) {
	v1, v2 := release(t, 1, 1), release(t, 2, 2)
	dir := t.TempDir()
	if err := WriteCache(dir, v1); err != nil {
		t.Fatal(err)
	}
	if err := WriteCache(dir, v2); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, CacheFileName)
	good, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for name, bad := range damages(good, rng) {
		t.Run(name, func(t *testing.T) {
			// The damaged bytes alone never decode into another config.
			if snap, _, err := DecodeCache(bad); err == nil && snap.Hash != v2.Hash {
				t.Fatalf("damaged file decoded into release %d %s", snap.Version, snap.Hash)
			}
			if err := os.WriteFile(main, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			e, err := ReadCacheEntry(dir)
			if err != nil {
				t.Fatalf("ReadCacheEntry: %v", err)
			}
			switch {
			case e.Snapshot.Hash == v2.Hash && e.Path == main:
				// A flip that changes nothing decodable (never seen, but allowed).
			case e.Snapshot.Hash != v1.Hash || e.Path != main+".bak" || e.Skipped == "":
				t.Errorf("got release %d from %s (skipped %q), want release 1 from the .bak",
					e.Snapshot.Version, e.Path, e.Skipped)
			}
		})
	}
}

func TestWriteKeepsGoodBakOverDamagedFile(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []int64{1, 2} {
		if err := WriteCache(dir, release(t, int(v), v)); err != nil {
			t.Fatal(err)
		}
	}
	main := filepath.Join(dir, CacheFileName)
	if err := os.WriteFile(main, []byte(`{"format_version":1,`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteCache(dir, release(t, 3, 3)); err != nil {
		t.Fatal(err)
	}
	if e, err := readCacheFile(main + ".bak"); err != nil || e.Snapshot.Version != 1 {
		t.Errorf(".bak after writing over a damaged file: %v %v, want release 1", e, err)
	}
	if e, err := readCacheFile(main); err != nil || e.Snapshot.Version != 3 {
		t.Errorf("cache file: %v %v, want release 3", e, err)
	}
}

func TestBothCacheFilesBad(t *testing.T) {
	cases := []struct {
		name       string
		local      bool
		wantSource string
	}{
		{"with local", true, SourceLocal},
		{"without local", false, SourceNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			main := filepath.Join(dir, CacheFileName)
			if err := os.WriteFile(main, []byte("{\"format_ver"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(main+".bak", nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadCache(dir); err == nil || errors.Is(err, os.ErrNotExist) ||
				!strings.Contains(err.Error(), "file is empty") {
				t.Errorf("ReadCache: %v, want both files' problems", err)
			}
			opt := Options{URL: deadURL(t), CacheDir: dir, StartupWait: 200 * time.Millisecond}
			if tc.local {
				opt.LocalConfig = writeLocal(t)
			}
			c, rec, _ := newClient(t, opt)
			if got := c.Source(); got != tc.wantSource {
				t.Errorf("source %q, want %q", got, tc.wantSource)
			}
			if (c.Current() == nil) != (tc.wantSource == SourceNone) {
				t.Errorf("Current() = %v with source %q", c.Current(), tc.wantSource)
			}
			if len(rec.find("config cache unusable, trying the local file", nil)) != 1 {
				t.Errorf("unusable cache not logged:\n%s", rec.text())
			}
		})
	}
}

func TestClientStartsFromBak(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []int64{1, 2} {
		if err := WriteCache(dir, release(t, int(v), v)); err != nil {
			t.Fatal(err)
		}
	}
	main := filepath.Join(dir, CacheFileName)
	good, _ := os.ReadFile(main)
	if err := os.WriteFile(main, good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	c, rec, _ := newClient(t, Options{URL: deadURL(t), CacheDir: dir, LocalConfig: writeLocal(t),
		StartupWait: 100 * time.Millisecond})
	if st := c.Status(); st.Source != SourceCache || st.Version != 1 {
		t.Errorf("status %+v, want cache release 1 from the .bak", st)
	}
	if len(rec.find("config cache file damaged, using its backup", nil)) != 1 {
		t.Errorf("damage not logged:\n%s", rec.text())
	}
}

func TestNoCacheIsNotExist(t *testing.T) {
	if _, err := ReadCache(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty folder: %v, want os.ErrNotExist", err)
	}
}

package configclient

import (
	"strings"
	"testing"
)

func TestDecodeRelease(t *testing.T) {
	good := releaseBody(t, release(t, 1, 4))
	wrongHash := release(t, 1, 4)
	wrongHash.Hash = "sha256:" + strings.Repeat("a", 64)
	noVersion := release(t, 1, 0)
	noHash := release(t, 1, 4)
	noHash.Hash = ""
	empty := release(t, 1, 3)
	empty.Models, empty.Loras, empty.Workflows = nil, nil, nil
	if h, err := empty.ComputeHash(); err == nil {
		empty.Hash = h
	}
	cases := []struct {
		name    string
		body    []byte
		want    string // "" = accepted; else a part of the reason
		version int64  // the version the rejection names
	}{
		{"good", good, "", 0},
		{"good with white space", append(append([]byte("\n "), good...), '\n'), "", 0},
		{"empty", nil, "empty answer", 0},
		{"blank", []byte(" \n"), "empty answer", 0},
		{"html", []byte("<html><body>502</body></html>"), "not a JSON object", 0},
		{"json array", []byte("[1,2]"), "not a JSON object", 0},
		{"truncated", good[:len(good)-10], "truncated", 0},
		{"unknown top-level field", []byte(strings.Replace(string(good), `"models"`,
			`"release_notes":"x","models"`, 1)), "", 0},
		{"unknown field in a model", []byte(strings.Replace(string(good), `"display_name"`,
			`"extra":1,"display_name"`, 1)), `unknown field "extra"`, 4},
		{"wrong hash", releaseBody(t, wrongHash), "hash mismatch", 4},
		{"no hash", releaseBody(t, noHash), "carries no hash", 4},
		{"version 0", releaseBody(t, noVersion), "positive release number", 0},
		{"zero models", releaseBody(t, empty), "no models", 3},
		{"wrong type", []byte(strings.Replace(string(good), `"max_steps":`, `"max_steps":"x",
			"_":`, 1)), "invalid", 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := DecodeRelease(tc.body)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if snap.Version != 4 || snap.Hash == "" {
					t.Errorf("decoded version %d hash %q", snap.Version, snap.Hash)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %.80q", tc.body)
			}
			rj, ok := err.(*rejectError)
			if !ok {
				t.Fatalf("error %T %v, want a rejection", err, err)
			}
			if !strings.Contains(rj.reason, tc.want) || rj.version != tc.version {
				t.Errorf("rejection %q version %d, want %q version %d", rj.reason, rj.version,
					tc.want, tc.version)
			}
		})
	}
}

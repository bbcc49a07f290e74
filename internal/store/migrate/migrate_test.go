package migrate

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []Migration
		wantErr string
	}{
		{
			name: "ordered by number",
			files: fstest.MapFS{
				"m/0002_more.sql": {Data: []byte("B")},
				"m/0001_init.sql": {Data: []byte("A")},
			},
			want: []Migration{{1, "init", "A"}, {2, "more", "B"}},
		},
		{
			name:    "gap",
			files:   fstest.MapFS{"m/0001_a.sql": {}, "m/0003_c.sql": {}},
			wantErr: "expected version 2, found 3",
		},
		{
			name:    "duplicate",
			files:   fstest.MapFS{"m/0001_a.sql": {}, "m/001_b.sql": {}},
			wantErr: "expected version 2, found 1",
		},
		{
			name:    "bad name",
			files:   fstest.MapFS{"m/init.sql": {}},
			wantErr: "init.sql: name is not NNNN_name.sql",
		},
		{
			name:    "stray file",
			files:   fstest.MapFS{"m/README": {}},
			wantErr: "README: name is not",
		},
		{
			name:    "none",
			files:   fstest.MapFS{"m/sub/0001_x.sql": {}},
			wantErr: "none in m",
		},
		{
			name:    "missing folder",
			files:   fstest.MapFS{},
			wantErr: "reading migrations:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.files, "m")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Load() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckApplied(t *testing.T) {
	all := []Migration{{Version: 1}, {Version: 2}}
	for _, applied := range []int64{0, 1, 2} {
		if err := CheckApplied(all, applied); err != nil {
			t.Errorf("CheckApplied(%d) = %v, want nil", applied, err)
		}
	}
	if err := CheckApplied(all, 3); err == nil || !strings.Contains(err.Error(), "version 3") {
		t.Errorf("CheckApplied(3) = %v, want an error naming version 3", err)
	}
}

package settings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// env returns a lookup function over m.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestDefaults(t *testing.T) {
	got, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load with no environment: %v", err)
	}
	want := Settings{
		AdminAddr:    "127.0.0.1:8000",
		AdminDB:      "sqlite:data/admin.db",
		Addr:         "127.0.0.1:8080",
		ConfigURL:    "http://127.0.0.1:8000/api/admin/config-sync",
		CacheTTL:     300 * time.Second,
		SyncInterval: 60 * time.Second,
		StartupWait:  2 * time.Second,
		CacheDir:     "data/cache",
		LocalConfig:  "config/local_config.yaml",
		ComfyUIURLs:  []string{"http://127.0.0.1:8188"},
		ComfySimAddr: "127.0.0.1:8188",
		JobsMax:      1000,
		JobsTTL:      time.Hour,
		LogLevel:     "info",
		LogFormat:    "text",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestOverrides(t *testing.T) {
	got, err := Load(env(map[string]string{
		"ATELIER_ADMIN_ADDR":    ":9000",
		"ATELIER_ADMIN_DB":      "postgres://u@db/atelier",
		"ATELIER_ADDR":          " 0.0.0.0:80 ",
		"BACKEND_CONFIG_URL":    "https://admin.example/api/admin/config-sync/",
		"BACKEND_CONFIG_TOKEN":  "s3cret",
		"CONFIG_CACHE_TTL":      "300",
		"CONFIG_SYNC_INTERVAL":  "5m",
		"CONFIG_STARTUP_WAIT":   "0",
		"ATELIER_CACHE_DIR":     "/var/cache/atelier",
		"ATELIER_LOCAL_CONFIG":  "/etc/atelier/local_config.yaml",
		"COMFYUI_URL":           "http://gpu1:8188/, http://gpu2:8188,,",
		"ATELIER_COMFYSIM_ADDR": "127.0.0.1:18188",
		"ATELIER_LOG_LEVEL":     "DEBUG",
		"ATELIER_LOG_FORMAT":    "json",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Settings{
		AdminAddr:    ":9000",
		AdminDB:      "postgres://u@db/atelier",
		Addr:         "0.0.0.0:80",
		ConfigURL:    "https://admin.example/api/admin/config-sync",
		ConfigToken:  "s3cret",
		CacheTTL:     300 * time.Second,
		SyncInterval: 5 * time.Minute,
		StartupWait:  0,
		CacheDir:     "/var/cache/atelier",
		LocalConfig:  "/etc/atelier/local_config.yaml",
		ComfyUIURLs:  []string{"http://gpu1:8188", "http://gpu2:8188"},
		ComfyUISet:   true,
		ComfySimAddr: "127.0.0.1:18188",
		JobsMax:      1000,
		JobsTTL:      time.Hour,
		LogLevel:     "debug",
		LogFormat:    "json",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("overrides (-want +got):\n%s", diff)
	}
}

func TestEmptyConfigURLMeansLocalOnly(t *testing.T) {
	got, err := Load(env(map[string]string{"BACKEND_CONFIG_URL": ""}))
	if err != nil || got.ConfigURL != "" {
		t.Errorf("BACKEND_CONFIG_URL=\"\": ConfigURL = %q, err = %v; want empty, nil",
			got.ConfigURL, err)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	tests := []struct {
		name, value string
		want        string // the start of the one error line
	}{
		{"CONFIG_CACHE_TTL", "five minutes", `CONFIG_CACHE_TTL: "five minutes" is not a duration`},
		{"CONFIG_CACHE_TTL", "0", "CONFIG_CACHE_TTL: must be positive"},
		{"CONFIG_CACHE_TTL", "", `CONFIG_CACHE_TTL: "" is not a duration`},
		{"CONFIG_SYNC_INTERVAL", "-1s", "CONFIG_SYNC_INTERVAL: must be positive"},
		{"CONFIG_SYNC_INTERVAL", "-5", `CONFIG_SYNC_INTERVAL: "-5" is out of range`},
		{"CONFIG_STARTUP_WAIT", "-2s", "CONFIG_STARTUP_WAIT: must not be negative"},
		{"CONFIG_STARTUP_WAIT", "1.5", `CONFIG_STARTUP_WAIT: "1.5" is not a duration`},
		{"ATELIER_LOG_LEVEL", "loud", `ATELIER_LOG_LEVEL: "loud" is not debug, info, warn or error`},
		{"ATELIER_LOG_FORMAT", "xml", `ATELIER_LOG_FORMAT: "xml" is not text or json`},
		{"BACKEND_CONFIG_URL", "ftp://admin", `BACKEND_CONFIG_URL: "ftp://admin" is not an http(s) URL`},
		{"COMFYUI_URL", "http://ok:1,gpu2:8188", `COMFYUI_URL: "gpu2:8188" is not an http(s) URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := Load(env(map[string]string{tt.name: tt.value}))
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.name, tt.value)
			}
			// One line: a bad value is reported once, not again as a zero.
			if !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error = %q; want one line starting %q", err, tt.want)
			}
		})
	}
}

func TestEveryBadValueIsReported(t *testing.T) {
	_, err := Load(env(map[string]string{"CONFIG_CACHE_TTL": "x", "ATELIER_LOG_LEVEL": "loud",
		"COMFYUI_URL": "gpu"}))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, name := range []string{"CONFIG_CACHE_TTL", "ATELIER_LOG_LEVEL", "COMFYUI_URL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(env(map[string]string{"BACKEND_CONFIG_TOKEN_FILE": file}))
	if err != nil || got.ConfigToken != "from-file" {
		t.Errorf("token = %q, err = %v; want from-file", got.ConfigToken, err)
	}

	missing := filepath.Join(dir, "nope")
	_, err = Load(env(map[string]string{"BACKEND_CONFIG_TOKEN_FILE": missing}))
	if err == nil || !strings.HasPrefix(err.Error(), "BACKEND_CONFIG_TOKEN_FILE: ") ||
		!strings.Contains(err.Error(), missing) {
		t.Errorf("missing token file: %v; want an error naming the variable and the file", err)
	}

	_, err = Load(env(map[string]string{"BACKEND_CONFIG_TOKEN_FILE": file,
		"BACKEND_CONFIG_TOKEN": "direct"}))
	if err == nil || !strings.Contains(err.Error(), "both set") {
		t.Errorf("token and token file both set: %v; want a refusal", err)
	}

	got, err = Load(env(map[string]string{"BACKEND_CONFIG_TOKEN_FILE": "",
		"BACKEND_CONFIG_TOKEN": "direct"}))
	if err != nil || got.ConfigToken != "direct" {
		t.Errorf("empty _FILE: token = %q, err = %v; want direct", got.ConfigToken, err)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("ATELIER_CACHE_DIR", "/tmp/atelier-cache")
	t.Setenv("CONFIG_CACHE_TTL", "90")
	got, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if got.CacheDir != "/tmp/atelier-cache" || got.CacheTTL != 90*time.Second {
		t.Errorf("FromEnv: CacheDir %q, CacheTTL %v", got.CacheDir, got.CacheTTL)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"300", 300 * time.Second, true},
		{"0", 0, true},
		{"300s", 300 * time.Second, true},
		{"5m", 5 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{"250ms", 250 * time.Millisecond, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"ten", 0, false},
		{"99999999999999999999", 0, false},
		{"4611686018427387904", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestHelp(t *testing.T) {
	got := Help("ATELIER_LOCAL_CONFIG", "BACKEND_CONFIG_TOKEN", "NOT_A_SETTING")
	for _, want := range []string{
		"ATELIER_LOCAL_CONFIG", "(default: config/local_config.yaml)",
		"BACKEND_CONFIG_TOKEN", "(default: none)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Help lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "NOT_A_SETTING") || strings.Contains(got, "ATELIER_ADDR") {
		t.Errorf("Help lists a variable it was not asked for:\n%s", got)
	}
}

func TestVarsCoverEverySetting(t *testing.T) {
	// Every default must itself load: a typo in Vars would stop every
	// process at start-up.
	m := map[string]string{}
	for _, v := range Vars {
		m[v.Name] = v.Default
	}
	if _, err := Load(env(m)); err != nil {
		t.Errorf("the defaults, set explicitly, do not load: %v", err)
	}
	// DESIGN §1's 14, plus ATELIER_JOBS_MAX and ATELIER_JOBS_TTL (issue 6).
	if len(Vars) != 16 {
		t.Errorf("Vars lists %d variables; want DESIGN §1's 14 plus the 2 job settings", len(Vars))
	}
}

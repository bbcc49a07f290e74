// Package settings reads Atelier's process settings from the environment:
// one typed struct with defaults, environment overrides, *_FILE variants
// for secrets and one validation step. Nothing here is global or mutable.
package settings

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Settings are every process setting of DESIGN §1. Each field's comment
// names its variable and default.
type Settings struct {
	// AdminAddr is the admin listen address. ATELIER_ADMIN_ADDR, default 127.0.0.1:8000.
	AdminAddr string
	// AdminDB is "sqlite:PATH" or a postgres:// URL. ATELIER_ADMIN_DB, default sqlite:data/admin.db.
	AdminDB string
	// Addr is the main service listen address. ATELIER_ADDR, default 127.0.0.1:8080.
	Addr string
	// ConfigURL is the admin sync API base; empty means local file only.
	// BACKEND_CONFIG_URL, default http://127.0.0.1:8000/api/admin/config-sync.
	ConfigURL string
	// ConfigToken is the sync API bearer token. BACKEND_CONFIG_TOKEN or
	// BACKEND_CONFIG_TOKEN_FILE, default none.
	ConfigToken string
	// CacheTTL is the age after which the applied config counts as stale.
	// CONFIG_CACHE_TTL, default 300s.
	CacheTTL time.Duration
	// SyncInterval is the full conditional re-fetch period. CONFIG_SYNC_INTERVAL, default 60s.
	SyncInterval time.Duration
	// StartupWait is the longest start-up wait for the admin service.
	// CONFIG_STARTUP_WAIT, default 2s.
	StartupWait time.Duration
	// CacheDir is where the config client keeps its verified cache.
	// ATELIER_CACHE_DIR, default data/cache.
	CacheDir string
	// LocalConfig is the local config file, the floor of the fallback.
	// ATELIER_LOCAL_CONFIG, default config/local_config.yaml.
	LocalConfig string
	// ComfyUIURLs are the ComfyUI base URLs. COMFYUI_URL (comma-separated),
	// default http://127.0.0.1:8188.
	ComfyUIURLs []string
	// ComfyUISet reports whether COMFYUI_URL was set to something.
	ComfyUISet bool
	// ComfySimAddr is the simulator listen address. ATELIER_COMFYSIM_ADDR, default 127.0.0.1:8188.
	ComfySimAddr string
	// JobsMax bounds the generation jobs kept in memory. ATELIER_JOBS_MAX, default 1000.
	JobsMax int
	// JobsTTL is how long a finished job is kept. ATELIER_JOBS_TTL, default 1h.
	JobsTTL time.Duration
	// LogLevel is debug, info, warn or error. ATELIER_LOG_LEVEL, default info.
	LogLevel string
	// LogFormat is text or json. ATELIER_LOG_FORMAT, default text.
	LogFormat string
}

// Var describes one environment variable, for help texts and the README.
type Var struct {
	Name, Default, Meaning string
}

// Vars lists every variable Settings reads, in the order of DESIGN §1.
var Vars = []Var{
	{"ATELIER_ADMIN_ADDR", "127.0.0.1:8000", "admin listen address"},
	{"ATELIER_ADMIN_DB", "sqlite:data/admin.db", "sqlite:PATH or a postgres:// URL"},
	{"ATELIER_ADDR", "127.0.0.1:8080", "main service listen address"},
	{"BACKEND_CONFIG_URL", "http://127.0.0.1:8000/api/admin/config-sync",
		"admin sync API base; empty = local file only"},
	{"BACKEND_CONFIG_TOKEN", "", "bearer token for the sync API (BACKEND_CONFIG_TOKEN_FILE reads it from a file)"},
	{"CONFIG_CACHE_TTL", "300s", "age after which the applied config counts as stale"},
	{"CONFIG_SYNC_INTERVAL", "60s", "full conditional re-fetch period"},
	{"CONFIG_STARTUP_WAIT", "2s", "longest start-up wait for the admin service"},
	{"ATELIER_CACHE_DIR", "data/cache", "where the config client keeps its verified cache"},
	{"ATELIER_LOCAL_CONFIG", "config/local_config.yaml", "the local config file (the floor)"},
	{"COMFYUI_URL", "http://127.0.0.1:8188", "one or more ComfyUI base URLs, comma-separated"},
	{"ATELIER_COMFYSIM_ADDR", "127.0.0.1:8188", "simulator listen address"},
	{"ATELIER_JOBS_MAX", "1000", "generation jobs kept in memory (a restart forgets them)"},
	{"ATELIER_JOBS_TTL", "1h", "how long a finished job is kept"},
	{"ATELIER_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"ATELIER_LOG_FORMAT", "text", "text or json"},
}

// FromEnv reads the settings from the process environment.
func FromEnv() (Settings, error) { return Load(os.LookupEnv) }

// Load reads the settings through lookup, applies defaults and validates
// them. An error names the variable that is wrong.
func Load(lookup func(string) (string, bool)) (Settings, error) {
	get := func(name string) string {
		if v, ok := lookup(name); ok {
			return strings.TrimSpace(v)
		}
		return defaultOf(name)
	}
	var errs []error
	dur := func(name string) time.Duration {
		d, err := ParseDuration(get(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			// Validate would report the zero value again; keep the default.
			d, _ = ParseDuration(defaultOf(name))
		}
		return d
	}
	s := Settings{
		AdminAddr:    get("ATELIER_ADMIN_ADDR"),
		AdminDB:      get("ATELIER_ADMIN_DB"),
		Addr:         get("ATELIER_ADDR"),
		ConfigURL:    strings.TrimRight(get("BACKEND_CONFIG_URL"), "/"),
		CacheTTL:     dur("CONFIG_CACHE_TTL"),
		SyncInterval: dur("CONFIG_SYNC_INTERVAL"),
		StartupWait:  dur("CONFIG_STARTUP_WAIT"),
		JobsTTL:      dur("ATELIER_JOBS_TTL"),
		CacheDir:     get("ATELIER_CACHE_DIR"),
		LocalConfig:  get("ATELIER_LOCAL_CONFIG"),
		ComfySimAddr: get("ATELIER_COMFYSIM_ADDR"),
		LogLevel:     strings.ToLower(get("ATELIER_LOG_LEVEL")),
		LogFormat:    strings.ToLower(get("ATELIER_LOG_FORMAT")),
	}
	if n, err := strconv.Atoi(get("ATELIER_JOBS_MAX")); err != nil || n < 1 {
		errs = append(errs, fmt.Errorf("ATELIER_JOBS_MAX: %q is not a positive whole number",
			get("ATELIER_JOBS_MAX")))
	} else {
		s.JobsMax = n
	}
	// An empty COMFYUI_URL counts as unset: `atelier up` then runs the simulator.
	if v, ok := lookup("COMFYUI_URL"); ok && strings.TrimSpace(v) != "" {
		s.ComfyUISet = true
	}
	for _, u := range strings.Split(get("COMFYUI_URL"), ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			s.ComfyUIURLs = append(s.ComfyUIURLs, u)
		}
	}
	tok, err := secret(lookup, "BACKEND_CONFIG_TOKEN")
	if err != nil {
		errs = append(errs, err)
	}
	s.ConfigToken = tok
	if err := s.Validate(); err != nil {
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}

// defaultOf returns the default of the variable name.
func defaultOf(name string) string {
	for _, v := range Vars {
		if v.Name == name {
			return v.Default
		}
	}
	return ""
}

// secret reads NAME, or the file NAME_FILE names (trailing newline trimmed).
func secret(lookup func(string) (string, bool), name string) (string, error) {
	if file, ok := lookup(name + "_FILE"); ok && file != "" {
		if _, both := lookup(name); both {
			return "", fmt.Errorf("%s and %s_FILE are both set; set one", name, name)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	v, _ := lookup(name)
	return v, nil
}

// Validate checks the values that parsing alone does not.
func (s Settings) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"CONFIG_CACHE_TTL", s.CacheTTL}, {"CONFIG_SYNC_INTERVAL", s.SyncInterval}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", d.name))
		}
	}
	if s.StartupWait < 0 {
		errs = append(errs, errors.New("CONFIG_STARTUP_WAIT: must not be negative"))
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("ATELIER_LOG_LEVEL: %q is not debug, info, warn or error",
			s.LogLevel))
	}
	switch s.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("ATELIER_LOG_FORMAT: %q is not text or json", s.LogFormat))
	}
	if s.ConfigURL != "" && !strings.HasPrefix(s.ConfigURL, "http://") &&
		!strings.HasPrefix(s.ConfigURL, "https://") {
		errs = append(errs, fmt.Errorf("BACKEND_CONFIG_URL: %q is not an http(s) URL", s.ConfigURL))
	}
	for _, u := range s.ComfyUIURLs {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			errs = append(errs, fmt.Errorf("COMFYUI_URL: %q is not an http(s) URL", u))
		}
	}
	return errors.Join(errs...)
}

// ParseDuration accepts Go durations ("300s", "5m") and bare integers as
// seconds ("300"), as the brief writes them.
func ParseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > int64(1<<62/time.Second) {
			return 0, fmt.Errorf("%q is out of range", v)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 300s, 5m or 300", v)
	}
	return d, nil
}

// Help writes the variables named to a help text, with their defaults.
func Help(names ...string) string {
	var b strings.Builder
	b.WriteString("Settings (environment):\n")
	for _, n := range names {
		for _, v := range Vars {
			if v.Name != n {
				continue
			}
			def := v.Default
			if def == "" {
				def = "none"
			}
			fmt.Fprintf(&b, "  %-22s %s (default: %s)\n", v.Name, v.Meaning, def)
		}
	}
	return b.String()
}

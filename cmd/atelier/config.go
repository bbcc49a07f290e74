package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atelier-dev/atelier/internal/backup"
	"github.com/atelier-dev/atelier/internal/config"
	"github.com/atelier-dev/atelier/internal/configclient"
	"github.com/atelier-dev/atelier/internal/settings"
)

func init() {
	register(command{name: "config", summary: "config manager: init, validate, backup, restore, " +
		"diff, sync",
		run: runConfig})
}

var configSubs = [][2]string{
	{"init", "write a commented local_config.yaml and workflow templates"},
	{"validate", "check a config file and print every problem"},
	{"backup", "archive the local config, its templates and the client cache"},
	{"restore", "restore a backup archive after validating it"},
	{"diff", "list what changed between two configs (files, backend or cache)"},
	{"sync", "pull the current release from the admin service into the cache"},
}

func runConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args[:1]) {
		subcommandUsage(stdout, "config", configSubs)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	set, err := settings.FromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "atelier config: %v\n", err)
		return 2
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "init":
		return configInit(rest, set, stdout, stderr)
	case "validate":
		return configValidate(rest, set, stdout, stderr)
	case "backup":
		return configBackup(rest, set, stdout, stderr)
	case "restore":
		return configRestore(rest, set, stdout, stderr)
	case "diff":
		return configDiff(rest, set, stdout, stderr)
	case "sync":
		return configSync(rest, set, stdout, stderr)
	}
	fmt.Fprintf(stderr, "atelier config: unknown subcommand %q\n\n", sub)
	subcommandUsage(stderr, "config", configSubs)
	return 2
}

// newFlags returns a flag set whose usage prints a synopsis, the flags and
// the settings named.
func newFlags(name, synopsis string, stdout io.Writer, vars ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: atelier %s %s\n", name, synopsis)
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(stdout, "\nFlags:")
			fs.PrintDefaults()
		}
		if len(vars) > 0 {
			fmt.Fprintln(stdout)
			fmt.Fprint(stdout, settings.Help(vars...))
		}
	}
	return fs
}

// parseFlags parses args, accepting flags after positional arguments too.
// It returns the positional arguments, and an exit status when the caller
// should stop (0 after --help, 2 on a usage error).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, int, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, true
			}
			fmt.Fprintf(stderr, "atelier %s: %v\n", fs.Name(), err)
			return nil, 2, true
		}
		if fs.NArg() == 0 {
			return pos, 0, false
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func configInit(args []string, set settings.Settings, stdout, stderr io.Writer) int {
	fs := newFlags("config init", "[--dir D] [--force]", stdout, "ATELIER_LOCAL_CONFIG")
	dir := fs.String("dir", filepath.Dir(set.LocalConfig), "folder to write the config into")
	force := fs.Bool("force", false, "overwrite existing files")
	pos, code, stop := parseFlags(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "atelier config init: unexpected argument %q (use --dir)\n", pos[0])
		return 2
	}
	if strings.TrimSpace(*dir) == "" {
		fmt.Fprintln(stderr, "atelier config init: --dir is empty; name a folder (. for this one)")
		return 2
	}
	written, err := config.WriteStarter(*dir, *force)
	if err != nil {
		fmt.Fprintf(stderr, "atelier config init: %v\n", err)
		return 1
	}
	for _, p := range written {
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	fmt.Fprintf(stdout, "next: atelier config validate %s\n",
		filepath.Join(*dir, config.LocalConfigName))
	return 0
}

// validateReport is `config validate --json`'s output.
type validateReport struct {
	File     string           `json:"file"`
	Valid    bool             `json:"valid"`
	Hash     string           `json:"hash,omitempty"`
	Counts   map[string]int   `json:"counts,omitempty"`
	Problems config.Problems  `json:"problems"`
	Snapshot *config.Snapshot `json:"-"`
}

func configValidate(args []string, set settings.Settings, stdout, stderr io.Writer) int {
	fs := newFlags("config validate", "[--json] [FILE|backend|cache]\n\n"+
		"backend is the admin service's current release, cache the client cache; a file\n"+
		"of either name is ./backend or ./cache.", stdout,
		"ATELIER_LOCAL_CONFIG", "BACKEND_CONFIG_URL", "BACKEND_CONFIG_TOKEN", "ATELIER_CACHE_DIR")
	asJSON := fs.Bool("json", false, "print a machine-readable report")
	pos, code, stop := parseFlags(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) > 1 {
		fmt.Fprintln(stderr, "atelier config validate: give at most one file")
		return 2
	}
	file := set.LocalConfig
	if len(pos) == 1 {
		file = pos[0]
	}
	rep := validateReport{File: file, Problems: config.Problems{}}
	s, err := loadConfigSource(file, set)
	var ps config.Problems
	switch {
	case errors.As(err, &ps):
		rep.Problems = ps
	case err != nil:
		rep.Problems = config.Problems{{Message: err.Error()}}
	default:
		rep.Valid = true
		rep.Hash, err = s.ComputeHash()
		if err != nil {
			rep.Valid = false
			rep.Problems = config.Problems{{File: file, Message: err.Error()}}
		}
		rep.Counts = map[string]int{"models": len(s.Models), "loras": len(s.Loras),
			"workflows": len(s.Workflows)}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else if rep.Valid {
		fmt.Fprintf(stdout, "ok: %s: %d models, %d loras, %d workflows; %s\n", file,
			rep.Counts["models"], rep.Counts["loras"], rep.Counts["workflows"], rep.Hash)
	} else if !errors.As(err, &ps) {
		// Not a verdict on the config: it could not be read or fetched.
		fmt.Fprintf(stderr, "atelier config validate: %v\n", err)
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintln(stderr, p.String())
		}
		fmt.Fprintf(stderr, "%s: %d problem(s); the config is not valid\n", file, len(rep.Problems))
	}
	if !rep.Valid {
		return 1
	}
	return 0
}

func configBackup(args []string, set settings.Settings, stdout, stderr io.Writer) int {
	fs := newFlags("config backup", "[--out FILE] [--config FILE] [--cache-dir D]", stdout,
		"ATELIER_LOCAL_CONFIG", "ATELIER_CACHE_DIR")
	out := fs.String("out", "", "archive to write (default: atelier-backup-<UTC time>.tar.gz)")
	cfg := fs.String("config", set.LocalConfig, "local config file to back up")
	cache := fs.String("cache-dir", set.CacheDir, "client cache folder to back up")
	pos, code, stop := parseFlags(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "atelier config backup: unexpected argument %q\n", pos[0])
		return 2
	}
	now := time.Now()
	if *out == "" {
		*out = backup.DefaultName(now)
	}
	if _, err := os.Stat(*out); err == nil {
		fmt.Fprintf(stderr, "atelier config backup: %s exists; choose another --out\n", *out)
		return 1
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "atelier config backup: %v\n", err)
		return 1
	}
	m, err := backup.Create(f, backup.Sources{LocalConfig: *cfg, CacheDir: *cache}, now)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		fmt.Fprintf(stderr, "atelier config backup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: %d files", *out, len(m.Files))
	if m.ConfigHash != "" {
		fmt.Fprintf(stdout, ", config %s", m.ConfigHash)
	} else {
		fmt.Fprint(stdout, ", config does not validate (backed up as is)")
	}
	fmt.Fprintln(stdout)
	return 0
}

func configRestore(args []string, set settings.Settings, stdout, stderr io.Writer) int {
	fs := newFlags("config restore", "FILE [--config FILE] [--cache-dir D]", stdout,
		"ATELIER_LOCAL_CONFIG", "ATELIER_CACHE_DIR")
	cfg := fs.String("config", set.LocalConfig, "local config file to restore into")
	cache := fs.String("cache-dir", set.CacheDir, "client cache folder to restore into")
	pos, code, stop := parseFlags(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "atelier config restore: give one archive file")
		return 2
	}
	f, err := os.Open(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "atelier config restore: %v\n", err)
		return 1
	}
	defer f.Close()
	fmt.Fprintf(stdout, "restoring into config %s and cache folder %s\n", *cfg, *cache)
	// Ctrl-C stops between two files, never inside one.
	ctx, stopSignals := signalContext()
	defer stopSignals()
	res, err := backup.Restore(ctx, f, backup.Targets{LocalConfig: *cfg, CacheDir: *cache})
	if res != nil {
		for _, p := range res.Written {
			fmt.Fprintf(stdout, "restored %s\n", p)
		}
		for _, p := range res.BackedUp {
			fmt.Fprintf(stdout, "kept previous file as %s\n", p)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "atelier config restore: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored config %s\n", res.ConfigHash)
	return 0
}

func configDiff(args []string, set settings.Settings, stdout, stderr io.Writer) int {
	fs := newFlags("config diff", "[--json] A B   (each a file, backend or cache)", stdout,
		"BACKEND_CONFIG_URL", "BACKEND_CONFIG_TOKEN", "ATELIER_CACHE_DIR")
	asJSON := fs.Bool("json", false, "print the structured diff as JSON")
	pos, code, stop := parseFlags(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) != 2 {
		fmt.Fprintln(stderr, "atelier config diff: give two configs, A and B")
		return 2
	}
	var snaps [2]*config.Snapshot
	for i, file := range pos {
		s, err := loadConfigSource(file, set)
		if err != nil {
			fmt.Fprintf(stderr, "atelier config diff: %v\n", err)
			return 1
		}
		snaps[i] = s
	}
	d, err := config.Compare(snaps[0], snaps[1])
	if err != nil {
		fmt.Fprintf(stderr, "atelier config diff: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(d)
		return 0
	}
	printDiff(stdout, d)
	return 0
}

func printDiff(w io.Writer, d config.Diff) {
	if d.Empty() {
		fmt.Fprintln(w, "no changes")
		return
	}
	for _, sec := range []struct {
		name string
		d    config.SectionDiff
	}{{"models", d.Models}, {"loras", d.Loras}, {"workflows", d.Workflows}} {
		if len(sec.d.Added)+len(sec.d.Removed)+len(sec.d.Changed) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s:\n", sec.name)
		for _, n := range sec.d.Added {
			fmt.Fprintf(w, "  + %s (added)\n", n)
		}
		for _, n := range sec.d.Removed {
			fmt.Fprintf(w, "  - %s (removed)\n", n)
		}
		for _, c := range sec.d.Changed {
			fmt.Fprintf(w, "  ~ %s:\n", c.Name)
			for _, f := range c.Fields {
				fmt.Fprintf(w, "      %s: %s -> %s\n", f.Field, short(f.Before), short(f.After))
			}
		}
	}
	if len(d.ImageGen) > 0 {
		fmt.Fprintln(w, "image_gen:")
		for _, f := range d.ImageGen {
			fmt.Fprintf(w, "  ~ %s: %s -> %s\n", f.Field, short(f.Before), short(f.After))
		}
	}
}

// short abbreviates a long JSON value such as a whole workflow graph.
func short(b json.RawMessage) string {
	s := string(b)
	if len(s) <= 80 {
		return s
	}
	return fmt.Sprintf("%s… (%d bytes)", strings.TrimSpace(s[:60]), len(s))
}

// loadConfigSource loads a config file, or the admin service's current
// release for "backend", or the client cache for "cache". A file of either
// name is reached as ./backend or ./cache.
func loadConfigSource(name string, set settings.Settings) (*config.Snapshot, error) {
	switch name {
	case "backend":
		if set.ConfigURL == "" {
			return nil, errors.New("backend: BACKEND_CONFIG_URL is empty")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := configclient.FetchRelease(ctx, set.ConfigURL, set.ConfigToken)
		if err != nil {
			return nil, fmt.Errorf("backend %s: %w", set.ConfigURL, err)
		}
		return s, nil
	case "cache":
		s, err := configclient.ReadCache(set.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("cache %s: %w", set.CacheDir, err)
		}
		return s, nil
	}
	return config.Load(name)
}

func configSync(args []string, set settings.Settings, stdout, stderr io.Writer) int {
	fs := newFlags("config sync", "[--write-local DIR]", stdout, "BACKEND_CONFIG_URL",
		"BACKEND_CONFIG_TOKEN", "ATELIER_CACHE_DIR")
	url := fs.String("url", set.ConfigURL, "sync API base URL")
	cache := fs.String("cache-dir", set.CacheDir, "client cache folder to write")
	local := fs.String("write-local", "", "also write the release as local_config.yaml "+
		"plus templates into this folder")
	pos, code, stop := parseFlags(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "atelier config sync: unexpected argument %q\n", pos[0])
		return 2
	}
	if *url == "" {
		fmt.Fprintln(stderr, "atelier config sync: no sync API URL (set BACKEND_CONFIG_URL or --url)")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := configclient.FetchRelease(ctx, *url, set.ConfigToken)
	if err != nil {
		fmt.Fprintf(stderr, "atelier config sync: %v\n", err)
		return 1
	}
	if err := os.MkdirAll(*cache, 0o755); err != nil {
		fmt.Fprintf(stderr, "atelier config sync: %v\n", err)
		return 1
	}
	if err := configclient.WriteCache(*cache, s); err != nil {
		fmt.Fprintf(stderr, "atelier config sync: writing cache: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "release %d (%s) written to cache %s\n", s.Version, s.Hash, *cache)
	if *local != "" {
		written, err := config.WriteLocal(*local, s, config.SyncHeader(s, time.Now()))
		if err != nil {
			fmt.Fprintf(stderr, "atelier config sync: writing local config: %v\n", err)
			return 1
		}
		for _, p := range written {
			fmt.Fprintf(stdout, "wrote %s\n", p)
		}
	}
	return 0
}

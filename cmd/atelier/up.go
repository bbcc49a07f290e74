package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/atelier-dev/atelier/internal/admin"
	"github.com/atelier-dev/atelier/internal/comfysim"
	"github.com/atelier-dev/atelier/internal/config"
	"github.com/atelier-dev/atelier/internal/settings"
)

func init() {
	register(command{name: "up", summary: "run everything on this machine: admin, serve " +
		"(and the ComfyUI simulator when COMFYUI_URL is not set)", run: runUp})
}

func runUp(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("up", "[--data DIR]\n\nUnder up, ATELIER_ADMIN_DB, ATELIER_CACHE_DIR and "+
		"ATELIER_LOCAL_CONFIG default to\npaths under --data, and BACKEND_CONFIG_URL follows "+
		"ATELIER_ADMIN_ADDR.\nATELIER_ADMIN_PASSWORD sets the first admin's password (else one "+
		"is generated\nand printed once).", stdout,
		"ATELIER_ADMIN_ADDR", "ATELIER_ADMIN_DB", "ATELIER_ADDR", "BACKEND_CONFIG_URL",
		"BACKEND_CONFIG_TOKEN", "CONFIG_CACHE_TTL", "CONFIG_SYNC_INTERVAL", "CONFIG_STARTUP_WAIT",
		"ATELIER_CACHE_DIR", "ATELIER_LOCAL_CONFIG", "COMFYUI_URL", "ATELIER_COMFYSIM_ADDR",
		"ATELIER_JOBS_MAX", "ATELIER_JOBS_TTL", "ATELIER_LOG_LEVEL", "ATELIER_LOG_FORMAT")
	data := fs.String("data", "data", "folder for the admin database, cache and local config")
	pos, code, stop := parseFlags(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "atelier up: unexpected argument %q\n", pos[0])
		return 2
	}
	set, err := upSettings(*data)
	if err != nil {
		fmt.Fprintf(stderr, "atelier up: %v\n", err)
		return 2
	}
	ctx, cancel := signalContext()
	defer cancel()
	log := newLogger(stderr, set)
	slog.SetDefault(log)
	if err := up(ctx, log, set, os.Getenv("ATELIER_ADMIN_PASSWORD"), stdout); err != nil {
		log.Error("atelier up stopped", "err", err)
		return 1
	}
	return 0
}

// upSettings reads the settings, placing under data what the user did not
// set, and deriving the sync URL from the admin address.
func upSettings(data string) (settings.Settings, error) {
	lookup := func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		switch name {
		case "ATELIER_ADMIN_DB":
			return "sqlite:" + filepath.Join(data, "admin.db"), true
		case "ATELIER_CACHE_DIR":
			return filepath.Join(data, "cache"), true
		case "ATELIER_LOCAL_CONFIG":
			return filepath.Join(data, "config", config.LocalConfigName), true
		case "BACKEND_CONFIG_URL":
			addr := os.Getenv("ATELIER_ADMIN_ADDR")
			if addr == "" {
				addr = "127.0.0.1:8000"
			}
			return "http://" + addr + "/api/admin/config-sync", true
		}
		return "", false
	}
	return settings.Load(lookup)
}

// up runs the admin service, the main service and, without COMFYUI_URL,
// the simulator, until ctx ends or one of them fails.
func up(ctx context.Context, log *slog.Logger, set settings.Settings, password string,
	stdout io.Writer) error {
	if err := ensureLocalConfig(set.LocalConfig, log); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4) // three servers and the seeding: no send may block
	run := func(name string, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	if !set.ComfyUISet {
		ln, err := net.Listen("tcp", set.ComfySimAddr)
		if err != nil {
			return fmt.Errorf("simulator: listening on %s: %w", set.ComfySimAddr, err)
		}
		set.ComfyUIURLs = []string{"http://" + ln.Addr().String()}
		log.Warn("COMFYUI_URL is not set: starting the ComfyUI simulator, which makes "+
			"placeholder images, not real ones", "comfyui_url", set.ComfyUIURLs[0])
		inv := upInventory()
		// 50 ms a step: a 20-step image takes a second, long enough to see
		// progress in the studio.
		sim := comfysim.New(comfysim.Options{Inventory: &inv, StepDelay: 50 * time.Millisecond,
			Logger: log.With("component", "comfysim")})
		run("simulator", func() error {
			defer sim.Close()
			return serveListener(ctx, log, "comfyui simulator", ln, sim, sim.Close)
		})
	}
	ready := make(chan struct{})
	var banner []string
	run("admin", func() error {
		return serveAdmin(ctx, log.With("component", "admin"), set.AdminAddr, set.AdminDB, "",
			adminHooks{seeds: true, ready: func(srv *admin.Server, st admin.Store) {
				defer close(ready)
				lines, err := seedUp(ctx, log, srv, st, set.LocalConfig, password)
				if err != nil {
					errc <- fmt.Errorf("seeding the admin service: %w", err)
					cancel()
				}
				banner = lines
			}})
	})
	select {
	case <-ready:
	case <-ctx.Done():
	}
	if ctx.Err() == nil {
		mainLn, err := net.Listen("tcp", set.Addr)
		if err != nil {
			cancel()
			wg.Wait()
			return fmt.Errorf("main service: listening on %s: %w", set.Addr, err)
		}
		run("main service", func() error {
			return serveMain(ctx, log.With("component", "serve"), set, mainLn)
		})
		fmt.Fprintf(stdout, "\nAtelier is up.\n  studio:        http://%s/\n"+
			"  admin console: http://%s/admin/\n  ComfyUI:       %s\n",
			set.Addr, set.AdminAddr, strings.Join(set.ComfyUIURLs, ", "))
		for _, l := range banner {
			fmt.Fprintln(stdout, "  "+l)
		}
		fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	}
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ensureLocalConfig writes the starter config where the main service looks
// for its local file, unless one is there.
func ensureLocalConfig(file string, log *slog.Logger) error {
	if _, err := os.Stat(file); err == nil {
		return nil
	}
	dir := filepath.Dir(file)
	if _, err := config.WriteStarter(dir, false); err != nil {
		return fmt.Errorf("writing starter config into %s: %w", dir, err)
	}
	log.Info("wrote the starter config", "local_config", file)
	return nil
}

// seedUp creates user admin and publishes the local config as version 1
// on a fresh admin database. It returns lines for the start-up banner.
func seedUp(ctx context.Context, log *slog.Logger, srv *admin.Server, st admin.Store,
	localConfig, password string) ([]string, error) {
	var lines []string
	n, err := st.CountUsers(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		shown := password == ""
		if shown {
			password = generatePassword()
		}
		if err := admin.CreateUser(ctx, st, "admin", admin.RoleAdmin, password, 0); err != nil {
			return nil, err
		}
		if shown {
			lines = append(lines, fmt.Sprintf("sign in as admin / %s (shown once; change it "+
				"in the console)", password))
		} else {
			lines = append(lines, "sign in as admin with ATELIER_ADMIN_PASSWORD")
		}
	}
	snap, err := config.Load(localConfig)
	if err != nil {
		return lines, err
	}
	v, published, err := srv.Seed(ctx, snap, "atelier up", "initial release from "+localConfig)
	if err != nil {
		return lines, err
	}
	if published {
		log.Info("published the local config as the first release", "release_version", v)
	}
	return lines, nil
}

func generatePassword() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// upInventory is what the simulator holds under `atelier up`: the files
// of the public example workflows and of the starter config.
func upInventory() comfysim.Inventory {
	inv := comfysim.DefaultInventory()
	inv.Checkpoints = append(inv.Checkpoints, "sd_xl_base_1.0.safetensors",
		"juggernautXL_v9.safetensors")
	inv.UNets = append(inv.UNets, "flux1-dev-fp8.safetensors")
	inv.LoRAs = append(inv.LoRAs, "flux/detail-tweaker.safetensors",
		"flux/film-grain.safetensors", "sdxl/pixel-art-xl.safetensors",
		"sdxl/add-detail-xl.safetensors")
	inv.VAEs = append(inv.VAEs, "ae.safetensors")
	inv.CLIPs = append(inv.CLIPs, "t5xxl_fp8_e4m3fn.safetensors", "clip_l.safetensors")
	for _, l := range []*[]string{&inv.Checkpoints, &inv.UNets, &inv.LoRAs, &inv.VAEs,
		&inv.CLIPs} {
		*l = dedupe(*l)
	}
	return inv
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

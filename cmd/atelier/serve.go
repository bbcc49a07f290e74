package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/atelier-dev/atelier/internal/api"
	"github.com/atelier-dev/atelier/internal/comfyui"
	"github.com/atelier-dev/atelier/internal/configclient"
	"github.com/atelier-dev/atelier/internal/jobs"
	"github.com/atelier-dev/atelier/internal/settings"
)

func init() {
	register(command{name: "serve", summary: "main service: public API, studio, config client",
		run: runServe})
}

var serveVars = []string{"ATELIER_ADDR", "BACKEND_CONFIG_URL", "BACKEND_CONFIG_TOKEN",
	"CONFIG_CACHE_TTL", "CONFIG_SYNC_INTERVAL", "CONFIG_STARTUP_WAIT", "ATELIER_CACHE_DIR",
	"ATELIER_LOCAL_CONFIG", "COMFYUI_URL", "ATELIER_LOG_LEVEL", "ATELIER_LOG_FORMAT"}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "[--addr A]", stdout, serveVars...)
	set, err := settings.FromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "atelier serve: %v\n", err)
		return 2
	}
	addr := fs.String("addr", set.Addr, "listen address")
	pos, code, stop := parseFlags(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "atelier serve: unexpected argument %q\n", pos[0])
		return 2
	}
	set.Addr = *addr
	ctx, cancel := signalContext()
	defer cancel()
	log := newLogger(stderr, set)
	slog.SetDefault(log)
	if err := serveMain(ctx, log, set, nil); err != nil {
		log.Error("main service stopped", "err", err)
		return 1
	}
	return 0
}

// poolTuning, when set, adjusts the ComfyUI pool's options before the main
// service starts it. The end-to-end tests shorten the pool's periods and
// timeouts with it (a lost job is otherwise noticed after a minute).
var poolTuning func(*comfyui.Options)

// serveMain runs the main service until ctx ends. A non-nil ln is used
// instead of listening on set.Addr.
func serveMain(ctx context.Context, log *slog.Logger, set settings.Settings,
	ln net.Listener) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	client, err := configclient.New(ctx, configclient.Options{
		URL: set.ConfigURL, Token: set.ConfigToken, CacheDir: set.CacheDir,
		LocalConfig: set.LocalConfig, CacheTTL: set.CacheTTL, SyncInterval: set.SyncInterval,
		StartupWait: set.StartupWait, Logger: log, Registerer: reg,
	})
	if err != nil {
		return err
	}
	defer client.Close()
	popts := comfyui.Options{Logger: log}
	if poolTuning != nil {
		poolTuning(&popts)
	}
	pool, err := comfyui.NewPool(set.ComfyUIURLs, popts)
	if err != nil {
		return err
	}
	defer pool.Close()
	go pool.Start(ctx) // the first health checks must not hold up serving config
	reg.MustRegister(poolCollector{pool})
	mgr := jobs.NewManager(jobs.Options{Pool: pool, Logger: log, MaxJobs: set.JobsMax,
		TTL: set.JobsTTL, Registerer: reg})
	srv := api.New(api.Options{Config: client, Logger: log, Registry: reg, Studio: studioFS(),
		Inventory: api.PoolInventory{Pool: pool}, Jobs: mgr})
	if ln == nil {
		return serveHTTP(ctx, log, "main service", set.Addr, srv.Handler(), nil)
	}
	return serveListener(ctx, log, "main service", ln, srv.Handler(), nil)
}

// poolCollector exports the ComfyUI pool's state as metrics at scrape time.
type poolCollector struct{ pool *comfyui.Pool }

var (
	backendUpDesc = prometheus.NewDesc("atelier_comfyui_backend_up",
		"Whether a ComfyUI backend passed its last health check.", []string{"backend"}, nil)
	inventoryDesc = prometheus.NewDesc("atelier_comfyui_inventory_files",
		"Model files a ComfyUI backend lists.", []string{"backend"}, nil)
	inFlightDesc = prometheus.NewDesc("atelier_comfyui_jobs_in_flight",
		"Jobs this service follows on a ComfyUI backend.", []string{"backend"}, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backendUpDesc
	ch <- inventoryDesc
	ch <- inFlightDesc
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.pool.Backends() {
		up := 0.0
		if b.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(backendUpDesc, prometheus.GaugeValue, up, b.URL)
		ch <- prometheus.MustNewConstMetric(inventoryDesc, prometheus.GaugeValue,
			float64(b.Inventory.Size()), b.URL)
		ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue,
			float64(b.InFlight), b.URL)
	}
}

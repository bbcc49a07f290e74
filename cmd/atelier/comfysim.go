package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/atelier-dev/atelier/internal/comfysim"
)

func init() {
	register(command{
		name:    "comfysim",
		summary: "run the ComfyUI protocol simulator (no GPU, no real images)",
		run:     runComfysim,
	})
}

const comfysimDefaultAddr = "127.0.0.1:8188"

// comfysimSettings are the simulator's flags after parsing.
type comfysimSettings struct {
	addr      string
	inventory string
	models    string
	unets     string
	loras     string
	vaes      string
	clips     string
	stepDelay time.Duration
	outputDir string
	combo     string
}

func runComfysim(args []string, stdout, stderr io.Writer) int {
	set, fs, err := parseComfysimFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		comfysimUsage(fs)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "atelier comfysim: %v\n", err)
		return 2
	}
	inv, err := set.buildInventory()
	if err != nil {
		fmt.Fprintf(stderr, "atelier comfysim: %v\n", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	sim := comfysim.New(comfysim.Options{Inventory: &inv, StepDelay: set.stepDelay,
		OutputDir: set.outputDir, ComboEncoding: comfysim.ComboEncoding(set.combo), Logger: log})
	defer sim.Close()

	ln, err := net.Listen("tcp", set.addr)
	if err != nil {
		fmt.Fprintf(stderr, "atelier comfysim: listening on %s: %v\n", set.addr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveComfysim(ctx, ln, sim, log, stdout)
}

// serveComfysim serves until ctx ends, then shuts down: the simulator's
// WebSockets are closed first, since http.Server.Shutdown does not wait for
// hijacked connections.
func serveComfysim(ctx context.Context, ln net.Listener, sim *comfysim.Server,
	log *slog.Logger, stdout io.Writer) int {
	fmt.Fprintf(stdout, "comfysim listening on http://%s\n", ln.Addr())
	if err := serveListener(ctx, log, "comfysim", ln, sim, sim.Close); err != nil {
		log.Error("comfysim server stopped", "err", err)
		return 1
	}
	return 0
}

func parseComfysimFlags(args []string) (comfysimSettings, *flag.FlagSet, error) {
	var set comfysimSettings
	fs := flag.NewFlagSet("atelier comfysim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := os.Getenv("ATELIER_COMFYSIM_ADDR")
	if addr == "" {
		addr = comfysimDefaultAddr
	}
	fs.StringVar(&set.addr, "addr", addr,
		"listen address (env ATELIER_COMFYSIM_ADDR)")
	fs.StringVar(&set.inventory, "inventory", "",
		"JSON inventory file: {\"checkpoints\": [...], \"unets\", \"loras\", \"vaes\", \"clips\"}")
	fs.StringVar(&set.models, "models", "", "comma-separated checkpoint files to add")
	fs.StringVar(&set.unets, "unets", "", "comma-separated diffusion model (UNET) files to add")
	fs.StringVar(&set.loras, "loras", "", "comma-separated LoRA files to add")
	fs.StringVar(&set.vaes, "vaes", "", "comma-separated VAE files to add")
	fs.StringVar(&set.clips, "clips", "", "comma-separated text encoder (CLIP) files to add")
	fs.DurationVar(&set.stepDelay, "step-delay", 50*time.Millisecond, "time each sampler step takes")
	fs.StringVar(&set.outputDir, "output-dir", "",
		"folder for generated images (empty: keep the newest 2000 in memory)")
	fs.StringVar(&set.combo, "combo-encoding", "",
		"object_info combo form: empty (mixed, like ComfyUI), \"list\" or \"combo\"")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err == nil && set.stepDelay < 0 {
		err = fmt.Errorf("--step-delay: %s is negative", set.stepDelay)
	}
	switch comfysim.ComboEncoding(set.combo) {
	case comfysim.ComboMixed, comfysim.ComboList, comfysim.ComboTyped:
	default:
		if err == nil {
			err = fmt.Errorf("--combo-encoding: %q is not one of \"\", \"list\", \"combo\"", set.combo)
		}
	}
	return set, fs, err
}

// buildInventory starts from the file when given, else from the default
// inventory when no list flag is given, else from nothing; the list flags
// add to it.
func (set comfysimSettings) buildInventory() (comfysim.Inventory, error) {
	var inv comfysim.Inventory
	lists := set.models + set.unets + set.loras + set.vaes + set.clips
	switch {
	case set.inventory != "":
		var err error
		if inv, err = comfysim.LoadInventory(set.inventory); err != nil {
			return inv, err
		}
	case lists == "":
		inv = comfysim.DefaultInventory()
	}
	inv.Checkpoints = append(inv.Checkpoints, comfysimSplitList(set.models)...)
	inv.UNets = append(inv.UNets, comfysimSplitList(set.unets)...)
	inv.LoRAs = append(inv.LoRAs, comfysimSplitList(set.loras)...)
	inv.VAEs = append(inv.VAEs, comfysimSplitList(set.vaes)...)
	inv.CLIPs = append(inv.CLIPs, comfysimSplitList(set.clips)...)
	return inv, nil
}

func comfysimSplitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func comfysimUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintln(w, "Usage: atelier comfysim [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Runs a ComfyUI protocol simulator for tests and GPU-less trials. It answers")
	fmt.Fprintln(w, "ComfyUI's HTTP and WebSocket API with ComfyUI's validation and errors, and")
	fmt.Fprintln(w, "draws cheap pattern PNGs: it produces no real images.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Without --inventory or a list flag it holds the model files of the public")
	fmt.Fprintln(w, "example workflows. Test controls: GET|POST /sim/faults, POST /sim/restart,")
	fmt.Fprintln(w, "GET|PUT /sim/inventory, GET|POST /sim/step-delay.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Flags:")
	fs.VisitAll(func(f *flag.Flag) {
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%-15s %s (default %s)\n", f.Name, f.Usage, def)
	})
}

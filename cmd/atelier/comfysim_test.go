package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/comfysim"
	"github.com/google/go-cmp/cmp"
)

func TestComfysimHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"comfysim", "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, &stderr)
	}
	for _, want := range []string{
		"produces no real images",
		"--addr            listen address (env ATELIER_COMFYSIM_ADDR) (default 127.0.0.1:8188)",
		"--step-delay      time each sampler step takes (default 50ms)",
		"--inventory", "--models", "--loras", "/sim/faults",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, &stdout)
		}
	}
}

func TestComfysimBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"--gpu"}, 2, "flag provided but not defined: -gpu"},
		{"negative step delay", []string{"--step-delay", "-1s"}, 2, "--step-delay: -1s is negative"},
		{"bad combo encoding", []string{"--combo-encoding", "yaml"}, 2,
			`--combo-encoding: "yaml" is not one of "", "list", "combo"`},
		{"stray argument", []string{"now"}, 2, `unexpected argument "now"`},
		{"missing inventory file", []string{"--inventory", "/nonexistent/inv.json"}, 1,
			"reading inventory: open /nonexistent/inv.json"},
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests = append(tests, struct {
		name string
		args []string
		code int
		want string
	}{"address in use", []string{"--addr", busy.Addr().String()}, 1,
		"listening on " + busy.Addr().String()})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"comfysim"}, tt.args...), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, &stderr, tt.code, tt.want)
			}
		})
	}
}

func TestComfysimAddressFromEnvironment(t *testing.T) {
	t.Setenv("ATELIER_COMFYSIM_ADDR", "127.0.0.1:9999")
	set, _, err := parseComfysimFlags(nil)
	if err != nil || set.addr != "127.0.0.1:9999" {
		t.Errorf("addr = %q (err %v), want the environment's 127.0.0.1:9999", set.addr, err)
	}
	set, _, _ = parseComfysimFlags([]string{"--addr", "127.0.0.1:7000"})
	if set.addr != "127.0.0.1:7000" {
		t.Errorf("addr = %q, want the flag's 127.0.0.1:7000", set.addr)
	}
}

func TestComfysimInventory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "inv.json")
	if err := os.WriteFile(file, []byte(`{"checkpoints": ["f.safetensors"], "vaes": ["ae.safetensors"]}`),
		0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		set  comfysimSettings
		want comfysim.Inventory
	}{
		{"nothing given: the default", comfysimSettings{}, comfysim.DefaultInventory()},
		{"lists only", comfysimSettings{models: "a.safetensors, b.safetensors", loras: "l.safetensors"},
			comfysim.Inventory{Checkpoints: []string{"a.safetensors", "b.safetensors"},
				LoRAs: []string{"l.safetensors"}}},
		{"file plus lists", comfysimSettings{inventory: file, models: "a.safetensors", unets: "u.pth",
			clips: "clip_l.safetensors"},
			comfysim.Inventory{Checkpoints: []string{"f.safetensors", "a.safetensors"}, UNets: []string{"u.pth"},
				VAEs: []string{"ae.safetensors"}, CLIPs: []string{"clip_l.safetensors"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.set.buildInventory()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("inventory (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComfysimServesUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sim := comfysim.New(comfysim.Options{Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	var stdout bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- serveComfysim(ctx, ln, sim, log, &stdout) }()

	url := "http://" + ln.Addr().String()
	resp, err := http.Get(url + "/api/system_stats")
	if err != nil {
		t.Fatalf("GET /api/system_stats: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after shutdown, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not shut down")
	}
	if !strings.Contains(stdout.String(), "comfysim listening on "+url) {
		t.Errorf("stdout = %q, want the address", &stdout)
	}
	if _, err := http.Get(url + "/api/system_stats"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

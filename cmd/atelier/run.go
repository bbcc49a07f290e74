package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/atelier-dev/atelier/internal/settings"
)

// newLogger builds the process logger from the settings.
func newLogger(w io.Writer, set settings.Settings) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(set.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if set.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// signalContext is canceled on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// serveHTTP serves h on addr until ctx ends, then shuts down gracefully:
// beforeShutdown runs first (to end long polls), then open requests get
// up to 10 s to finish.
func serveHTTP(ctx context.Context, log *slog.Logger, name, addr string, h http.Handler,
	beforeShutdown func()) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return serveListener(ctx, log, name, ln, h, beforeShutdown)
}

func serveListener(ctx context.Context, log *slog.Logger, name string, ln net.Listener,
	h http.Handler, beforeShutdown func()) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info(name+" listening", "addr", "http://"+ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info(name + " shutting down")
	if beforeShutdown != nil {
		beforeShutdown()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

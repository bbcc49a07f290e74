package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/atelier-dev/atelier/internal/admin"
	"github.com/atelier-dev/atelier/internal/settings"
	"github.com/atelier-dev/atelier/internal/store/postgres"
	"github.com/atelier-dev/atelier/internal/store/sqlite"
)

func init() {
	register(command{name: "admin", summary: "admin service: config center, admin API, sync API",
		run: runAdmin})
}

var adminVars = []string{"ATELIER_ADMIN_ADDR", "ATELIER_ADMIN_DB", "ATELIER_LOG_LEVEL",
	"ATELIER_LOG_FORMAT"}

func runAdmin(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "user" {
		return runAdminUser(args[1:], stdout, stderr)
	}
	fs := newFlags("admin", "[--addr A] [--db DSN]  |  atelier admin user add NAME --role R",
		stdout, append(adminVars, "ATELIER_ADMIN_PASSWORD")...)
	set, err := settings.FromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "atelier admin: %v\n", err)
		return 2
	}
	addr := fs.String("addr", set.AdminAddr, "listen address")
	dsn := fs.String("db", set.AdminDB, "database: sqlite:PATH or a postgres:// URL")
	pos, code, stop := parseFlags(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "atelier admin: unexpected argument %q\n", pos[0])
		return 2
	}
	ctx, cancel := signalContext()
	defer cancel()
	log := newLogger(stderr, set)
	slog.SetDefault(log) // libraries that log through the default logger match
	if err := serveAdmin(ctx, log, *addr, *dsn, os.Getenv("ATELIER_ADMIN_PASSWORD")); err != nil {
		log.Error("admin service stopped", "err", err)
		return 1
	}
	return 0
}

// openStore opens the admin database named by dsn.
func openStore(ctx context.Context, dsn string) (admin.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(ctx, dsn)
	}
	return nil, fmt.Errorf("ATELIER_ADMIN_DB: %q is neither sqlite:PATH nor a postgres:// URL",
		redactDSN(dsn))
}

// redactDSN hides a password in a database URL.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 {
				return dsn[:i+3] + rest[:c] + ":***" + rest[at:]
			}
		}
	}
	return dsn
}

// adminReady is called, when set, once the admin service is listening; the
// `up` command uses it to seed the first release.
type adminHooks struct {
	ready func(*admin.Server, admin.Store)
	// seeds says the ready hook creates the first user itself.
	seeds bool
}

func serveAdmin(ctx context.Context, log *slog.Logger, addr, dsn, bootstrapPassword string,
	hooks ...adminHooks) error {
	st, err := openStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("admin database open", "db", redactDSN(dsn))
	if len(hooks) == 0 || !hooks[0].seeds {
		if err := bootstrapAdmin(ctx, log, st, bootstrapPassword); err != nil {
			return err
		}
	}
	srv, err := admin.NewServer(ctx, admin.Options{Store: st, Logger: log,
		Loopback: admin.IsLoopback(addr), Console: consoleFS()})
	if err != nil {
		return err
	}
	open, err := srv.SyncOpen(ctx)
	if err != nil {
		return err
	}
	if open {
		log.Warn("sync API is open without a token: listening on loopback and no sync " +
			"token exists; create one before exposing the admin service")
	} else {
		log.Info("sync API requires a sync token")
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go srv.Run(runCtx)
	for _, h := range hooks {
		if h.ready != nil {
			h.ready(srv, st)
		}
	}
	return serveHTTP(ctx, log, "admin service", addr, srv.Handler(), srv.Shutdown)
}

// bootstrapAdmin creates user admin on first start when a password is set.
func bootstrapAdmin(ctx context.Context, log *slog.Logger, st admin.Store, password string) error {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("counting users: %w", err)
	}
	if n > 0 {
		return nil
	}
	if password == "" {
		log.Warn("no users exist; create one with 'atelier admin user add NAME --role admin' " +
			"or start once with ATELIER_ADMIN_PASSWORD set")
		return nil
	}
	if err := admin.CreateUser(ctx, st, "admin", admin.RoleAdmin, password, 0); err != nil {
		return fmt.Errorf("creating user admin: %w", err)
	}
	log.Info("created user admin from ATELIER_ADMIN_PASSWORD", "user", "admin")
	return nil
}

func runAdminUser(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stdout, "Usage: atelier admin user add NAME --role viewer|editor|publisher|admin")
		fmt.Fprintln(stdout, "\nThe password is read from standard input (one line).")
		if len(args) > 0 && isHelp(args[:1]) {
			return 0
		}
		return 2
	}
	set, err := settings.FromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "atelier admin user add: %v\n", err)
		return 2
	}
	fs := newFlags("admin user add", "NAME --role R  (password on standard input)", stdout,
		"ATELIER_ADMIN_DB")
	role := fs.String("role", "viewer", "viewer, editor, publisher or admin")
	dsn := fs.String("db", set.AdminDB, "database: sqlite:PATH or a postgres:// URL")
	pos, code, stop := parseFlags(fs, args[1:], stderr)
	if stop {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "atelier admin user add: give one user NAME")
		return 2
	}
	r, err := admin.ParseRole(*role)
	if err != nil {
		fmt.Fprintf(stderr, "atelier admin user add: %v\n", err)
		return 2
	}
	password, err := readPassword(os.Stdin)
	if err != nil {
		fmt.Fprintf(stderr, "atelier admin user add: %v\n", err)
		return 1
	}
	ctx := context.Background()
	st, err := openStore(ctx, *dsn)
	if err != nil {
		fmt.Fprintf(stderr, "atelier admin user add: %v\n", err)
		return 1
	}
	defer st.Close()
	err = admin.CreateUser(ctx, st, pos[0], r, password, 0)
	if errors.Is(err, admin.ErrConflict) {
		fmt.Fprintf(stderr, "atelier admin user add: user %q exists\n", pos[0])
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "atelier admin user add: %v\n", err)
		return 1
	}
	if err := st.AppendAudit(ctx, admin.AuditEntry{Actor: "cli", Source: "local",
		Action: "user.create", Target: "user:" + pos[0],
		Summary: "created with role " + string(r) + " by atelier admin user add"}); err != nil {
		fmt.Fprintf(stderr, "atelier admin user add: writing audit entry: %v\n", err)
	}
	fmt.Fprintf(stdout, "created user %s with role %s\n", pos[0], r)
	return 0
}

func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input (pipe it in: echo … | atelier …)")
	}
	return line, nil
}

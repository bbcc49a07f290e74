// Command atelier is the single binary of the Atelier image-generation
// platform: the admin service, the main service, the config manager CLI and
// the ComfyUI simulator are its subcommands.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand of the binary. run gets the arguments after the
// subcommand's name and returns the process exit status.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands that exist. Each file in this package that
// adds one registers it from an init function, so main stays small.
var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "atelier: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: atelier <command> [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Atelier serves image generation in front of ComfyUI, with a")
	fmt.Fprintln(w, "fault-tolerant configuration center.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'atelier <command> --help' for a command's settings and defaults.")
}

// isHelp reports whether args ask for help instead of doing work.
func isHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

// subcommandUsage prints a nested command's subcommand list.
func subcommandUsage(w io.Writer, parent string, subs [][2]string) {
	fmt.Fprintf(w, "Usage: atelier %s <subcommand> [arguments]\n\nSubcommands:\n", parent)
	for _, s := range subs {
		fmt.Fprintf(w, "  %-10s %s\n", s[0], s[1])
	}
	fmt.Fprintf(w, "\nRun 'atelier %s <subcommand> --help' for details.\n", parent)
}

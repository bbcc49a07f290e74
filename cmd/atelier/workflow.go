package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/atelier-dev/atelier/internal/config"
	"github.com/atelier-dev/atelier/internal/workflow"
)

func init() {
	register(command{
		name:    "workflow",
		summary: "inspect and fill ComfyUI workflow templates",
		run:     runWorkflow,
	})
}

var workflowSubcommands = [][2]string{
	{"inspect", "show a workflow's format and injection points"},
	{"render", "fill a workflow with a request and print the API-format graph"},
}

func runWorkflow(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		subcommandUsage(stderr, "workflow", workflowSubcommands)
		return 2
	}
	switch args[0] {
	case "inspect":
		return workflowInspect(args[1:], stdout, stderr)
	case "render":
		return workflowRender(args[1:], stdout, stderr)
	case "-h", "--help", "-help", "help":
		subcommandUsage(stdout, "workflow", workflowSubcommands)
		return 0
	}
	fmt.Fprintf(stderr, "atelier workflow: unknown subcommand %q\n\n", args[0])
	subcommandUsage(stderr, "workflow", workflowSubcommands)
	return 2
}

// wfParseArgs parses flags that may come before or after the
// positional arguments ("render FILE --prompt x"), which flag.Parse alone
// stops at.
func wfParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// wfFlagSet makes a flag set that reports errors to the caller instead of
// printing them, with a usage text for --help.
func wfFlagSet(name, usage string) (*flag.FlagSet, func(io.Writer)) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, usage)
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs, printUsage
}

// wfUsageError prints a command-line mistake and returns exit status 2.
func wfUsageError(stderr io.Writer, cmd string, err error, usage func(io.Writer)) int {
	fmt.Fprintf(stderr, "atelier workflow %s: %v\n\n", cmd, err)
	usage(stderr)
	return 2
}

// wfParamsFlag is a --params JSON value.
type wfParamsFlag struct{ p workflow.Params }

func (f *wfParamsFlag) String() string { return "" }
func (f *wfParamsFlag) Set(s string) error {
	return json.Unmarshal([]byte(s), &f.p)
}

// wfReadFile reads a workflow file within the template size limit. It
// refuses anything but a regular file before opening it: opening a FIFO
// waits for a writer, and a device such as /dev/zero never ends.
func wfReadFile(file string) ([]byte, error) {
	fi, err := os.Stat(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s, not a regular file; save the workflow to a file "+
			"and give its path", file, wfFileKind(fi.Mode()))
	}
	return config.ReadLimited(file, config.MaxTemplateFileBytes)
}

// wfFileKind names the kind of a file that is not a regular one.
func wfFileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// wfLoad reads and parses file, printing why it cannot be used.
func wfLoad(file, cmd string, stderr io.Writer) (*workflow.Graph, bool) {
	data, err := wfReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "atelier workflow %s: reading workflow: %v\n", cmd, err)
		return nil, false
	}
	g, err := workflow.Parse(data)
	if err != nil {
		fmt.Fprintf(stderr, "atelier workflow %s: %s: %s\n", cmd, file,
			strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return nil, false
	}
	return g, true
}

const wfInspectUsage = `Usage: atelier workflow inspect FILE [--json] [--params JSON]

Prints the format of a ComfyUI workflow file and every injection point found
(node id, class, input, current value), or why one is missing. Exits 1 when
the file is not an API-format workflow or lacks a required point (prompt,
seed, width, height, model, output). FILE must be a regular file of at most
16 MiB.
`

func workflowInspect(args []string, stdout, stderr io.Writer) int {
	fs, usage := wfFlagSet("inspect", wfInspectUsage)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	var params wfParamsFlag
	fs.Var(&params, "params", `explicit injection points as JSON, e.g. '{"seed": ["3.seed"]}'`)
	if isHelp(args) {
		usage(stdout)
		return 0
	}
	files, err := wfParseArgs(fs, args)
	if err == nil && len(files) != 1 {
		err = fmt.Errorf("want exactly one FILE, got %d", len(files))
	}
	if err != nil {
		return wfUsageError(stderr, "inspect", err, usage)
	}
	file := files[0]
	data, err := wfReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "atelier workflow inspect: reading workflow: %v\n", err)
		return 1
	}
	rep := wfInspectReport{File: file}
	rep.Format, _, err = workflow.Detect(data)
	var g *workflow.Graph
	if err == nil {
		g, err = workflow.Parse(data)
	}
	if err == nil {
		var probs workflow.Problems
		rep.Inspection, err = g.Inspect(params.p)
		if err == nil {
			probs = rep.Inspection.Problems()
		} else if !errors.As(err, &probs) {
			probs = workflow.Problems{{Field: "params", Message: err.Error()}}
		}
		rep.Problems = probs
		err = nil
		rep.Nodes = g.Len()
	}
	if err != nil {
		rep.Error = err.Error()
	}
	if *asJSON {
		if rep.Problems == nil {
			rep.Problems = workflow.Problems{} // [] rather than null
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "atelier workflow inspect: writing JSON: %v\n", err)
			return 1
		}
	} else {
		rep.writeText(stdout)
	}
	if rep.Error != "" || len(rep.Problems) > 0 {
		if *asJSON || rep.Error != "" {
			fmt.Fprintf(stderr, "atelier workflow inspect: %s: %s\n", file, rep.summary())
		}
		return 1
	}
	return 0
}

// wfInspectReport is what inspect prints.
type wfInspectReport struct {
	File   string          `json:"file"`
	Format workflow.Format `json:"format"`
	Nodes  int             `json:"nodes,omitempty"`
	Error  string          `json:"error,omitempty"`
	*workflow.Inspection
	Problems workflow.Problems `json:"problems"`
}

func (r *wfInspectReport) summary() string {
	if r.Error != "" {
		return r.Error
	}
	return fmt.Sprintf("%d problems; see above", len(r.Problems))
}

func (r *wfInspectReport) writeText(w io.Writer) {
	switch {
	case r.Nodes > 0:
		fmt.Fprintf(w, "%s: %s format, %d nodes\n", r.File, r.Format, r.Nodes)
	default:
		fmt.Fprintf(w, "%s: %s format\n", r.File, r.Format)
	}
	if r.Inspection != nil {
		r.writePoints(w)
		r.writeLoader(w)
	}
	if r.Error != "" {
		return
	}
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "\nproblems: none")
		return
	}
	fmt.Fprintf(w, "\nproblems (%d):\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
}

func (r *wfInspectReport) writePoints(w io.Writer) {
	fmt.Fprintln(w, "\ninjection points:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range r.Points {
		name := p.Name
		if p.Explicit {
			name += " (params)"
		}
		if len(p.Targets) == 0 {
			fmt.Fprintf(tw, "  %s\t-\t-\tmissing: %s\n", name, p.Missing)
		}
		for _, t := range p.Targets {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", name, t.Ref(), t.Class, wfShorten(t.Value))
			name = ""
		}
		for _, u := range p.Unresolved {
			fmt.Fprintf(tw, "  \t\t\tunresolved: %s\n", u)
		}
		for _, n := range p.Notes {
			fmt.Fprintf(tw, "  \t\t\tnote: %s\n", n)
		}
	}
	tw.Flush()
}

func (r *wfInspectReport) writeLoader(w io.Writer) {
	l := r.Loader
	if l == nil {
		fmt.Fprintln(w, "\nmodel loader: none")
		return
	}
	fmt.Fprintf(w, "\nmodel loader: node %s (%s)\n", l.Node, l.Class)
	fmt.Fprintf(w, "  MODEL output %d used by: %s\n", l.ModelOutput, wfJoinRefs(l.ModelConsumers))
	if l.CLIPOutput >= 0 {
		fmt.Fprintf(w, "  CLIP output %d used by: %s\n", l.CLIPOutput, wfJoinRefs(l.CLIPConsumers))
	}
	fmt.Fprintf(w, "  requested LoRAs are inserted as %s\n", l.LoraClass())
	if len(r.Loras) == 0 {
		fmt.Fprintln(w, "  template LoRAs: none")
		return
	}
	fmt.Fprintln(w, "  template LoRAs (kept unless replaced):")
	for _, tl := range r.Loras {
		fmt.Fprintf(w, "    node %s (%s) lora_name %s strength_model %s\n", tl.Node, tl.Class,
			wfShorten(tl.Name), wfShorten(tl.StrengthModel))
	}
}

func wfJoinRefs(refs []workflow.Ref) string {
	if len(refs) == 0 {
		return "nothing"
	}
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// wfShorten cuts a long JSON value for one line of text output.
func wfShorten(raw json.RawMessage) string {
	const max = 60
	s := string(raw)
	if s == "" {
		return "(absent)"
	}
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}

const wfRenderUsage = `Usage: atelier workflow render FILE --prompt TEXT [flags]

Fills an API-format ComfyUI workflow with a request and prints the graph that
would be sent to ComfyUI. Values not given keep the template's. Exits 1 when
the file is not an API-format workflow, lacks a required point or a value is
out of range, and when --sampler or --scheduler is given but the graph takes
that name from a node the engine does not understand (name the point with
--params). Prints a warning on stderr, and still exits 0, for a value the
graph ignores (--negative where the negative is zeroed out, --cfg on a graph
without cfg) or that ComfyUI will change (a size that is not a multiple of
what the latent wants: 8, or 16 for SD3/Flux). Sampler and scheduler names
are ComfyUI's to check.
`

func workflowRender(args []string, stdout, stderr io.Writer) int {
	fs, usage := wfFlagSet("render", wfRenderUsage)
	var req workflow.Request
	fs.StringVar(&req.Prompt, "prompt", "", "positive prompt (required)")
	fs.StringVar(&req.NegativePrompt, "negative", "", "negative prompt (default: the template's)")
	req.KeepSeed = true
	fs.Func("seed", "seed, 0…18446744073709551615 (default: the template's)", func(s string) error {
		v, err := strconv.ParseUint(s, 10, 64)
		req.Seed, req.KeepSeed = v, false
		return err
	})
	fs.IntVar(&req.Steps, "steps", 0, "sampling steps (default: the template's)")
	fs.Func("cfg", "CFG scale, 0…100 (default: the template's)", wfFloatInto(&req.CFG))
	fs.Func("guidance", "Flux guidance, 0…100 (default: the template's)", wfFloatInto(&req.Guidance))
	fs.StringVar(&req.Sampler, "sampler", "",
		"sampler name for every sampler, e.g. dpmpp_2m (default: the template's)")
	fs.StringVar(&req.Scheduler, "scheduler", "",
		"scheduler name for every sampler, e.g. karras (default: the template's)")
	fs.IntVar(&req.Width, "width", 0, "image width in pixels (default: the template's)")
	fs.IntVar(&req.Height, "height", 0, "image height in pixels (default: the template's)")
	fs.IntVar(&req.BatchSize, "batch", 0, "images per job (default: the template's)")
	fs.StringVar(&req.ModelFile, "model-file", "", "model file on ComfyUI (default: the template's)")
	fs.Func("lora", "LoRA as NAME:STRENGTH, repeatable, chained in order", func(s string) error {
		l, err := wfParseLora(s)
		req.Loras = append(req.Loras, l)
		return err
	})
	fs.BoolVar(&req.ReplaceLoras, "replace-loras", false,
		"remove the template's LoRA nodes before inserting --lora ones")
	var params wfParamsFlag
	fs.Var(&params, "params", `explicit injection points as JSON, e.g. '{"seed": ["3.seed"]}'`)
	fs.StringVar(&req.FilenamePrefix, "filename-prefix", "",
		`SaveImage filename prefix, may hold a subfolder (default: the template's)`)
	compact := fs.Bool("compact", false, "print compact JSON instead of indented")
	if isHelp(args) {
		usage(stdout)
		return 0
	}
	files, err := wfParseArgs(fs, args)
	switch {
	case err != nil:
	case len(files) != 1:
		err = fmt.Errorf("want exactly one FILE, got %d", len(files))
	case req.Prompt == "":
		err = errors.New("--prompt is required")
	}
	if err != nil {
		return wfUsageError(stderr, "render", err, usage)
	}
	req.Params = params.p
	g, ok := wfLoad(files[0], "render", stderr)
	if !ok {
		return 1
	}
	out, err := g.Render(req)
	if err != nil {
		fmt.Fprintf(stderr, "atelier workflow render: %s: %s\n", files[0], wfDescribeError(err))
		return 1
	}
	if !*compact {
		var buf bytes.Buffer
		_ = json.Indent(&buf, out, "", "  ") // Render's output is valid JSON
		out = buf.Bytes()
	}
	stdout.Write(out)
	fmt.Fprintln(stdout)
	wfWarn(g, req, stderr)
	return 0
}

// wfWarn prints what the rendered graph ignores or ComfyUI will change
// (a --negative with no negative point, a Flux width not a multiple of 16).
// The main service enforces the family's size multiple itself; here a
// warning is enough.
func wfWarn(g *workflow.Graph, req workflow.Request, stderr io.Writer) {
	ins, err := g.Inspect(req.Params)
	if err != nil {
		return // Render has just accepted these params
	}
	for _, w := range ins.Warnings(req) {
		fmt.Fprintf(stderr, "atelier workflow render: warning: %s\n", w)
	}
}

// wfDescribeError puts each problem of a render error on its own line.
func wfDescribeError(err error) string {
	var probs workflow.Problems
	if !errors.As(err, &probs) {
		return strings.ReplaceAll(err.Error(), "\n", "\n  ")
	}
	var b strings.Builder
	b.WriteString("the workflow cannot be filled:")
	for _, p := range probs {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

func wfFloatInto(dst **float64) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseFloat(s, 64)
		*dst = &v
		return err
	}
}

// wfParseLora reads NAME:STRENGTH, splitting at the last colon so that
// names may hold colons.
func wfParseLora(s string) (workflow.Lora, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return workflow.Lora{}, fmt.Errorf("%q: want NAME:STRENGTH, e.g. detail.safetensors:0.8", s)
	}
	v, err := strconv.ParseFloat(s[i+1:], 64)
	if err != nil {
		return workflow.Lora{}, fmt.Errorf("%q: strength %q is not a number", s, s[i+1:])
	}
	return workflow.Lora{Name: s[:i], Strength: v}, nil
}

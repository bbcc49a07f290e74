package main

import (
	"io/fs"

	"github.com/atelier-dev/atelier/web"
)

// consoleFS returns the built admin console, or nil when the web UI was
// not built into this binary.
func consoleFS() fs.FS { return web.Console() }

// studioFS returns the built studio, or nil when the web UI was not built.
func studioFS() fs.FS { return web.Studio() }

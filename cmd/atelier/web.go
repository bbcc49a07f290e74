package main

import "io/fs"

// consoleFS returns the built admin console, or nil when the web UI was
// not built into this binary.
// TODO: serve the embedded web/dist/admin once the web UI exists (issue 7).
func consoleFS() fs.FS { return nil }

// studioFS returns the built studio, or nil when the web UI was not built.
// TODO: serve the embedded web/dist/studio once the web UI exists (issue 7).
func studioFS() fs.FS { return nil }

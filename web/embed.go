// Package web embeds the built web UI: the studio (web/dist/studio, served
// at / by the main service) and the admin console (web/dist/admin, served
// at /admin/ by the admin service). Build them with `make web`; without a
// build both are nil and the services serve a page saying how to build.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Studio returns the built studio, or nil when it was not built.
func Studio() fs.FS { return built("dist/studio") }

// Console returns the built admin console, or nil when it was not built.
func Console() fs.FS { return built("dist/admin") }

func built(dir string) fs.FS {
	sub, err := fs.Sub(dist, dir)
	if err != nil {
		return nil
	}
	if _, err := fs.Stat(sub, "index.html"); err != nil {
		return nil
	}
	return sub
}

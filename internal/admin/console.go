package admin

import (
	"io/fs"
	"net/http"
	"strings"
)

const consoleMissing = `<!doctype html><meta charset="utf-8"><title>Atelier admin</title>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>Atelier admin console</h1>
<p>The console has not been built into this binary. Build the web UI with
<code>make web</code> (needs Node.js 20 and npm), then rebuild with
<code>make build</code>. The admin API under <code>/api/admin/</code> works without it.</p>`

// console serves the built admin console, or a page saying how to build it.
func (s *Server) console() http.Handler {
	if s.opt.Console == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(consoleMissing))
		})
	}
	files := http.FileServerFS(s.opt.Console)
	return http.StripPrefix("/admin", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Client-side routes fall back to index.html.
		p := strings.TrimPrefix(r.URL.Path, "/")
		if p != "" {
			if _, err := fs.Stat(s.opt.Console, p); err != nil {
				r.URL.Path = "/"
			}
		}
		files.ServeHTTP(w, r)
	}))
}

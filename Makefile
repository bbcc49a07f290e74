# Atelier. `make run` runs the whole system on this machine; `make test`
# runs every test.
GO      ?= go
BIN     := bin/atelier
DATA    ?= data
# TEST_POSTGRES_DSN, when set, makes the PostgreSQL tests run.

.PHONY: build run test vet gotest webtest web web-deps fuzz bench clean

build:
	$(GO) build -o $(BIN) ./cmd/atelier

# The web UI is built into web/dist and embedded by `make build`; without
# Node.js the binary serves pages that say how to build it.
web-deps:
	@if [ -f web/package.json ]; then cd web && npm ci --no-audit --no-fund; fi

web:
	@if [ -f web/package.json ]; then \
		if command -v npm >/dev/null 2>&1; then \
			cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build; \
		else echo "npm not found: the web UI is not built (the API works without it)"; fi; \
	fi

# Everything on this machine: admin (SQLite under ./data), main service and,
# without COMFYUI_URL, the ComfyUI simulator.
run: web build
	./$(BIN) up --data $(DATA)

test: vet gotest webtest

vet:
	$(GO) vet ./...

gotest:
	$(GO) test -race -count=1 ./...

# Unit tests (vitest) and browser tests (Playwright on Debian's Chromium).
webtest:
	@if [ -f web/package.json ]; then \
		if [ ! -x /usr/bin/chromium ]; then \
			echo "Chromium is missing: install it with 'apt-get install -y chromium' (the browser tests need it)"; \
			exit 1; fi; \
		$(MAKE) web && $(MAKE) build && cd web && npm run test:unit && npm run test:e2e; \
	fi

# Short fuzz runs of the fuzz targets; FUZZTIME=30s by default.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzLoad -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/config/
	$(GO) test -run='^$$' -fuzz=FuzzDetectInspectRender -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/workflow/

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

clean:
	rm -rf bin

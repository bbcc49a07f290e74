# Atelier. `make run` runs the whole system on this machine; `make test`
# runs every test.
GO      ?= go
BIN     := bin/atelier
DATA    ?= data

.PHONY: build run test vet gotest fuzz bench clean

build:
	$(GO) build -o $(BIN) ./cmd/atelier

# Everything on this machine: admin (SQLite under ./data), main service and,
# without COMFYUI_URL, the ComfyUI simulator.
run: build
	./$(BIN) up --data $(DATA)

test: vet gotest

vet:
	$(GO) vet ./...

gotest:
	$(GO) test -race -count=1 ./...

# Short fuzz runs of every fuzz target; FUZZTIME=30s by default.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzLoad -fuzztime=$(FUZZTIME) ./internal/config/

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

clean:
	rm -rf bin

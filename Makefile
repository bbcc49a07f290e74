# Atelier. `make run` runs the whole system on this machine; `make test`
# runs every test.
GO      ?= go
BIN     := bin/atelier
DATA    ?= data

.PHONY: build run test vet gotest fuzz bench clean

build:
	$(GO) build -o $(BIN) ./cmd/atelier

# TODO: grows with the system; until `atelier up` exists this writes the
# starter config into ./data and validates it.
run: build
	@if [ ! -f $(DATA)/config/local_config.yaml ]; then \
		./$(BIN) config init --dir $(DATA)/config; fi
	./$(BIN) config validate $(DATA)/config/local_config.yaml

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

# neurons-connector: build, test, demo.
# `make test` is what CI runs (.ci/run): gofmt, go vet, the race-enabled
# tests, and a Windows build.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin/neurons-connector

.PHONY: all build test fmt-check vet race windows demo bench fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

test: fmt-check vet race windows

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi; \
	echo "gofmt: clean"

vet:
	$(GO) vet ./...

race:
	$(GO) test -race -count=1 ./...

windows:
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./...
	@echo "windows build: ok"

# Go benchmarks with allocation counts; the README's figures come from here.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./...

# Each fuzz target for FUZZTIME (default 1m); findings land in testdata/fuzz.
FUZZTIME ?= 1m
fuzz:
	$(GO) test ./mapping -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)

demo: build
	./scripts/demo.sh $(BIN)

clean:
	rm -rf bin

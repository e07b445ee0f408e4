# neurons-connector: build, test, demo.
# `make test` is what CI runs (.ci/run): gofmt, go vet, the race-enabled
# tests, and a Windows build.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin/neurons-connector

.PHONY: all build test fmt-check vet race windows demo clean

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

demo: build
	./scripts/demo.sh $(BIN)

clean:
	rm -rf bin

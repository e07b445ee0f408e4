# neurons-connector: build, test, demo.
# `make test` is what CI runs (.ci/run): no tracked executables, gofmt, go vet,
# golangci-lint, the race-enabled tests, a Windows build, and the service
# installed and run under a real systemd where the host allows it.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin/neurons-connector

.PHONY: all build test no-binaries fmt-check vet lint race windows systemd-test demo tour bench fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

test: no-binaries fmt-check vet lint race windows systemd-test

# A compiled program in git bloats every clone for good; it belongs in bin/.
no-binaries:
	./scripts/no-binaries.sh

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi; \
	echo "gofmt: clean"

vet:
	$(GO) vet ./...

# golangci-lint at a pinned version, built from the module proxy into
# bin/tools on first use (about a minute), with .golangci.yml's linters;
# run for Linux and for Windows, whose files differ.
GOLANGCI_LINT_VERSION := v2.15.0
LINT := bin/tools/golangci-lint-$(GOLANGCI_LINT_VERSION)
$(LINT):
	mkdir -p bin/tools
	GOBIN=$(abspath bin/tools) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv bin/tools/golangci-lint $(LINT)

lint: $(LINT)
	$(LINT) run ./...
	GOOS=windows $(LINT) run ./...

race:
	$(GO) test -race -count=1 ./...

windows:
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./...
	GOOS=windows GOARCH=amd64 $(GO) vet ./...   # compiles the Windows-only tests too
	@echo "windows build: ok"

# The service installed, started, stopped mid-run, broken and mended under a
# real systemd, booted as PID 1 of namespaces of its own with the host's
# files under overlays (scripts/systemd-test.sh, about 10 s). It needs root,
# systemd and unshare; a host without them says so and goes on.
systemd-test: build
	@if [ "$$(id -u)" = 0 ] && [ -x /lib/systemd/systemd ] && unshare --pid --fork --mount true 2>/dev/null; then \
		./scripts/systemd-test.sh $(BIN) || { rc=$$?; [ $$rc = 3 ] && echo "systemd-test: NOT RUN: systemd would not boot on this host"; [ $$rc = 3 ]; }; \
	else \
		echo "systemd-test: NOT RUN: it needs root, /lib/systemd/systemd and unshare (README, Tests)"; \
	fi

# The README's figures: Go benchmarks (mapping, Okta and OneLogin listing, the engine on
# 100k users) with allocation counts, then the real binary on the built-in
# simulators: Okta and OneLogin at 10k, 100k and 1M users with limits off, a
# 100k-user Okta run against Okta's rate limits ×12, and 2k- and 10k-user runs
# against the real limits, and the CSV drop beside the Neurons sink at 100k
# and 1M Okta users (BENCH_SIZES, BENCH_LIMITED, BENCH_SCALE, BENCH_REAL,
# BENCH_CSV to change). About twenty minutes on 2 cores.
BENCH_SIZES   ?= 10000,100000,1000000
BENCH_CSV     ?= 100000,1000000
BENCH_LIMITED ?= 100000
BENCH_SCALE   ?= 12
BENCH_REAL    ?= 2000,10000
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./mapping
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2x ./providers/okta
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2x ./providers/onelogin
	$(GO) test -run '^$$' -bench . -benchtime 1x ./engine
	$(GO) test -run '^$$' -bench CSVDrop -benchtime 1x ./sink
	$(GO) test -run '^$$' -bench ReportsScan -benchtime 3x -benchmem ./store
	./$(BIN) bench --sizes $(BENCH_SIZES) --limited $(BENCH_LIMITED) --limit-scale $(BENCH_SCALE)
	./$(BIN) bench --sizes $(BENCH_CSV) --providers okta --limited 0 --sinks neurons,csv
	./$(BIN) bench --sizes none --limited $(BENCH_REAL) --limit-scale 1

# Each fuzz target for FUZZTIME (default 1m, so about eight minutes); findings
# land in the package's testdata/fuzz, beside the seed corpus, and then run
# with every `make test`.
FUZZTIME ?= 1m
FUZZ_TARGETS := ./mapping:FuzzParse ./mapping:FuzzParseRecord ./mapping:FuzzAppendWith ./providers/httpclient:FuzzAnyDecoder \
	./providers/httpclient:FuzzEachObjectAgreesWithAWholeDecode ./providers/okta:FuzzNextLink ./providers/okta:FuzzDecodeUsersPage \
	./providers/onelogin:FuzzDecodeUsersPage ./connector:FuzzSchedule
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $${t%%:*} $${t##*:}"; \
		$(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME); \
	done

# The whole pipeline on built-in simulators (product.md §5); DEMO_ARGS="--keep" keeps its data.
demo: build
	./$(BIN) demo $(DEMO_ARGS)

# A walk through the connector and mapping commands with made-up credentials.
tour: build
	./scripts/demo.sh $(BIN)

clean:
	rm -rf bin

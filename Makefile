# Targets run the same way locally, in .ci/run and in GitHub CI.

# Every target uses CI's Go toolchain, fetched from the Go module proxy when the
# machine has another one: the embedded spec is gzip-compressed, and its bytes (so
# `make check-generated`) depend on the Go version that generates it.
export GOTOOLCHAIN := go1.27.3
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(CURDIR)/.cache/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint

.PHONY: help generate check-generated test lint bench fuzz faults quickstart

## help: list the targets and what they do
help:
	@sed -n 's/^## \([a-z-]*\): \(.*\)/\1\t\2/p' $(MAKEFILE_LIST) | expand -t 18

# What `make generate` writes: the client's models and request builders, the embedded
# spec, the fake's server interface.
GENERATED := gen/ internal/specdoc/ billing/billingtest/internal/fakeapi/

## generate: regenerate the generated packages from openapi/ with the pinned oapi-codegen
generate:
	go generate $(addprefix ./,$(addsuffix ...,$(GENERATED)))

## check-generated: fail if a generated package differs from what `make generate` writes
check-generated: generate
	@git diff --exit-code --stat -- $(GENERATED) || { echo "generated code is stale: run 'make generate' and commit it"; exit 1; }
	@test -z "$$(git status --porcelain -- $(GENERATED))" || { git status --porcelain -- $(GENERATED); echo "generated code has untracked files: run 'make generate' and commit it"; exit 1; }

## test: the whole suite with the race detector (the README's test command)
test:
	go test -race ./...

## lint: go vet and golangci-lint (pinned; built once into .cache/)
lint: $(GOLANGCI_LINT)
	go vet ./...
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	GOBIN=$(dir $(GOLANGCI_LINT)) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

## bench: benchmarks of the SDK against raw net/http, in one run
bench:
	go test -run '^$$' -bench . -benchmem $(BENCHFLAGS) ./billing/

## fuzz: each fuzz target of billing/ and billing/webhook/ for FUZZTIME (default 20s); failures land in <package>/testdata/fuzz/
FUZZTIME ?= 20s
fuzz:
	for t in FuzzAPIError FuzzRetryAfter FuzzComponentUnion FuzzComponents; do \
		go test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./billing/ || exit 1; \
	done
	for t in FuzzDecode FuzzSignatureHeader FuzzVerify; do \
		go test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./billing/webhook/ || exit 1; \
	done

## faults: the fault matrix: every operation x every fault family, FAULTRUNS runs per cell (default 50)
# FAULTFLAGS passes more to it: -workers=N, -seed=N, -only=TEXT, -table=FILE.md.
FAULTRUNS ?= 50
faults:
	go test -count=1 -timeout 30m -run '^TestFaultMatrix$$' -v ./internal/faultmatrix/ -args -runs=$(FAULTRUNS) $(FAULTFLAGS)

## quickstart: the main job, against the embedded fake Billing API
quickstart:
	go run ./examples/quickstart

# Targets run the same way locally, in .ci/run and in GitHub CI.

# Every target uses CI's Go toolchain, fetched from the Go module proxy when the
# machine has another one: the embedded spec is gzip-compressed, and its bytes (so
# `make check-generated`) depend on the Go version that generates it.
export GOTOOLCHAIN := go1.27.3
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(CURDIR)/.cache/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint

# npm tools of the contract checks (Spectral, Prism), pinned by tools/npm/package-lock.json.
NPM_TOOLS := $(CURDIR)/.cache/npm
SPECTRAL := $(NPM_TOOLS)/node_modules/.bin/spectral

.PHONY: help generate check-generated test lint bench fuzz faults crash quickstart contract-tools lint-spec contract live test-postgres multi

## help: list the targets and what they do
help:
	@sed -n 's/^## \([a-z-]*\): \(.*\)/\1\t\2/p' $(MAKEFILE_LIST) | expand -t 18

# What `make generate` writes, all with the pinned oapi-codegen from openapi/: the
# models and server URLs (gen/), the client's operation table and request builders
# (internal/ops, with the user template openapi/templates/ops.tmpl), billing.Client's
# method of each operation (billing/operations.gen.go, with templates/methods.tmpl),
# oapi-codegen's own client for the SDK's tests (internal/rawclient), the embedded
# spec and the fake's server interface with the error answer of every operation
# (billing/billingtest/internal/fakeapi, with templates/fakeapi-errors.tmpl).
GENERATED := gen/ internal/ops/ billing/operations.gen.go internal/rawclient/ internal/specdoc/ billing/billingtest/internal/fakeapi/

## generate: regenerate the generated packages from openapi/ with the pinned oapi-codegen
generate:
	go generate $(foreach g,$(GENERATED),$(if $(filter %/,$(g)),./$(g)...,./$(patsubst %/,%,$(dir $(g)))))

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

## bench: the SDK against raw net/http side by side, cold start, binary size, paginator heap; the meter's durable Add (64 callers) against a bare INSERT loop on the same SQLite file, a flush of 100,000 usages over 1,000 items; the webhook Tracker on PostgreSQL against bare SQL (skipped without BILLING_POSTGRES_URL) (BENCHFLAGS="-count=5" for steadier figures)
bench:
	go test -run '^$$' -bench . -benchmem $(BENCHFLAGS) ./billing/ ./billing/meter/
	@[ -n "$$BILLING_POSTGRES_URL" ] || echo "bench: BenchmarkWebhookPostgres skips: no BILLING_POSTGRES_URL (or run: .ci/with-postgres make bench)"
	go test -run '^$$' -bench Webhook -benchmem $(BENCHFLAGS) ./billing/sqlstore/

## test-postgres: the SQL stores' tests on PostgreSQL: BILLING_POSTGRES_URL's server, or a throwaway cluster on loopback (.ci/with-postgres)
test-postgres:
	.ci/with-postgres go test -race -count=1 ./billing/sqlstore/ ./billing/webhook/...

## multi: webhooks to 4 instances sharing PostgreSQL, SIGKILLed and restarted; prints the closing line (MULTIFLAGS sets the scale)
MULTIFLAGS ?= -multi.entities=1000 -multi.events=10 -multi.kills=120
multi:
	@mkdir -p .cache; rc=0; \
	.ci/with-postgres go test -count=1 -timeout 20m -run '^TestWebhooksManyInstances$$' -v ./billing/sqlstore/ -args $(MULTIFLAGS) >.cache/multi.log 2>&1 || rc=$$?; \
	grep -E '^(postgres:|webhooks:|--- |ok|FAIL)|multi_test.go' .cache/multi.log; \
	[ $$rc -eq 0 ] || { echo "make multi failed (exit $$rc); the end of .cache/multi.log:"; tail -n 60 .cache/multi.log; exit $$rc; }

## fuzz: each fuzz target of billing/, internal/ops/ and billing/webhook/ for FUZZTIME (default 20s); failures land in <package>/testdata/fuzz/
FUZZTIME ?= 20s
fuzz:
	for t in FuzzAPIError FuzzAPIErrorRedaction FuzzRetryAfter FuzzComponentUnion FuzzComponents FuzzChecksAgreeWithOpenapi3filter; do \
		go test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./billing/ || exit 1; \
	done
	go test -run '^$$' -fuzz '^FuzzBuildersMatchReference$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/ops/
	for t in FuzzDecode FuzzSignatureHeader FuzzVerify; do \
		go test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./billing/webhook/ || exit 1; \
	done

## faults: the fault matrix: every operation x every fault family, FAULTRUNS runs per cell (default 50)
# FAULTFLAGS passes more to it: -workers=N, -seed=N, -only=TEXT, -table=FILE.md.
FAULTRUNS ?= 50
faults:
	go test -count=1 -timeout 30m -run '^TestFaultMatrix$$' -v ./internal/faultmatrix/ -args -runs=$(FAULTRUNS) $(FAULTFLAGS)

## crash: the meter's crash test: child processes recording and flushing usage are SIGKILLed CRASHKILLS times (default 300) at random points and restarted on one SQLite journal; then 4 instances on one PostgreSQL database when BILLING_POSTGRES_URL is set. Prints the crash: closing lines
CRASHKILLS ?= 300
crash:
	@mkdir -p .cache
	@rc=0; go test -count=1 -timeout 30m -v -run '^TestCrash$$' ./billing/meter/ -args -crash.kills=$(CRASHKILLS) $(CRASHFLAGS) >.cache/crash.log 2>&1 || rc=$$?; \
	grep -E '^crash:' .cache/crash.log; \
	if [ $$rc -ne 0 ]; then grep -E 'crash_test.go|FAIL' .cache/crash.log | tail -n 40; exit $$rc; fi
	@if [ -n "$$BILLING_POSTGRES_URL" ]; then \
		rc=0; go test -count=1 -timeout 30m -v -run '^TestCrash$$' ./billing/meter/ -args -crash.kills=$(CRASHKILLS) -crash.store=postgres -crash.instances=4 $(CRASHFLAGS) >.cache/crash-postgres.log 2>&1 || rc=$$?; \
		grep -E '^crash:' .cache/crash-postgres.log; \
		if [ $$rc -ne 0 ]; then grep -E 'crash_test.go|FAIL' .cache/crash-postgres.log | tail -n 40; exit $$rc; fi; \
	else echo "crash: PostgreSQL skipped (set BILLING_POSTGRES_URL for 4 instances on one database)"; fi

## quickstart: the main job, against the embedded fake Billing API
quickstart:
	go run ./examples/quickstart

## contract-tools: Spectral and Prism as tools/npm/package-lock.json pins them, into .cache/npm (npm ci, no install scripts); skipped when current
contract-tools:
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "contract-tools: node and npm are needed (Node.js 20 or later) to install Spectral and Prism"; exit 1; }
	@want="$$(cat tools/npm/package.json tools/npm/package-lock.json | sha256sum | cut -d' ' -f1)"; \
	if [ -x "$(SPECTRAL)" ] && [ "$$(cat $(NPM_TOOLS)/.installed 2>/dev/null)" = "$$want" ]; then echo "contract-tools: .cache/npm is current"; exit 0; fi; \
	mkdir -p $(NPM_TOOLS) && cp tools/npm/package.json tools/npm/package-lock.json $(NPM_TOOLS)/ && \
	cd $(NPM_TOOLS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --cache $(CURDIR)/.cache/npm-cache && \
	echo "$$want" > $(NPM_TOOLS)/.installed

## lint-spec: Spectral's OpenAPI rules (.spectral.yaml) on openapi/billing.yaml; any warning fails
lint-spec: contract-tools
	$(SPECTRAL) lint --ruleset .spectral.yaml --fail-severity warn openapi/billing.yaml

## contract: the spec lint and the Prism contract tests (static, dynamic, failure side, proxy in front of billingtest)
contract: lint-spec
	BILLING_CONTRACT=1 go test -race -count=1 -v ./contract/

## live: the read-only operations against the real API in sandbox mode, checked against the spec (needs BILLING_CLIENT_ID, BILLING_CLIENT_SECRET, BILLING_PRODUCT_ID)
live:
	BILLING_LIVE=1 go test -count=1 -v -run '^TestLive$$' ./contract/

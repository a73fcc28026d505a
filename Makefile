# cardfile: `make run` starts everything on an embedded default; `make test`
# runs the whole suite on SQLite and on PostgreSQL, then the browser tests.

GO        ?= go
NPM       ?= npm
PG_URL    ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
TESTFLAGS ?= -count=1 -timeout 20m
CHROMIUM  ?= /usr/bin/chromium
# Where the browser tests leave their screenshots (not committed).
SCREENSHOTS ?= $(CURDIR)/test-results/screenshots

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run build app test test-sqlite test-postgres test-browser generate check-generated vet bench

## run: build the app and start cardfile on SQLite in ./data with the sandbox gateway, outbox mail and demo data
run: app
	CARDFILE_DEMO=1 CARDFILE_DEV=1 $(GO) run -tags spa ./cmd/cardfile serve

## build: the cardfile binary, with the app, in ./bin
build: app
	$(GO) build -tags spa -o bin/cardfile ./cmd/cardfile

## app: the React app, built into frontend/dist
app: frontend/node_modules/.installed
	cd frontend && $(NPM) run build

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && $(NPM) ci --no-audit --no-fund
	touch $@

## test: every test: Go on SQLite and on PostgreSQL, then the browser tests
test: vet test-sqlite test-postgres test-browser

test-sqlite:
	CARDFILE_TEST_DB=sqlite $(GO) test $(TESTFLAGS) ./...

test-postgres:
	CARDFILE_TEST_DB=postgres CARDFILE_TEST_DATABASE_URL='$(PG_URL)' $(GO) test $(TESTFLAGS) ./...

## test-browser: Playwright with Debian's Chromium against a real `cardfile serve` on SQLite
test-browser: app
	$(GO) build -tags spa -o bin/cardfile-e2e ./cmd/cardfile
	cd frontend && CARDFILE_BIN=$(CURDIR)/bin/cardfile-e2e CHROMIUM=$(CHROMIUM) SCREENSHOTS=$(SCREENSHOTS) npx playwright test

vet:
	$(GO) vet ./...

## generate: ent (with entgql) then gqlgen, in that order
generate:
	$(GO) generate ./ent

## check-generated: fails when regenerating changes any committed file
check-generated: generate
	@git diff --exit-code --stat -- ent graph gqlgen.yml || { echo "generated code is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- ent graph)" || { git status --porcelain -- ent graph; echo "generated files are not committed"; exit 1; }

## bench: cardfile against a raw handler on the same rows and statements (issue 10); needs wrk.
## Not part of `make test`. BENCHFLAGS passes flags, e.g. BENCHFLAGS='-duration 10s -rounds 5 -fanout 10000'.
BENCHFLAGS ?=
bench:
	@command -v wrk >/dev/null 2>&1 || { echo "make bench needs wrk, the HTTP load generator: apt-get install -y wrk"; exit 1; }
	$(GO) build -o bin/cardfile-bench ./cmd/cardfile-bench
	ulimit -n $$(ulimit -Hn) 2>/dev/null; ./bin/cardfile-bench -cpuprofile bin/bench-p2-50.cpu.pprof $(BENCHFLAGS)

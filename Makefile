# cardfile: `make run` starts everything on an embedded default; `make test`
# runs the whole suite on SQLite and on PostgreSQL.

GO        ?= go
PG_URL    ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
TESTFLAGS ?= -count=1 -timeout 20m

.PHONY: run build test test-sqlite test-postgres generate check-generated vet

## run: build and start cardfile on SQLite in ./data with the sandbox gateway and demo data
run:
	CARDFILE_DEMO=1 CARDFILE_DEV=1 $(GO) run ./cmd/cardfile serve

## build: the cardfile binary in ./bin
build:
	$(GO) build -o bin/cardfile ./cmd/cardfile

## test: every test, on SQLite and then on PostgreSQL
test: vet test-sqlite test-postgres

test-sqlite:
	CARDFILE_TEST_DB=sqlite $(GO) test $(TESTFLAGS) ./...

test-postgres:
	CARDFILE_TEST_DB=postgres CARDFILE_TEST_DATABASE_URL='$(PG_URL)' $(GO) test $(TESTFLAGS) ./...

vet:
	$(GO) vet ./...

## generate: ent (with entgql) then gqlgen, in that order
generate:
	$(GO) generate ./ent

## check-generated: fails when regenerating changes any committed file
check-generated: generate
	@git diff --exit-code --stat -- ent graph gqlgen.yml || { echo "generated code is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- ent graph)" || { git status --porcelain -- ent graph; echo "generated files are not committed"; exit 1; }

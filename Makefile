# tbhost: `make run` starts the server on ./tbhost-data, `make test` runs every test.
GO ?= go
BIN := bin/tbhost

.PHONY: all build run test frontend proto fuzz bench clean

all: build

frontend:
	@if [ -f frontend/package.json ]; then cd frontend && npm ci --no-audit --no-fund && npm run build; fi

build: frontend
	$(GO) build -o $(BIN) ./cmd/tbhost

run: build
	./$(BIN) serve --data ./tbhost-data

# The frontend's type check and unit tests (node's test runner).
frontend-test: frontend
	@if [ -f frontend/package.json ]; then cd frontend && npm run check && npm test; fi

test: frontend frontend-test
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 60m ./...
	$(GO) test -count=1 -run '^(TestFastPathMatchesSlow|TestPipelineMatchesPlain.*|TestPreemptionRandom|TestQueryAlignedColumns|TestSpike|TestChunkedResume)$$' ./tfevents ./sampler # in full: -race shrinks them (race_test.go)

# Regenerate the committed *.pb.go files (needs protoc and protoc-gen-go).
proto:
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" protoc --go_out=. --go_opt=module=tbhost $$(find . -name '*.proto' -not -path './frontend/node_modules/*')

fuzz:
	$(GO) test ./tfevents -run '^$$' -fuzz FuzzReader -fuzztime 60s -fuzzminimizetime 5s
	$(GO) test ./tfevents -run '^$$' -fuzz FuzzDecode -fuzztime 60s -fuzzminimizetime 5s

# Go benchmarks of the hot paths, then the whole-server suite on a
# generated 1 GB run (writes docs/benchmarks.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./tfevents ./sampler ./hosting
	$(GO) run ./cmd/tbhost bench --size 1GB --out docs/benchmarks.md

clean:
	rm -rf bin frontend/node_modules

# tbhost: `make run` starts the server on ./tbhost-data, `make test` runs every test.
GO ?= go
BIN := bin/tbhost

.PHONY: all build run test frontend proto fuzz bench clean conformance

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
	$(GO) test -count=1 -run '^(TestFastPathMatchesSlow|TestPipelineMatchesPlain.*|TestPreemptionRandom|TestQueryAlignedColumns|TestSpike|TestChunkedResume|TestCorpusEndToEnd|TestPendingStateEqualsCheckpointed)$$' ./tfevents ./sampler ./hosting ./hosting/engine # in full: -race shrinks them (race_test.go)
	$(GO) test -short -count=1 ./hosting/store/... # the store conformance suite holds under -short too

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
	@{ echo; echo '## Compaction'; echo; \
	  echo 'From `go test -run TestCompactWatchWeek -v ./hosting/engine`: a fortieth of a week of `--watch` (an append of ~3 KiB every 5 s of a fake clock) with segments a fortieth as big, so that the file ends in as many segments as a week of appends with 64 MiB segments (target: at most 64 objects; the test fails above). Uncompacted, each append stays an object: 3,024 here, 120,960 for the week. The whole week: `go test -run "^$$" -bench WatchWeek -benchtime 1x ./hosting/engine`.'; echo; \
	  $(GO) test -count=1 -run TestCompactWatchWeek -v ./hosting/engine | sed -n 's/^ *compact_week_test.go:[0-9]*: /- /p'; } >> docs/benchmarks.md

# Conformance with real TensorBoard (docs/conformance.md): every log dir of
# the real corpus (each repo folder's first-level folder holding event
# files) is served by TensorBoard's own backend and by tbhost, and
# compare.py checks them route by route. Skipped, with a message, when the
# reference is not set up (../shared/tools/tbref/setup.sh). Exit 1 on any
# mismatch; the per-log-dir summaries go to $(TBREF_OUT).
TBREF ?= ../shared/tools/tbref
TBREF_SRC ?= /tmp/tbsrc
TBREF_LOGDIRS ?= ../shared/fixtures/real
TBREF_OUT ?= /tmp/tbref/out
TBREF_ADDR ?= 127.0.0.1:6106
TBREF_PORT ?= 7007
conformance: SHELL := /bin/bash
conformance:
	@if [ ! -f "$(TBREF_SRC)/tensorboard/compat/proto/summary_pb2.py" ] || [ ! -x "$(TBREF)/run-logdir.sh" ] || [ ! -d "$(TBREF_LOGDIRS)" ]; then \
	  echo "conformance: skipped: the reference is not set up (see docs/conformance.md)"; exit 0; fi; \
	set -uo pipefail; \
	work=$$(mktemp -d /tmp/tbref-conformance.XXXXXX); \
	$(GO) build -o "$$work/tbhost" ./cmd/tbhost || exit 2; \
	"$$work/tbhost" serve --addr $(TBREF_ADDR) --data "$$work/data" >"$$work/serve.log" 2>&1 & srv=$$!; \
	trap 'kill $$srv 2>/dev/null; wait $$srv 2>/dev/null; rm -rf "$$work"' EXIT; \
	for i in $$(seq 100); do curl -sf -o /dev/null http://$(TBREF_ADDR)/healthz && break; kill -0 $$srv 2>/dev/null || { cat "$$work/serve.log"; exit 2; }; sleep 0.2; done; \
	total=0; failed=0; dirs=0; \
	while IFS= read -r -d '' d; do \
	  find "$$d" -type f -name '*tfevents*' -print -quit | grep -q . || continue; \
	  rel=$${d#$(TBREF_LOGDIRS)/}; name=$$(printf '%s' "$$rel" | tr -c 'A-Za-z0-9._-' '_'); dirs=$$((dirs + 1)); \
	  if find "$$d" -mindepth 1 -type d -name '*tfevents*' -print -quit | grep -q .; then \
	    echo "$$name: TensorBoard's loader cannot read a folder named *tfevents*: comparing a copy with those folders renamed (tfevents -> tfevent_s)"; \
	    cp -a "$$d" "$$work/$$name" && d="$$work/$$name"; \
	    find "$$d" -mindepth 1 -depth -type d -name '*tfevents*' | while IFS= read -r x; do b=$$(basename "$$x"); mv "$$x" "$$(dirname "$$x")/$${b//tfevents/tfevent_s}"; done; \
	  fi; \
	  out=$$(OUT=$(TBREF_OUT) TBHOST_BIN="$$work/tbhost" TBHOST_SERVER=http://$(TBREF_ADDR) "$(TBREF)/run-logdir.sh" "$$d" "$$name" $(TBREF_PORT)); rc=$$?; \
	  echo "$$out"; \
	  n=$$(sed -n 's/.*mismatches: \([0-9][0-9]*\);.*/\1/p' "$(TBREF_OUT)/$$name.txt" 2>/dev/null | head -1); \
	  if [ -z "$$n" ]; then failed=$$((failed + 1)); else total=$$((total + n)); fi; \
	done < <(find "$(TBREF_LOGDIRS)" -mindepth 2 -maxdepth 2 -type d -print0 | sort -z); \
	echo "conformance: $$dirs log dirs; total mismatches: $$total; log dirs not compared: $$failed (summaries in $(TBREF_OUT))"; \
	[ "$$total" -eq 0 ] && [ "$$failed" -eq 0 ]

clean:
	rm -rf bin frontend/node_modules

# ShelfTag front door. `make demo` and `make test` work on a fresh Debian machine with the Swift toolchain, as root.
SHELL := /bin/bash
APT_PACKAGES := libqrencode-dev libpng-dev zlib1g-dev libsqlite3-dev libfreetype-dev libfontconfig-dev libcairo2-dev fonts-dejavu-core zbar-tools poppler-utils curl postgresql python3 python3-venv
BENCH_PACKAGES := sqlite3 qrencode wrk
# A print server the office-printer tests send PDFs to (a throwaway cupsd per test; the system's is left alone), and the
# browser the page-layout tests and the screenshots look through.
TEST_PACKAGES := cups-daemon chromium
DEMO_DIR := demo
DEMO_DB := $(DEMO_DIR)/shelftag.sqlite
DEMO_PORT := 8080
# The sheet demo's products: 21 printed with the standard template (a promotion needs the promotion template, which
# shows its prior price), as --gtin options.
DEMO_SHEET_GTINS = $$(grep ',standard,PAR01/' $(DEMO_DIR)/tags/PAR01/manifest.csv | head -21 | cut -d, -f1 | sed 's/^/--gtin /')
BIN := .build/release/shelftag

WITH_POSTGRES := Tests/with-postgres.sh
# The Python test helpers' packages, pinned: a ZPL renderer (zplkit) reads the labels back, OpenCV reads the QR codes
# of simulated phone frames (a newer OpenCV detects differently), openapi-spec-validator and schemathesis check the API,
# websocket-client speaks Chromium's DevTools protocol.
TEST_PYTHON := .build/test-python/bin/python
TEST_PYTHON_PACKAGES := zplkit==0.3.2 opencv-python-headless==5.1.0.95 numpy openapi-spec-validator==0.9.0 schemathesis==4.32.5 websocket-client==1.9.2
# Made once the packages are in, named for the list: an interrupted install, or a changed list, installs again.
TEST_PYTHON_READY := .build/test-python/installed-$(shell echo '$(TEST_PYTHON_PACKAGES)' | cksum | cut -d' ' -f1)
CHAIN_PORTS := 8081 8082

.PHONY: deps test-deps bench-deps build test demo demo-chain bench soak fuzz screenshots lint clean

# Installs the Debian packages of a list that are missing.
define install-missing
@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
if [ -n "$$missing" ]; then \
	echo "Installing:" $$missing; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
fi
endef

deps:
	$(call install-missing,$(APT_PACKAGES))

test-deps: deps
	$(call install-missing,$(TEST_PACKAGES))

bench-deps: deps
	$(call install-missing,$(BENCH_PACKAGES))

build: deps
	swift build -c release --product shelftag

# The PostgreSQL tests run against a throwaway cluster that Tests/with-postgres.sh starts and always removes.
# The chain suite times how soon one resolver sees another's write (under 1 s): it runs alone, after the rest, so
# the other suites' load on a 2-core machine does not count in its figure.
$(TEST_PYTHON_READY): | deps
	python3 -m venv .build/test-python
	$(TEST_PYTHON) -m pip install -q --disable-pip-version-check $(TEST_PYTHON_PACKAGES)
	touch $@

# Every test's temporary files go to one folder per run (TMPDIR), removed whatever the outcome: a test that fails
# half-way, or a child process it kills, leaves nothing in /tmp. Readable by the `postgres` user, whose clusters live there.
test: test-deps $(TEST_PYTHON_READY)
	swift build --build-tests
	@export TMPDIR=$$(mktemp -d /tmp/shelftag-test.XXXXXX) && chmod 755 "$$TMPDIR" && trap 'rm -rf "$$TMPDIR"' EXIT && \
		$(WITH_POSTGRES) sh -c 'swift test --skip-build --parallel --skip ChainTests && swift test --skip-build --filter ChainTests'

# Loads Samples/ into a fresh embedded database and shows what every channel will read.
demo: build
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@echo "== Loading Samples/ into $(DEMO_DB): a price history first, then the current feeds"
	$(BIN) import --db $(DEMO_DB) --as-of 2026-10-01T06:00Z Samples/stores.csv Samples/history/products-2026-10-01.tsv Samples/history/local_inventory-2026-10-01.tsv
	$(BIN) import --db $(DEMO_DB) --as-of 2026-10-25T06:00Z Samples/history/products-2026-10-25.tsv Samples/history/local_inventory-2026-10-25.tsv
	$(BIN) import --db $(DEMO_DB) --as-of 2026-11-20T06:00Z Samples/stores.csv Samples/products.xml Samples/local_inventory.tsv Samples/product_reviews.xml
	@echo
	@echo "== A few products (shelftag products list)"
	@$(BIN) products list --db $(DEMO_DB) | head -n 6
	@echo
	@echo "== A promotion, as every channel will show it (shelftag products show)"
	@$(BIN) products show --db $(DEMO_DB) $$(sed -n 2p Samples/promotions.tsv | cut -f1)
	@echo
	@echo "== A store price that differs from the web (planted for the parity check)"
	@$(BIN) products show --db $(DEMO_DB) $$(sed -n 2p Samples/planted.tsv | cut -f2)
	@echo
	@echo "== Shelf tags for every sample store (shelftag render), recorded in the print ledger"
	@$(BIN) render --db $(DEMO_DB) --all-stores --out $(DEMO_DIR)/tags --base-url http://127.0.0.1:$(DEMO_PORT)
	@echo "== One A4 sheet of standard tags with cut marks (preview: not recorded)"
	@$(BIN) render --db $(DEMO_DB) --store PAR01 --out $(DEMO_DIR)/sheets --sheet a4 --template standard --preview \
		$(DEMO_SHEET_GTINS)
	@echo "== The same sheet as a PDF for the office printer, and PAR01's tags as ZPL for a 203 dpi thermal printer,"
	@echo "   in walking order with the store's layout (Samples/layout-PAR01.csv: promotions also on their end caps)"
	@$(BIN) render --db $(DEMO_DB) --store PAR01 --out $(DEMO_DIR)/pdf --format pdf --sheet a4 --template standard --preview \
		$(DEMO_SHEET_GTINS)
	@$(BIN) render --db $(DEMO_DB) --store PAR01 --out $(DEMO_DIR)/zpl --format zpl --dpi 203 --preview --layout Samples/layout-PAR01.csv \
		--base-url http://127.0.0.1:$(DEMO_PORT)
	@echo
	@echo "== An associate in PAR01 (shelftag associates add): public code, store, name, sign-in secret (shown once)"
	@$(BIN) associates add --db $(DEMO_DB) --store PAR01 --name "Léa" --languages fr,en | tee $(DEMO_DIR)/associate.csv
	@echo "   Her link to a product, also written as a QR code to $(DEMO_DIR)/associate-link.png:"
	@$(BIN) associates link --db $(DEMO_DB) $$(cut -d, -f1 $(DEMO_DIR)/associate.csv) --gtin 3760001001983 \
		--base-url http://127.0.0.1:$(DEMO_PORT) --qr $(DEMO_DIR)/associate-link.png 2>/dev/null | sed 's/^/   /'
	@echo "   Her page: http://127.0.0.1:$(DEMO_PORT)/associates/$$(cut -d, -f1 $(DEMO_DIR)/associate.csv)"
	@echo "   Work view: http://127.0.0.1:$(DEMO_PORT)/work/sign-in  (code and secret above)"
	@echo
	@echo "Database: $(DEMO_DB)"
	@echo "Tags:     $(DEMO_DIR)/tags/<store>/<gtin14>.png (manifest.csv beside them), e.g. $(DEMO_DIR)/tags/$$(sed -n 2p $(DEMO_DIR)/tags/PAR01/manifest.csv | cut -d, -f7)"
	@echo "Sheet:    $(DEMO_DIR)/sheets/PAR01/sheets/standard-001.png, as PDF $(DEMO_DIR)/pdf/PAR01/sheets.pdf"
	@echo "Labels:   $(DEMO_DIR)/zpl/PAR01/tags.zpl (send with: nc PRINTER 9100 < $(DEMO_DIR)/zpl/PAR01/tags.zpl)"
	@echo "Look further: $(BIN) products list --db $(DEMO_DB)   |   $(BIN) products show --db $(DEMO_DB) GTIN"
	@echo
	@echo "== The resolver (shelftag serve) on http://127.0.0.1:$(DEMO_PORT); the demo tags' QR codes open these URLs:"
	@sed -n '2p;3p' $(DEMO_DIR)/tags/PAR01/manifest.csv | cut -d, -f11 | sed 's/^/   phone page:  /'
	@grep ',promotion,' $(DEMO_DIR)/tags/LYO02/manifest.csv | head -n 1 | cut -d, -f11 | sed 's/^/   promotion:   /'
	@sed -n 2p $(DEMO_DIR)/tags/PAR01/manifest.csv | cut -d, -f11 | sed 's/$$/\&linkType=linkset/; s/^/   linkset:     /'
	@echo "   JSON:        curl -H 'Accept: application/json' '$$(sed -n 2p $(DEMO_DIR)/tags/PAR01/manifest.csv | cut -d, -f11)'"
	@echo "   Also /healthz, /metrics, /.well-known/gs1resolver. Ctrl-C stops the resolver."
	@# The sample stores are 200 to 500 km apart: a radius that shows them as nearby (the default is 50 km).
	@$(BIN) serve --db $(DEMO_DB) --port $(DEMO_PORT) --nearby-radius 600 & server=$$!; \
	for i in $$(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$(DEMO_PORT)/healthz && break; sleep 0.2; done; \
	echo; echo "== A reservation made against the sample data (POST /products/03760001001983/reserve):"; \
	curl -s -X POST -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \
		-d '{"store": "PAR01", "quantity": 2, "name": "Léa M.", "contact": "lea@example.com"}' \
		http://127.0.0.1:$(DEMO_PORT)/products/03760001001983/reserve; echo; \
	echo "   Staff: $(BIN) reservations list --db $(DEMO_DB) --store PAR01"; echo; \
	trap 'kill $$server' INT TERM; wait $$server

# A chain on one machine: a throwaway PostgreSQL, the samples, two resolvers sharing it; a price posted to one
# shows on the other. Ctrl-C stops both and removes the cluster.
demo-chain: build
	@$(WITH_POSTGRES) bash -c 'set -e; db="$$SHELFTAG_TEST_POSTGRES_URL"; \
	echo "== Loading Samples/ into $$db"; \
	$(BIN) import --db "$$db" --as-of 2026-10-01T06:00Z Samples/stores.csv Samples/history/products-2026-10-01.tsv Samples/history/local_inventory-2026-10-01.tsv; \
	$(BIN) import --db "$$db" --as-of 2026-10-25T06:00Z Samples/history/products-2026-10-25.tsv Samples/history/local_inventory-2026-10-25.tsv; \
	$(BIN) import --db "$$db" --as-of 2026-11-20T06:00Z Samples/stores.csv Samples/products.xml Samples/local_inventory.tsv Samples/product_reviews.xml; \
	pids=""; for port in $(CHAIN_PORTS); do $(BIN) serve --db "$$db" --port $$port --base-url http://127.0.0.1:8081 --log-level warning & pids="$$pids $$!"; done; \
	trap "kill $$pids 2>/dev/null" EXIT; \
	for port in $(CHAIN_PORTS); do for i in $$(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$$port/healthz && break; sleep 0.2; done; done; \
	token=$$($(BIN) token create --db "$$db" --store PAR01 --scope prices); \
	echo; echo "== Two resolvers on one reference: http://127.0.0.1:8081 and http://127.0.0.1:8082"; \
	for port in $(CHAIN_PORTS); do printf "   :%s shows " $$port; curl -s -H "Accept: application/json" "http://127.0.0.1:$$port/01/03760001001983?s=PAR01" | grep -o "\"formatted\":\"[^\"]*\"" | head -n 1; done; \
	echo "== A price posted to :8081 (POST /api/stores/PAR01/prices)"; \
	curl -s -X POST -H "Authorization: Bearer $$token" -H "Content-Type: application/json" -d "{\"gtin\": \"03760001001983\", \"price\": \"9.99 EUR\"}" http://127.0.0.1:8081/api/stores/PAR01/prices; echo; \
	sleep 0.5; printf "   :8082 now shows "; curl -s -H "Accept: application/json" "http://127.0.0.1:8082/01/03760001001983?s=PAR01" | grep -o "\"formatted\":\"[^\"]*\"" | head -n 1; \
	echo; echo "   Try: $(BIN) products list --db \"$$db\" | head"; echo "   Ctrl-C stops both resolvers and removes the cluster."; \
	wait'

bench: bench-deps
	swift build -c release --product shelftag
	swift build -c release --product ShelfTagBench
	$(WITH_POSTGRES) .build/release/ShelfTagBench --shelftag $(BIN) --work bench-out $(BENCH_ARGS)

# libFuzzer on the Digital Link parser (plain and compressed), every feed reader, the JSON request bodies and a printer's
# IPP answers, each for
# FUZZ_SECONDS (not part of make test). The domain and feed modules are built instrumented apart from the normal
# build; new inputs go to .build/fuzz/corpus/NAME, crashes to .build/fuzz/crashes/NAME (make it a regression test).
FUZZ_SECONDS ?= 180
FUZZ_TARGETS := digital-link feeds bodies ipp
fuzz: deps
	swift build --scratch-path .build/fuzz --target ShelfTagFeeds -Xswiftc -sanitize=fuzzer,address
	@for target in $(FUZZ_TARGETS); do \
		objects=".build/fuzz/debug/ShelfTagDomain.build/*.o"; \
		[ $$target = feeds ] && objects="$$objects .build/fuzz/debug/ShelfTagFeeds.build/*.o"; \
		sources=""; [ $$target = ipp ] && sources="Sources/ShelfTagPrinting/IPPMessage.swift"; \
		swiftc -sanitize=fuzzer,address -parse-as-library -I .build/fuzz/debug/Modules Tests/Fuzz/$$target.swift $$sources $$objects \
			-o .build/fuzz/$$target 2>&1 | grep -v "Cannot export local symbol" || true; \
	done
	@for target in $(FUZZ_TARGETS); do \
		mkdir -p .build/fuzz/corpus/$$target .build/fuzz/crashes/$$target; \
		echo "== fuzzing $$target for $(FUZZ_SECONDS) s"; \
		SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=Tests/Fuzz/lsan.supp .build/fuzz/$$target -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-max_len=4096 -artifact_prefix=.build/fuzz/crashes/$$target/ .build/fuzz/corpus/$$target Tests/Fuzz/seeds/$$target 2>&1 \
			| grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)|ERROR|SUMMARY|Test unit written" || true; \
		echo "   corpus: $$(ls .build/fuzz/corpus/$$target | wc -l) inputs; crashes: $$(ls .build/fuzz/crashes/$$target | wc -l)"; \
		[ -z "$$(ls .build/fuzz/crashes/$$target)" ] || exit 1; \
	done

# The pages people look at, as headless Chromium shows them: the work view at 1024 px, the shopper's page at 390 px.
screenshots: build test-deps $(TEST_PYTHON_READY)
	$(TEST_PYTHON) Tests/chromium_pages.py --shelftag $(BIN) --out screenshots

# The reliability campaign, bounded (a few minutes): killed imports, an import under load, hostile feeds, slow clients.
soak: bench-deps
	swift build -c release --product shelftag
	swift build -c release --product ShelfTagBench
	.build/release/ShelfTagBench --shelftag $(BIN) --work soak-out --only soak $(SOAK_ARGS)

lint:
	swift format lint --strict --recursive Sources Tests Package.swift

clean:
	rm -rf .build $(DEMO_DIR) bench-out soak-out screenshots

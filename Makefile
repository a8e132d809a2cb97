SHELL := /bin/bash
# The two commands of the README: `make run` and `make test`. Both set everything up first
# (scripts/setup.sh is idempotent and returns in well under a second when nothing is missing).
SWIFT       ?= swift
SETUP_FLAGS ?=
RELEASE_BIN := .build/release/visage
DEBUG_BIN   := .build/debug/visage
SAMPLE      ?= Samples/obama.jpg
OUT         ?= out

.PHONY: all setup build build-debug run test bench doctor clean bundle test-bundle clean-bundle

all: build

setup:
	@scripts/setup.sh $(SETUP_FLAGS)

build: setup
	$(SWIFT) build -c release --product visage

build-debug: setup
	$(SWIFT) build --build-tests

## run: set up, install the default models, detect faces in the bundled sample, swap it onto the other sample, check the server
run: build
	@mkdir -p $(OUT)
	@# Official URL first; a developer/CI checkout without internet falls back to ../shared/models.
	@$(RELEASE_BIN) models install yunet-2023mar || { test -f ../shared/models/models.json && \
	  echo "make run: download failed; installing from the local mirror ../shared/models" && \
	  VISAGE_MODEL_MIRROR="$(abspath ../shared/models)" $(RELEASE_BIN) models install yunet-2023mar; }
	$(RELEASE_BIN) detect $(SAMPLE) --draw $(OUT)/obama-faces.png
	@echo "annotated image: $(OUT)/obama-faces.png"
	@$(RELEASE_BIN) models install pfld-68 sface-2021dec-int8bq >/dev/null 2>&1 || \
	  VISAGE_MODEL_MIRROR="$(abspath ../shared/models)" $(RELEASE_BIN) models install pfld-68 sface-2021dec-int8bq >/dev/null
	$(RELEASE_BIN) swap -s Samples/obama.jpg -t Samples/biden.jpg -o $(OUT)/obama-on-biden.png
	$(RELEASE_BIN) swap -s Samples/obama.jpg -t Samples/astronaut.png -o $(OUT)/obama-on-astronaut.png
	$(RELEASE_BIN) compare Samples/obama.jpg $(OUT)/obama-on-biden.png
	@# The HTTP server: start it on a free loopback port, call /health, stop it.
	@scripts/serve-check.sh $(RELEASE_BIN)

## test: set up (with the test suite's tools: headless Chromium, Slurm + munge), build, run every test (integration tests need models: VISAGE_MODEL_MIRROR or network)
test: SETUP_FLAGS += --test
test: build-debug
	@scripts/setup-twins.sh
	@# Every test's scratch files go under one folder for this run, removed at the end (tests and the
	@# programs they start create them through TMPDIR), so runs do not pile gigabytes up in /tmp.
	@set -o pipefail; scratch=$$(mktemp -d /tmp/visage-test-run.XXXXXX); trap 'rm -rf "$$scratch"' EXIT; \
	  TMPDIR=$$scratch $(SWIFT) test --skip-build --disable-xctest 2>&1 | tee .build/test.log; status=$$?; \
	  scripts/test-summary.sh .build/test.log; exit $$status

bench: build
	$(RELEASE_BIN) bench detect --model scrfd-500m --json
	$(RELEASE_BIN) bench detect --model scrfd-2.5g --json
	$(RELEASE_BIN) bench detect --model yunet-2023mar --json

doctor: build
	$(RELEASE_BIN) doctor

## bundle: dist/visage-linux-<arch>.tar.xz, runs on a bare glibc >= 2.36 Linux without Swift/OpenCV/FFmpeg (docs/BUNDLE.md)
bundle:
	@scripts/setup.sh --bundle $(SETUP_FLAGS)
	scripts/build-bundle.sh

## test-bundle: run the bundle inside a bare Debian 12 chroot (root; slow the first time; not part of `make test`)
test-bundle: bundle
	scripts/test-bundle.sh

clean-bundle:
	rm -rf dist .build-bundle

clean:
	rm -rf .build $(OUT)

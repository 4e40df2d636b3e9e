# The two commands of the README. Cargo's target dir lives outside the clone
# so that repeated runs (and CI on the same machine) reuse the build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/upres-target
UPRES_DATA ?= ../shared/data
TRAINER := $(CARGO_TARGET_DIR)/release/trainer
DEMO := runs/demo

.PHONY: demo test build

build:
	cargo build --release --locked -p trainer

# Until the web demo exists: import the reference VDSR, upscale a Set5 image
# x2 and x4 with it, and print the papers' table for it.
demo: build
	mkdir -p $(DEMO)
	$(TRAINER) import --arch vdsr --scale 2 3 4 \
	  --from $(UPRES_DATA)/weights/vdsr-twtygqyy/vdsr_x234.safetensors \
	  --author "twtygqyy/pytorch-vdsr (MIT), imported" --training-data "291 (T91 + BSD200), 50 epochs" \
	  --out $(DEMO)/vdsr-reference.safetensors
	$(TRAINER) info $(DEMO)/vdsr-reference.safetensors
	$(TRAINER) upscale --weights $(DEMO)/vdsr-reference.safetensors --scale 2 \
	  $(UPRES_DATA)/benchmark/Set5/LR_bicubic/X2/butterflyx2.png $(DEMO)/butterfly_vdsr_x2.png
	$(TRAINER) upscale --weights $(DEMO)/vdsr-reference.safetensors --scale 4 \
	  $(UPRES_DATA)/benchmark/Set5/LR_bicubic/X4/butterflyx4.png $(DEMO)/butterfly_vdsr_x4.png
	$(TRAINER) features --weights $(DEMO)/vdsr-reference.safetensors --scale 2 \
	  --image $(UPRES_DATA)/benchmark/Set5/LR_bicubic/X2/birdx2.png --out $(DEMO)/features
	$(TRAINER) eval --weights $(DEMO)/vdsr-reference.safetensors --scale 2 3 4 \
	  --data $(UPRES_DATA)/benchmark/Set5/HR $(UPRES_DATA)/benchmark/Set14/HR
	@echo "demo outputs in $(DEMO)/"

# Release everywhere: the tests run real models, and debug burn is ~100x slower.
test: build
	UPRES_DATA=$(abspath $(UPRES_DATA)) UPRES_TRAINER=$(TRAINER) cargo test --release --locked --workspace --no-fail-fast

# A thin wrapper over CMake: the README's two commands.
BUILD ?= build
DEBIAN_PACKAGES := cmake gcc g++ binutils make libtcc-dev tcc libcmocka-dev libopenblas-dev \
                   zlib1g-dev dataset-fashion-mnist clang libclang-rt-14-dev pkg-config graphviz \
                   libprotobuf-c-dev protobuf-c-compiler libonnx-testdata
# Fuzzing: seconds per target for `make fuzz`, for each target of `make fuzz-long`.
FUZZ_SECONDS ?= 30
FUZZ_LONG_SECONDS ?= 3600
FUZZ_BUILD ?= build-fuzz

# make install PREFIX=/opt/nabla: the header, the library and its CMake and pkg-config
# files (docs/install.md).
PREFIX ?= /usr/local

# make aot: epochs of the JIT's training before the model is exported (docs/aot.md).
AOT_EPOCHS ?= 2
AOT_DIR = $(BUILD)/aot

.PHONY: all run aot test deps build install sanitize fuzz fuzz-build fuzz-long bench clean \
        onnx-coverage

all: build

# Installs the Debian packages that are missing (only those), as root or with sudo.
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) >/dev/null
	cmake --build $(BUILD) -j2

run: build
	$(BUILD)/examples/seed_autograd
	$(BUILD)/examples/fashion_mnist --epochs 2
	@echo "next: make aot (the same model exported as plain C and run without nabla)"

# fashion_mnist's model ahead of time (examples/aot, docs/aot.md): trains AOT_EPOCHS
# epochs in the JIT and saves a checkpoint, builds the classifier with the checkpoint's
# weights baked into plain C (nabla_add_model, at build time), classifies the test set
# with it and prints both test accuracies.
aot: build
	@mkdir -p $(AOT_DIR)
	$(BUILD)/examples/fashion_mnist --epochs $(AOT_EPOCHS) --denormals ieee \
	  --save $(abspath $(AOT_DIR))/fashion_mnist.safetensors | tee $(AOT_DIR)/jit.log
	@grep -q '^test accuracy' $(AOT_DIR)/jit.log
	cmake -S . -B $(BUILD) -DNABLA_AOT_WEIGHTS=$(abspath $(AOT_DIR))/fashion_mnist.safetensors >/dev/null
	cmake --build $(BUILD) -j2 --target classify
	@ls -l $(BUILD)/examples/aot/classifier/classifier.c $(BUILD)/examples/aot/classify
	@echo "nabla's JIT:           $$(grep '^test accuracy' $(AOT_DIR)/jit.log)"
	@echo "exported classify.c:   $$($(BUILD)/examples/aot/classify)"

test: build
	cd $(BUILD) && ctest --output-on-failure -j2

# docs/onnx-coverage.md written again from ONNX's backend tests (libonnx-testdata), run
# on both backends by tests/onnx/conformance.sh; the ctest onnx_conformance fails while
# the committed page differs from the results.
onnx-coverage: build
	sh tests/onnx/conformance.sh --update $(BUILD)/tools/nabla $(CURDIR) $(BUILD)/onnx-coverage.md

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# Compile time per phase (bench/compile_time.c) for the sum and deep chains and the MLP
# training step; BENCH_ARGS are passed on, e.g. make bench BENCH_ARGS="--repeat 5".
BENCH_ARGS ?= --graph all
bench: build
	$(BUILD)/bench/bench_compile_time $(BENCH_ARGS)

# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize: deps
	cmake -S . -B build-asan -DNABLA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j2
	cd build-asan && ctest --output-on-failure -j2

# libFuzzer under ASan+UBSan (clang): each tests/fuzz/fuzz_<name> target runs for
# FUZZ_SECONDS on a copy of tests/fuzz/corpus/<name>/ in a temporary directory, so the
# repository is never written; any crash, leak or sanitizer report fails, and the input
# that caused it is kept in $(FUZZ_BUILD)/artifacts/.
fuzz-build: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DNABLA_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j2 --target nabla_fuzz

fuzz: fuzz-build
	@mkdir -p $(FUZZ_BUILD)/artifacts
	@set -e; for t in $(FUZZ_BUILD)/tests/fuzz/fuzz_*; do \
	  name=$${t##*/fuzz_}; work=$$(mktemp -d); \
	  cp -R tests/fuzz/corpus/$$name/. $$work/ 2>/dev/null || true; \
	  echo "fuzz_$$name: $(FUZZ_SECONDS) s"; \
	  rc=0; $$t -max_total_time=$(FUZZ_SECONDS) -timeout=25 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$name- $$work \
	    2>$(FUZZ_BUILD)/fuzz_$$name.log || rc=$$?; \
	  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+ +DONE" \
	    $(FUZZ_BUILD)/fuzz_$$name.log || true; \
	  rm -rf $$work; \
	  if [ $$rc -ne 0 ]; then tail -40 $(FUZZ_BUILD)/fuzz_$$name.log; exit $$rc; fi; \
	done

# A long campaign that merges the inputs adding coverage into the committed corpora
# (review and commit them): make fuzz-long FUZZ_LONG_SECONDS=3600 [FUZZ_TARGETS=idx].
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz-long: fuzz-build
	@mkdir -p $(FUZZ_BUILD)/artifacts
	@set -e; for name in $(FUZZ_TARGETS); do \
	  t=$(FUZZ_BUILD)/tests/fuzz/fuzz_$$name; work=$$(mktemp -d); \
	  cp -R tests/fuzz/corpus/$$name/. $$work/ 2>/dev/null || true; \
	  $$t -max_total_time=$(FUZZ_LONG_SECONDS) -timeout=25 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$name- $$work; \
	  mkdir -p tests/fuzz/corpus/$$name; \
	  $$t -merge=1 tests/fuzz/corpus/$$name $$work; \
	  rm -rf $$work; \
	done

clean:
	rm -rf $(BUILD) build-asan $(FUZZ_BUILD)

# snakecage: the two commands a new user needs.
#   make example   install what is needed, build, run examples/hello.py
#   make test      install what is needed, build, run the whole test suite
#                  (ctest, the Python package's pytest suite, then the suite
#                  again under ASan+UBSan and every fuzz target for
#                  TEST_FUZZ_SECONDS)
#   make package   the same set-up, then the .deb (build/packages/)
#   make bench     the same set-up, then the benchmarks against python3.11
#   make bench-executor   the same set-up, then `snakecage bench` (warm executor)
#   make bench-python     the same set-up, then the Python package's overhead
#   make test-sanitize    the host code with ASan+UBSan (build-sanitize/), its test suite
#   make fuzz             the libFuzzer targets (fuzz/), FUZZ_SECONDS each (default 60)
BUILD_DIR ?= build
SANITIZE_BUILD_DIR ?= build-sanitize
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 15
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: example test build deps package bench bench-executor bench-python sanitize-build test-sanitize fuzz clean

deps:
	scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja \
	  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

example: build
	$(BUILD_DIR)/bin/snakecage run examples/hello.py

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	scripts/test-python.sh $(BUILD_DIR)
	$(MAKE) test-sanitize
	scripts/run-fuzzers.sh $(SANITIZE_BUILD_DIR) $(TEST_FUZZ_SECONDS)

# The host code with AddressSanitizer, UndefinedBehaviorSanitizer and the
# libFuzzer targets, in its own tree (the generated guest C is not
# instrumented and comes from the same cache).
sanitize-build: deps
	cmake -S . -B $(SANITIZE_BUILD_DIR) -G Ninja \
	  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 -DSNAKECAGE_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build $(SANITIZE_BUILD_DIR) -j $(JOBS)

test-sanitize: sanitize-build
	cd $(SANITIZE_BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

fuzz: sanitize-build
	scripts/run-fuzzers.sh $(SANITIZE_BUILD_DIR) $(FUZZ_SECONDS)

# A .deb for Debian bookworm (CPack, packaging/CMakeLists.txt).
package: build
	cmake --build $(BUILD_DIR) --target package

# Speed against Debian's python3.11, measured in the same run (bench/README.md).
bench: build
	cmake --build $(BUILD_DIR) --target bench -j $(JOBS)
	/usr/bin/python3 bench/run_benchmarks.py --build-dir $(BUILD_DIR)

# The Python package's overhead against the library's own Execute() and
# against subprocess python3.11 (bench/python_binding.py).
bench-python: build
	scripts/test-python.sh --bench $(BUILD_DIR)

# The warm executor (latency, executions/s, private memory) against
# python3.11 and the cold path, measured in the same run (bench/README.md).
bench-executor: build
	$(BUILD_DIR)/bin/snakecage bench

clean:
	rm -rf $(BUILD_DIR)

# falkorsync: short wrapper around CMake + ctest and the project's scripts.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
SIZE ?=
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all build deps install test unit compat demo servers servers-stop servers-status asan fuzz lint format bench bench-param clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The binary, falkorsync(1), the example configuration and the systemd unit
# under $(PREFIX), staged below $(DESTDIR) when it is set.
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

test:
	@scripts/test.sh

unit: build
	cd $(BUILD) && ctest -L unit --output-on-failure

# The core integration tests against the newest Neo4j (scripts/compat.sh),
# on servers of its own; `make test` runs it too.
compat: build
	@scripts/deps.sh
	@BUILD=$(BUILD) scripts/compat.sh

servers:
	@scripts/servers.sh start

servers-stop:
	@scripts/servers.sh stop

servers-status:
	@scripts/servers.sh status

demo:
	@scripts/demo.sh

asan:
	cmake -S . -B build-asan -G Ninja -DFALKORSYNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure $(CTEST_ARGS)

fuzz:
	CC=clang cmake -S . -B build-fuzz -G Ninja -DFALKORSYNC_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
	  -DFUZZ_SECONDS=$(or $(FUZZ_SECONDS),30)
	cmake --build build-fuzz -j $(JOBS)
	cd build-fuzz && ctest -L fuzz --output-on-failure

lint:
	@scripts/lint.sh

# Rewrites every tracked C file as .clang-format says (lint checks it).
format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

bench: build
	@BUILD=$(BUILD) scripts/bench.sh $(SIZE)

# The FalkorDB parameter encoder's speed (embeddings as float32/double text, 1 MB strings).
bench-param: build
	$(BUILD)/falkorsync-param-bench

clean:
	rm -rf $(BUILD) build-asan build-fuzz

# The commands a user types. Each installs what it needs (scripts/setup.sh),
# configures a CMake/Ninja build folder and builds before it runs.
#
#   make test        build and run every test (unit, simulator, storage, ...)
#   make test-asan   the same suites under AddressSanitizer + UBSan (build-asan/)
#   make test-tsan   the threaded suites (runtime, transport, storage) under ThreadSanitizer (build-tsan/)
#   make sim         the simulator on a 5-node cluster with faults, with a summary
#   make soak        the simulator over as many seeds as SOAK_SECONDS allows
#   make mutants     proves the simulator catches each bug in tests/sim/mutants/
#   make fuzz        the libFuzzer targets for FUZZ_SECONDS each
#   make run_client  the 2015 demo: raft_client --single, ten commands
#   make demo-cluster  three raft_client processes; the leader is killed mid-way
#   make chaos       raftkv under faults in network namespaces for CHAOS_SECONDS, 3 then 5 nodes
#   make raftkv      build examples/raftkv (see examples/raftkv/README.md)

JOBS       ?= $(shell nproc)
BUILD      ?= build
SOAK_SECONDS ?= 600
FUZZ_SECONDS ?= 60
CHAOS_SECONDS ?= 600
CMAKE_FLAGS ?=
# ccache: paths relative to the clone, so every clone shares one cache.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all setup build test test-asan test-tsan sim soak mutants fuzz clean chaos raftkv

all: build

setup:
	@./scripts/setup.sh

$(BUILD)/build.ninja: | setup
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) >/dev/null

build: setup $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 600

build-asan/build.ninja: | setup
	@cmake -S . -B build-asan -G Ninja -DRAFT_SANITIZE=address -DRAFT_SIM_SEEDS=400 >/dev/null

test-asan: setup build-asan/build.ninja
	@cmake --build build-asan -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build-asan --output-on-failure -j $(JOBS) --timeout 900 -LE no_asan

build-tsan/build.ninja: | setup
	@cmake -S . -B build-tsan -G Ninja -DRAFT_SANITIZE=thread >/dev/null

# Threads only live above the core: the integration, transport and storage
# tests. (The core and the simulator are single-threaded by design.)
TSAN_TARGETS = integration_test raft_test_node three_nodes transport_test storage_test
test-tsan: setup build-tsan/build.ninja
	@cmake --build build-tsan -j $(JOBS) --target $(TSAN_TARGETS)
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir build-tsan --output-on-failure -j $(JOBS) --timeout 900 -L 'integration|transport|storage'

sim: build
	@./$(BUILD)/tests/sim/sim --nodes 5 --seed $${SEED:-1} --summary

soak: build
	@./$(BUILD)/tests/sim/sim --soak $(SOAK_SECONDS)
	@RAFT_STORAGE_SOAK=$${RAFT_STORAGE_SOAK:-20} ./$(BUILD)/tests/unit/storage/storage_test \
	  --gtest_brief=1 --gtest_filter='*Crash*:*Corruption*:*Fuzz*:*Kill*:*Concurrency*'

mutants: setup
	@./tests/sim/run_mutants.sh

fuzz: setup
	@./scripts/fuzz.sh $(FUZZ_SECONDS)

# The long chaos run (docs/testing.md); `make test` runs a bounded one.
# CHAOS_SEED=N replays a schedule.
chaos: build
	@for n in 3 5; do \
	  ./$(BUILD)/tests/chaos/raftkv_chaos --raftkv ./$(BUILD)/examples/raftkv/raftkv --nodes $$n \
	    --duration $(CHAOS_SECONDS) --dir $(BUILD)/chaos-long-$$n $${CHAOS_SEED:+--seed $$CHAOS_SEED} || exit 1; \
	done

raftkv: setup $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS) --target raftkv

clean:
	rm -rf build build-asan build-tsan build-fuzz

# The 2015 API's demo (tools/raft_client.c): a node counting letters.
# RUN_CLIENT_FLAGS changes the run, e.g. RUN_CLIENT_FLAGS="--single --port 9101 -i".
RUN_CLIENT_FLAGS ?= --single -n 10 -w 100000
.PHONY: run_client demo-cluster
run_client: build
	@./$(BUILD)/tools/raft_client $(RUN_CLIENT_FLAGS)

# The 2015 README's three-node cluster on localhost (scripts/demo-cluster.sh).
demo-cluster: build
	@./scripts/demo-cluster.sh ./$(BUILD)/tools/raft_client

# lwt_rust: see README.md. `make test` and `make demo` install missing dependencies first.

CARGO ?= cargo
DUNE ?= dune
# Where dune builds: DUNE_BUILD_DIR, which dune itself reads, or _build. The other toolchains'
# passes (scripts/toolchain.sh TC) set it to _build-TC, and CARGO_TARGET_DIR and
# LWT_RUST_TARGET_DIR (read by lib/dune) to target/TC, so that they never touch the host's builds.
B := ./$(or $(DUNE_BUILD_DIR),_build)/default
CARGO_TARGET := $(or $(CARGO_TARGET_DIR),target)

.PHONY: all deps build test test-starter test-starter-offline package compile-fail loom stress lint clippy fmt demo \
	example-tcp example-lines example-direct example-postgres bench bench-ab bench-peers clean test-ocaml5 bench-ocaml5 test-lwt6 bench-lwt6

all: build

deps:
	@./scripts/deps.sh

build: deps
	$(DUNE) build

# The OCaml suites (they link the staticlib of the test crate, testlib/), again under a
# hostile GC (4k-word minor heap, aggressive major GC), the benchmark's smoke mode (tiny sizes,
# one repetition: checks that every scenario runs and computes the right results, never a
# timing), then the executor core on its own (no OCaml involved), then the macros outside a
# compiler (their phases, and expansions against snapshots: macros/src/tests/).
test: build
	$(DUNE) test --force
	OCAMLRUNPARAM='s=4k,o=20' $(DUNE) test --force
	$(B)/bench/bench.exe --smoke
	$(CARGO) test --quiet --no-default-features
	@# The unit tests of the layers that use OCaml values (type texts, stream batches, the box
	@# cache). Pure Rust, the same on every toolchain; run on OCaml 4 only, where a test binary
	@# without the OCaml runtime links (on OCaml 5 boxroot references the runtime's symbols).
	if [ "$$(ocamlfind ocamlopt -version | cut -d. -f1)" = 4 ]; then $(CARGO) test --quiet --lib; fi
	$(CARGO) test --quiet -p lwt_rust_macros
	$(MAKE) compile-fail
	$(MAKE) loom
	$(MAKE) test-starter
	$(MAKE) package
	./scripts/check-panic-abort.sh

# The two crates as they would be published (no build of the packaged sources: offline-safe).
package:
	$(CARGO) package --no-verify --allow-dirty --quiet -p lwt_rust_macros -p lwt_rust

# examples/starter built and run outside this repository against the library installed by
# `dune install --prefix <tmp>` (OCAMLPATH), its lwt_rust crate taken from here by path
# (scripts/test-starter.sh).
test-starter: build
	./scripts/test-starter.sh

# The same with the network cut (unshare -n, as root) and cargo offline: the way an opam
# sandbox builds, from a warm cargo cache.
test-starter-offline: build
	OFFLINE=1 ./scripts/test-starter.sh

# Hostile GC (compaction inside the bridge's callbacks), valgrind memcheck, and a 10M-wake
# soak. FULL=1 compacts at every crossing in every suite (slow).
stress: build
	FULL=$(FULL) ./scripts/stress.sh

# What must not compile (an OCaml value sent to another thread, misuses of #[lwt_rust::func]),
# with the compiler's messages pinned: testlib/tests/compile_fail/ (trybuild).
compile-fail:
	$(CARGO) test --quiet -p lwt_rust_testlib --test compile_fail

# The drain protocol model-checked by loom (src/engine/executor/run_queue/loom_tests.rs).
loom:
	RUSTFLAGS="--cfg loom" $(CARGO) test --release --quiet --no-default-features --target-dir $(CARGO_TARGET)/loom loom

# Warnings as errors, formatting checked, the Rust modules layered without cycles
# (scripts/check_layers.py), no hand-written OCaml external for a Rust function outside lib/
# (scripts/check_no_externals.sh): what CI enforces.
lint: deps
	python3 scripts/check_layers.py
	./scripts/check_no_externals.sh
	$(CARGO) fmt --all --check
	$(MAKE) clippy
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --all-features --quiet
	$(DUNE) build @doc

# Clippy on both feature sets. Also run by the other toolchains' passes (scripts/toolchain.sh
# TC test), because code under `cfg(ocaml5)` is only compiled against OCaml 5.
clippy: deps
	$(CARGO) clippy --all-targets --no-default-features -- -D warnings
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

fmt:
	$(CARGO) fmt

demo: build
	$(B)/demo/callback_loop.exe

# An Lwt_io echo server and 1000 concurrent tokio clients in one process.
example-tcp: build
	$(B)/examples/tcp/tcp_echo.exe

example-lines: build
	$(B)/examples/lines/lines.exe

# Blocking functions in a child made by Lwt_unix.fork, under load: 400 runs, 8 at a time (a
# hang of the child's first call showed only with several at once; the misuse matrix in docs/09-hardening.md).
# `make test` runs it once.
check-fork-blocking: build
	seq 400 | xargs -P 8 -I{} sh -c '$(B)/test/misuse/fork_blocking.exe > /dev/null || { echo "run {} failed"; exit 255; }'
	@echo "check-fork-blocking: 400 runs passed"

# Direct-style Lwt (Lwt_direct) calling Rust async functions: Lwt 6 on OCaml 5 only (elsewhere
# it says so). `make test` runs it too.
example-direct: build
	$(B)/examples/direct/direct_style.exe

# examples/postgres (a Db object over a tokio-postgres pool) built out of tree against the
# installed library and run against a PostgreSQL server the script starts and always stops
# (installed with apt-get if missing): scripts/example-postgres.sh.
example-postgres: build
	./scripts/example-postgres.sh

# Every scenario of bench/README.md against its baseline, in one process: prints the table,
# writes bench/results.json and draws bench/chart.png (gnuplot, installed if missing and
# possible). `make bench QUICK=1`: small sizes, a few seconds, written to
# bench/results-quick.json and bench/chart-quick.png instead.
# BENCH_TAG names the toolchain's files (`-ocaml5` for the OCaml 5 pass).
BENCH_OUT = $(if $(filter-out 0,$(QUICK)),bench/results$(BENCH_TAG)-quick,bench/results$(BENCH_TAG))
BENCH_CHART = $(if $(filter-out 0,$(QUICK)),bench/chart$(BENCH_TAG)-quick.png,bench/chart$(BENCH_TAG).png)

bench: build
	$(B)/bench/bench.exe $(if $(filter-out 0,$(QUICK)),--quick) --json $(BENCH_OUT).json
	./bench/chart.sh $(BENCH_OUT).json $(BENCH_CHART)

# Another revision's benchmark against the current tree's (uncommitted changes included), built
# side by side and run alternately: `make bench-ab BASE=<rev> [ROWS=a,b] [ROUNDS=n] [REPS=k]`.
# BASE is checked out in a worktree under target/bench-ab/ (its own _build; one cargo target
# dir for every base). Each round runs both binaries on the rows, back to back; the table gives
# both medians and the median and range of the rounds' head/base ratios (scripts/bench-ab.py).
bench-ab: deps
	@test -n "$(BASE)" || { echo "usage: make bench-ab BASE=<rev> [ROWS=a,b] [ROUNDS=n] [REPS=k]" >&2; exit 2; }
	DUNE=$(DUNE) python3 scripts/bench-ab.py --base $(BASE) $(if $(ROWS),--rows $(ROWS)) \
		$(if $(ROUNDS),--rounds $(ROUNDS)) $(if $(REPS),--reps $(REPS))

# The same Rust async bodies (bench/peers/bodies) exported to Python asyncio (pyo3 +
# pyo3-async-runtimes, built by maturin in a venv), to Node (napi-rs) and to Lwt (lwt_rust, a
# project built against the installed library), timed in one run, interleaved: a ready call,
# one that yields once, a tokio round trip, 10k concurrent calls, each next to the host loop's
# own cheapest yield. Builds under target/bench-peers/ (registries: crates.io, PyPI); prints
# the table and writes bench/peers/results.md. ROUNDS=n, BUDGET=seconds per row per round.
bench-peers: deps
	python3 bench/peers/run.py $(if $(ROUNDS),--rounds $(ROUNDS)) $(if $(BUDGET),--budget $(BUDGET))

# The same on OCaml 5.3.0, dune 3.17.2, Lwt 5.9.1: Debian 13's packages in a Debian 13 root
# made with debootstrap and cached in /var/cache/lwt_rust-toolchains/ocaml5 (as root; about 2 minutes
# the first time). `make test` then `make stress` there; the benchmark writes
# bench/results-ocaml5.json and bench/chart-ocaml5.png. See scripts/toolchain.sh.
test-ocaml5:
	FULL=$(FULL) ./scripts/toolchain.sh ocaml5 test

bench-ocaml5:
	./scripts/toolchain.sh ocaml5 bench BENCH_TAG=-ocaml5 $(if $(filter-out 0,$(QUICK)),QUICK=1)

# The same on OCaml 5.4.1, dune 3.24.1, Lwt 6.1.2: Debian forky's packages in a forky root
# cached in /var/cache/lwt_rust-toolchains/lwt6 (about 4 minutes the first time).
test-lwt6:
	FULL=$(FULL) ./scripts/toolchain.sh lwt6 test

bench-lwt6:
	./scripts/toolchain.sh lwt6 bench BENCH_TAG=-lwt6 $(if $(filter-out 0,$(QUICK)),QUICK=1)

clean:
	$(DUNE) clean
	$(CARGO) clean

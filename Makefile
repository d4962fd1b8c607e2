# RedisLite build entry points. `make run` and `make test` are the two
# commands the README promises work on a fresh machine.

CARGO  ?= cargo
TARGET := $(shell rustc -vV | sed -n 's/^host: //p')
BIN    := target/$(TARGET)/release/redislite-server
LOADGEN := target/$(TARGET)/release/redislite-benchmark
# One static binary: glibc linked statically (no musl toolchain here).
STATIC_RUSTFLAGS := -C target-feature=+crt-static

.PHONY: build run test lint bench bench-redis-benchmark fuzz clean

build:
	RUSTFLAGS="$(STATIC_RUSTFLAGS)" $(CARGO) build --release --target $(TARGET) --bin redislite-server --bin redislite-benchmark
	@ls -l $(BIN)

run: build
	$(BIN)

# Tests run against a release-optimised build (without LTO, to keep CI
# builds short); integration tests start that binary on ephemeral ports.
test:
	$(CARGO) test --profile fasttest

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# The issue-8 matrix with our load generator (sections a-f, x; knobs
# M_ROUNDS, M_KEYS, M_DURATION, M_SECTIONS: see bench/matrix.sh), e.g. a
# smoke run: make bench M_ROUNDS=1 M_KEYS=20000 M_DURATION=1 M_OUT=-
bench: build
	./bench/matrix.sh $(BIN) $(LOADGEN)

# The earlier redis-benchmark SET/GET table (bench/run.sh, BENCH_* knobs).
bench-redis-benchmark: build
	./bench/run.sh $(BIN)

# Every cargo-fuzz target for FUZZ_SECONDS each (libFuzzer needs nightly:
# rustup toolchain install nightly; cargo install cargo-fuzz). New inputs
# go to fuzz/corpus/<target> (not checked in); the checked-in seeds are
# read from fuzz/seeds/<target>. The limits make "allocates by a claimed
# length" and "hangs" findings, not just panics. CI runs the same target
# bodies on stable instead: tests/fuzz_corpus.rs (seeds plus seeded
# mutations, FUZZ_CORPUS_ITERS) and tests/properties.rs, in `make test`.
FUZZ_TARGETS := resp_parser commands aof_loader rdb_loader repl_stream script_libs
FUZZ_SECONDS ?= 30
fuzz:
	cd fuzz && $(CARGO) +nightly fuzz build -O
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		mkdir -p corpus/$$t && \
		$(CARGO) +nightly fuzz run -O $$t corpus/$$t seeds/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
			-malloc_limit_mb=512 -timeout=10 || exit 1; \
	done

clean:
	$(CARGO) clean

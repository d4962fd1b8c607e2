# RedisLite build entry points. `make run` and `make test` are the two
# commands the README promises work on a fresh machine.

CARGO  ?= cargo
TARGET := $(shell rustc -vV | sed -n 's/^host: //p')
BIN    := target/$(TARGET)/release/redislite-server
# One static binary: glibc linked statically (no musl toolchain here).
STATIC_RUSTFLAGS := -C target-feature=+crt-static

.PHONY: build run test lint bench fuzz clean

build:
	RUSTFLAGS="$(STATIC_RUSTFLAGS)" $(CARGO) build --release --target $(TARGET) --bin redislite-server
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

bench: build
	./bench/run.sh $(BIN)
	./bench/memory.sh $(BIN)

# libFuzzer needs a nightly toolchain: rustup toolchain install nightly,
# cargo install cargo-fuzz. CI runs the same property on stable instead
# (resp::parser tests).
fuzz:
	cd fuzz && $(CARGO) +nightly fuzz run resp_parser seeds/resp_parser -- -max_total_time=60

clean:
	$(CARGO) clean

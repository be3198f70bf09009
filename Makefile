# fengqiao build. `make` builds bin/fengqiao; `make test` installs what is missing, builds and
# runs every test; `make run` starts the demo. Quiet unless V=1.

CC      ?= cc
PKGS    := libmicrohttpd libcurl jansson libmosquitto sqlite3 expat openssl inih xlsxwriter
CFLAGS  ?= -O2 -g
# The language and warning flags stay whatever CFLAGS a caller passes (make asan passes its own).
FQ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread
CPPFLAGS += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread -lm

BUILD   ?= build
BIN     ?= bin/fengqiao

ifeq ($(V),1)
Q :=
else
Q := @
endif

SRCS     := $(wildcard common/*.c handlers/*.c store/*.c bot/*.c)
LIB_SRCS := $(filter-out bot/main.c,$(SRCS))
OBJS     := $(SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations.o
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations.o
MIGRATIONS := $(sort $(wildcard store/migrations/*.sql))

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELPERS := $(wildcard tests/unit/helpers/*.c)

.PHONY: all deps FORCE test unit integration run bench fuzz fuzz-bins soak asan layering clean smoke valgrind

all: $(BIN)

$(BIN): $(OBJS)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(FQ_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(FQ_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The migrations are compiled into the binary, so a copied binary can create its database.
# The list of migration files is a prerequisite too, so a renamed or removed file regenerates.
$(BUILD)/gen/migrations.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(MIGRATIONS)' | cmp -s - $@ || echo '$(MIGRATIONS)' > $@

$(BUILD)/gen/migrations.c: $(MIGRATIONS) $(BUILD)/gen/migrations.list scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/embed-migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(Q)$(CC) $(CPPFLAGS) $(FQ_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(TEST_HELPERS)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  TEST-LD $@"
	$(Q)$(CC) $(CPPFLAGS) $(FQ_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_HELPERS) $(LIB_OBJS) $(LDLIBS) -lcriterion

deps:
	@sh scripts/deps.sh ci

# Unit tests (Criterion, one binary per module) then integration tests (the real daemon, a real
# mosquitto on a free loopback port, real HTTP).
test: deps
	@$(MAKE) --no-print-directory all unit-bins
	@$(MAKE) --no-print-directory unit integration

unit-bins: $(UNIT_BINS)

unit: $(UNIT_BINS)
	@sh scripts/run-unit.sh $(UNIT_BINS)

integration: $(BIN)
	@FQ_BIN=$(abspath $(BIN)) python3 tests/integration/run.py

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer, in its own build tree.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/fengqiao \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" all unit-bins
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/fengqiao unit integration

smoke: all
	python3 ../shared/acceptance/smoke.py

run: deps all
	@sh docker/demo.sh

bench: deps all
	@sh tests/bench/run.sh

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang in their own tree against every object
# but bot/main.c; each runs FUZZ_SECONDS from its seeds in tests/fuzz/corpus/<target>/ and prints
# its exec count and coverage.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=all
fuzz: deps
	@$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz CFLAGS="$(FUZZ_CFLAGS)" \
	  LDFLAGS="-fsanitize=address,undefined" fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  FUZZ-LD $@"
	$(Q)$(CC) $(CPPFLAGS) $(FQ_CFLAGS) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_OBJS) $(LDLIBS)

# kill -9, broker outages and SIGTERM in a loop for SOAK_SECONDS (at least 10 kills).
SOAK_SECONDS ?= 120
soak: all
	@FQ_BIN=$(abspath $(BIN)) python3 tests/soak/soak.py --seconds $(SOAK_SECONDS)

# The unit tests and a short daemon run under valgrind --leak-check=full --error-exitcode=1.
valgrind: deps
	@$(MAKE) --no-print-directory all unit-bins
	@sh scripts/valgrind.sh $(abspath $(BIN)) $(UNIT_BINS)

# `make install [PREFIX=/usr/local] [DESTDIR=...]`: the binary, its locales (it finds them as
# ../share/fengqiao/locales next to itself), the example config, the systemd unit (ExecStart
# rewritten to PREFIX) and the man page fengqiao(8).
PREFIX ?= /usr/local
.PHONY: install
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/fengqiao/locales \
	  $(DESTDIR)$(PREFIX)/share/doc/fengqiao $(DESTDIR)$(PREFIX)/share/man/man8 \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/fengqiao
	install -m 0644 locales/*.json $(DESTDIR)$(PREFIX)/share/fengqiao/locales/
	install -m 0644 docker/fengqiao.conf.example $(DESTDIR)$(PREFIX)/share/doc/fengqiao/
	install -m 0644 docs/fengqiao.8 $(DESTDIR)$(PREFIX)/share/man/man8/fengqiao.8
	sed 's,/usr/local/bin/fengqiao,$(PREFIX)/bin/fengqiao,g' docker/fengqiao.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/fengqiao.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/fengqiao.service

# Layering (DESIGN.md): handlers/ include no I/O or parser library, only store/ includes
# sqlite3.h, only bot/crypto.c includes OpenSSL.
layering:
	@sh scripts/layering.sh

clean:
	rm -rf build build-asan bin

-include $(OBJS:.o=.d)

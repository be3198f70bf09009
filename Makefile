# fengqiao build. `make` builds bin/fengqiao; `make test` installs what is missing, builds and
# runs every test; `make run` starts the demo. Quiet unless V=1.

CC      ?= cc
PKGS    := libmicrohttpd libcurl jansson libmosquitto sqlite3 expat openssl inih
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

.PHONY: all deps test unit integration run bench fuzz asan layering clean smoke valgrind

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
$(BUILD)/gen/migrations.c: $(MIGRATIONS) scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/embed-migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(Q)$(CC) $(CPPFLAGS) $(FQ_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(TEST_HELPERS)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  TEST-LD $@"
	$(Q)$(CC) $(CPPFLAGS) $(FQ_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_HELPERS) $(LIB_OBJS) $(LDLIBS) -lcriterion

deps:
	@sh scripts/deps.sh build

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

# Layering (DESIGN.md): handlers/ include no I/O or parser library, only store/ includes
# sqlite3.h, only bot/crypto.c includes OpenSSL.
layering:
	@sh scripts/layering.sh

clean:
	rm -rf build build-asan bin

-include $(OBJS:.o=.d)

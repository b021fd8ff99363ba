# scm: a Lua module listing Huawei Cloud SCM certificates.
#
#   make                 build build/$(LUA)/scm.so (default LUA=lua5.4)
#   make check           install missing Debian packages, build, run the specs
#                        against the bundled emulator
#   make memcheck        the spec suite under valgrind
#   make asan            the spec suite with ASan+UBSan
#   make fuzz            libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make bench           benchmarks, written to bench/RESULTS.md
#   make lint            luacheck, cppcheck, gcc -fanalyzer, luarocks lint
#   make demo            the same set-up, then examples/list.lua
#   make install         PREFIX=/usr/local DESTDIR=
#   make clean
#
# Every variable below can be overridden on the command line.

LUA        ?= lua5.4
# pkg-config package of $(LUA)'s headers (luajit's is "luajit")
LUA_PC     ?= $(if $(findstring luajit,$(LUA)),luajit,$(LUA))
# the Lua ABI version the module is installed for (luajit: 5.1)
LUA_ABI    ?= $(if $(findstring luajit,$(LUA)),5.1,$(patsubst lua%,%,$(LUA)))
PKG_CONFIG ?= pkg-config
CC         ?= cc
CFLAGS     ?= -O2 -g
LDFLAGS    ?=
PREFIX     ?= /usr/local
DESTDIR    ?=
LUA_CDIR   ?= $(PREFIX)/lib/lua/$(LUA_ABI)
BUSTED     ?= /usr/bin/busted

LUA_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(LUA_PC))
CURL_CFLAGS = $(shell $(PKG_CONFIG) --cflags libcurl libcrypto)
CURL_LIBS   = $(shell $(PKG_CONFIG) --libs libcurl libcrypto)
WARN        = -std=c99 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wpointer-arith
ALL_CFLAGS  = $(WARN) -fPIC $(CFLAGS) $(LUA_CFLAGS) $(CURL_CFLAGS)

BUILD   = build/$(LUA)
SRCS    = $(wildcard src/*.c)
HEADERS = $(wildcard src/*.h)
OBJS    = $(SRCS:src/%.c=$(BUILD)/%.o)
MODULE  = $(BUILD)/scm.so

.PHONY: all check memcheck asan fuzz bench lint demo deps install uninstall clean

all: $(MODULE)

$(BUILD):
	mkdir -p $@

$(BUILD)/%.o: src/%.c $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The module links libcurl and libcrypto only: the Lua symbols come from
# the interpreter.
$(MODULE): $(OBJS)
	$(CC) -shared $(LDFLAGS) -o $@ $(OBJS) $(CURL_LIBS)

deps:
	@sh scripts/deps $(LUA)

check: deps
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) BUSTED=$(BUSTED) MODULE_DIR=$(BUILD) sh scripts/check

# valgrind over the whole spec suite: any error or definite leak fails.
# libcurl is preloaded so its symbols stay resolvable after Lua unloads
# the module (toolchain notes).
VALGRIND = env LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libcurl.so.4 valgrind -q \
	--leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
	--suppressions=$(CURDIR)/scripts/valgrind.supp
memcheck:
	@EXTRA_PKGS=valgrind sh scripts/deps $(LUA)
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) BUSTED=$(BUSTED) MODULE_DIR=$(BUILD) SCM_SLOW=1 \
		PROVE_EXEC_PREFIX="$(VALGRIND)" sh scripts/check

# AddressSanitizer and UndefinedBehaviorSanitizer over the whole spec suite:
# the module is built instrumented; the runtime is preloaded into the
# (uninstrumented) interpreter.
ASAN_BUILD = build/asan-$(LUA)
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
# scripts/asan-exit-shim.c keeps processes from hanging at exit (see there).
asan:
	@sh scripts/deps $(LUA)
	@$(MAKE) --no-print-directory all BUILD=$(ASAN_BUILD) CFLAGS="$(ASAN_FLAGS)" \
		LDFLAGS="-fsanitize=address,undefined"
	$(CC) -shared -fPIC -O2 -o $(ASAN_BUILD)/exit-shim.so scripts/asan-exit-shim.c
	@LUA=$(LUA) BUSTED=$(BUSTED) MODULE_DIR=$(ASAN_BUILD) \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp \
		PROVE_EXEC_PREFIX="env LD_PRELOAD=$$($(CC) -print-file-name=libasan.so):$(CURDIR)/$(ASAN_BUILD)/exit-shim.so:/usr/lib/x86_64-linux-gnu/libcurl.so.4" \
		sh scripts/check

# libFuzzer targets (clang), each run for FUZZ_SECONDS from its committed
# seed corpus; new inputs go to build/fuzz/corpus-*.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = options decode sign
FUZZ_CC      ?= clang
FUZZ_FLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
build/fuzz:
	mkdir -p $@
build/fuzz/fuzz_%: fuzz/fuzz_%.c $(SRCS) $(HEADERS) | build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(shell $(PKG_CONFIG) --cflags lua5.4) $(CURL_CFLAGS) \
		-o $@ $< $(SRCS) $(shell $(PKG_CONFIG) --libs lua5.4) $(CURL_LIBS)
fuzz:
	@EXTRA_PKGS="clang libclang-rt-14-dev" sh scripts/deps lua5.4
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus-$$t; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
		build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 build/fuzz/corpus-$$t fuzz/corpus/$$t \
			> build/fuzz/$$t.log 2>&1; rc=$$?; \
		grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|==[0-9]+==)" build/fuzz/$$t.log; \
		if [ $$rc -ne 0 ]; then tail -40 build/fuzz/$$t.log; exit 1; fi; \
	done

# Listing 10,000 certificates every way, side by side: bench/RESULTS.md.
BENCH_RUNS ?= 5
bench:
	@EXTRA_PKGS="lua-socket jq time" sh scripts/deps $(LUA)
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) $(LUA) bench/run.lua $(BUILD) $(BENCH_RUNS)

# Static checks: luacheck for all Lua, cppcheck and gcc's analyzer for the
# C, luarocks lint for the rockspec. Any warning fails.
lint:
	@EXTRA_PKGS="lua-check cppcheck luarocks" sh scripts/deps $(LUA)
	luacheck --no-color --quiet .
	cppcheck --quiet --enable=warning,style,performance,portability --std=c99 \
		--error-exitcode=1 --inline-suppr --suppress=missingIncludeSystem -I src src
	@for f in $(SRCS); do \
		$(CC) -fanalyzer -Werror $(WARN) $(LUA_CFLAGS) $(CURL_CFLAGS) -c -o /dev/null $$f || exit 1; \
	done; echo "gcc -fanalyzer: clean"
	LUAROCKS_CONFIG=luarocks/config.lua luarocks --lua-version=5.4 lint rockspec/scm-dev-1.rockspec
	@echo "lint: clean"

demo: deps
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) MODULE_DIR=$(BUILD) sh scripts/demo

LUA_LDIR ?= $(PREFIX)/share/lua/$(LUA_ABI)
BINDIR   ?= $(PREFIX)/bin
install: $(MODULE)
	install -d $(DESTDIR)$(LUA_CDIR) $(DESTDIR)$(LUA_LDIR)/scm/resty $(DESTDIR)$(BINDIR)
	install -m 0755 $(MODULE) $(DESTDIR)$(LUA_CDIR)/scm.so
	install -m 0644 lua/scm/resty.lua $(DESTDIR)$(LUA_LDIR)/scm/resty.lua
	install -m 0644 lua/scm/resty/cache.lua lua/scm/resty/timer.lua $(DESTDIR)$(LUA_LDIR)/scm/resty/
	sed '1s|.*|#!/usr/bin/env $(LUA)|' bin/scm-certs > $(DESTDIR)$(BINDIR)/scm-certs
	chmod 0755 $(DESTDIR)$(BINDIR)/scm-certs

uninstall:
	rm -f $(DESTDIR)$(LUA_CDIR)/scm.so $(DESTDIR)$(LUA_LDIR)/scm/resty.lua \
		$(DESTDIR)$(LUA_LDIR)/scm/resty/cache.lua $(DESTDIR)$(LUA_LDIR)/scm/resty/timer.lua \
		$(DESTDIR)$(BINDIR)/scm-certs

clean:
	rm -rf build src/*.o scm.so

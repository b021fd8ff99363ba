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
#   make install         PREFIX=/usr/local DESTDIR= (scm.so, lua/scm/**, scm-certs + man page)
#   make install-openresty  PREFIX=/usr/local/openresty: built for LuaJIT,
#                        into PREFIX/site/lualib
#   make rockspec        scm-$(VERSION)-1.rockspec, the release rockspec
#   make rock            scm-$(VERSION)-1.src.rock from the working tree
#   make deb             the Debian packages, into build/deb/
#   make clean
#
# The release number is the VERSION file: the C code gets it as
# -DSCM_VERSION (scm._VERSION), the release rockspec is generated with it,
# and spec/install_spec.lua checks CHANGELOG.md and debian/changelog agree.
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
VERSION    := $(shell cat VERSION)

LUA_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(LUA_PC))
CURL_CFLAGS = $(shell $(PKG_CONFIG) --cflags libcurl libcrypto)
CURL_LIBS   = $(shell $(PKG_CONFIG) --libs libcurl libcrypto)
WARN        = -std=c99 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wpointer-arith
DEFS        = -DSCM_VERSION='"$(VERSION)"'
# Only luaopen_scm is exported (src/scm.c marks it): in OpenResty the module
# shares nginx's symbol space. Kept out of CFLAGS, which LuaRocks replaces.
VISIBILITY  = -fvisibility=hidden
ALL_CFLAGS  = $(WARN) -fPIC $(VISIBILITY) $(CFLAGS) $(DEFS) $(LUA_CFLAGS) $(CURL_CFLAGS)

BUILD   = build/$(LUA)
# LuaRocks (the rockspec's build.type "make") passes LUA_INCDIR and the
# directories of its external dependencies, curl and OpenSSL, instead of
# pkg-config; one build directory per set of Lua headers.
ifdef LUA_INCDIR
LUA_CFLAGS  = -I$(LUA_INCDIR)
CURL_CFLAGS = -I$(CURL_INCDIR) -I$(OPENSSL_INCDIR)
CURL_LIBS   = -L$(CURL_LIBDIR) -L$(OPENSSL_LIBDIR) -lcurl -lcrypto
BUILD       = build/luarocks-$(notdir $(LUA_INCDIR))
endif
SRCS    = $(wildcard src/*.c)
HEADERS = $(wildcard src/*.h)
OBJS    = $(SRCS:src/%.c=$(BUILD)/%.o)
MODULE  = $(BUILD)/scm.so

.PHONY: all testlibs check memcheck asan fuzz bench lint demo deps install install-lib \
	install-openresty uninstall rockspec rock deb clean

all: $(MODULE)

$(BUILD):
	mkdir -p $@

$(BUILD)/%.o: src/%.c $(HEADERS) VERSION Makefile | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The module links libcurl and libcrypto only: the Lua symbols come from
# the interpreter.
$(MODULE): $(OBJS)
	$(CC) -shared $(LDFLAGS) -o $@ $(OBJS) $(CURL_LIBS)

deps:
	@sh scripts/deps $(LUA)

# Test-only helpers, next to the module the specs load; never installed.
TESTLIBS = $(BUILD)/scm_testfork.so $(BUILD)/scm_testalloc.so
$(BUILD)/scm_test%.so: spec/support/test%.c | $(BUILD)
	$(CC) $(WARN) -fPIC -shared $(CFLAGS) $(LUA_CFLAGS) -o $@ $<
testlibs: $(TESTLIBS)

check: deps
	@$(MAKE) --no-print-directory all testlibs
	@LUA=$(LUA) BUSTED=$(BUSTED) MODULE_DIR=$(BUILD) sh scripts/check

# valgrind over the whole spec suite: any error or definite leak fails.
# libcurl is preloaded so its symbols stay resolvable after Lua unloads
# the module (toolchain notes).
# The exit shim keeps C modules loaded to the end, so that a leak report
# names their functions (scripts/asan-exit-shim.c).
VALGRIND = env LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libcurl.so.4:$(CURDIR)/$(BUILD)/exit-shim.so valgrind -q \
	--leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
	--suppressions=$(CURDIR)/scripts/valgrind.supp
memcheck:
	@EXTRA_PKGS=valgrind sh scripts/deps $(LUA)
	@$(MAKE) --no-print-directory all testlibs
	$(CC) -shared -fPIC -O2 -o $(BUILD)/exit-shim.so scripts/asan-exit-shim.c
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
	@$(MAKE) --no-print-directory all testlibs BUILD=$(ASAN_BUILD) CFLAGS="$(ASAN_FLAGS)" \
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
FUZZ_TARGETS = options decode sign expiry response
FUZZ_CC      ?= clang
FUZZ_FLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
build/fuzz:
	mkdir -p $@
build/fuzz/fuzz_%: fuzz/fuzz_%.c $(SRCS) $(HEADERS) | build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(DEFS) $(shell $(PKG_CONFIG) --cflags lua5.4) $(CURL_CFLAGS) \
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
		$(CC) -fanalyzer -Werror $(WARN) $(DEFS) $(LUA_CFLAGS) $(CURL_CFLAGS) -c -o /dev/null $$f || exit 1; \
	done; echo "gcc -fanalyzer: clean"
	luarocks --lua-version=5.4 lint rockspec/scm-dev-1.rockspec
	@$(MAKE) --no-print-directory rockspec
	luarocks --lua-version=5.4 lint $(ROCKSPEC)
	@echo "lint: clean"

demo: deps
	@$(MAKE) --no-print-directory all
	@LUA=$(LUA) MODULE_DIR=$(BUILD) sh scripts/demo

LUA_LDIR ?= $(PREFIX)/share/lua/$(LUA_ABI)
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
# every Lua file under lua/, as module paths (scm/resty.lua, scm/x/y.lua)
LUA_FILES = $(shell cd lua && find scm -name '*.lua' | LC_ALL=C sort)

# The module alone: scm.so and the Lua files (LuaRocks installs this).
install-lib: $(MODULE)
	install -d $(DESTDIR)$(LUA_CDIR)
	install -m 0755 $(MODULE) $(DESTDIR)$(LUA_CDIR)/scm.so
	@for f in $(LUA_FILES); do \
		echo "install -D -m 0644 lua/$$f $(DESTDIR)$(LUA_LDIR)/$$f"; \
		install -D -m 0644 lua/$$f $(DESTDIR)$(LUA_LDIR)/$$f || exit 1; \
	done

install: install-lib
	install -d $(DESTDIR)$(BINDIR)
	sed '1s|.*|#!/usr/bin/env $(LUA)|' bin/scm-certs > $(DESTDIR)$(BINDIR)/scm-certs
	chmod 0755 $(DESTDIR)$(BINDIR)/scm-certs
	install -D -m 0644 doc/scm-certs.1 $(DESTDIR)$(MANDIR)/man1/scm-certs.1

uninstall:
	rm -f $(DESTDIR)$(LUA_CDIR)/scm.so $(DESTDIR)$(BINDIR)/scm-certs $(DESTDIR)$(MANDIR)/man1/scm-certs.1 \
		$(LUA_FILES:%=$(DESTDIR)$(LUA_LDIR)/%)
	-find $(DESTDIR)$(LUA_LDIR)/scm -depth -type d -empty -delete 2>/dev/null

# OpenResty: scm.so built for LuaJIT and the Lua files in PREFIX/site/lualib,
# which OpenResty's default lua_package_path and lua_package_cpath search.
OPENRESTY_PREFIX ?= $(if $(filter command line,$(origin PREFIX)),$(PREFIX),/usr/local/openresty)
OPENRESTY_LIBDIR  = $(OPENRESTY_PREFIX)/site/lualib
install-openresty:
	@$(MAKE) --no-print-directory install-lib LUA=luajit \
		LUA_CDIR=$(OPENRESTY_LIBDIR) LUA_LDIR=$(OPENRESTY_LIBDIR)
	@echo
	@echo "Installed for LuaJIT in $(OPENRESTY_LIBDIR)."
	@echo "OpenResty searches it by default; with another nginx and its Lua module, add to http {}:"
	@echo
	@echo '    lua_package_path  "$(OPENRESTY_LIBDIR)/?.lua;;";'
	@echo '    lua_package_cpath "$(OPENRESTY_LIBDIR)/?.so;;";'

# The release rockspec is generated from the dev one (one build
# description, the version from VERSION).
ROCKSPEC = scm-$(VERSION)-1.rockspec
SRC_ROCK = scm-$(VERSION)-1.src.rock
ROCK_DIR = build/rock
rockspec: $(ROCKSPEC)
$(ROCKSPEC): rockspec/scm-dev-1.rockspec VERSION scripts/release-rockspec
	lua5.4 scripts/release-rockspec $(VERSION) < rockspec/scm-dev-1.rockspec > $@.tmp
	mv $@.tmp $@

# The src.rock from the working tree, offline: its files (scripts/tree-files)
# as the archive of the release tag holds them,
# packed by luarocks from a local copy of the rockspec; the rockspec inside
# is then the release one, with the tagged archive URL.
rock: $(ROCKSPEC)
	@EXTRA_PKGS="zip" sh scripts/deps $(LUA)
	rm -rf $(ROCK_DIR) && mkdir -p $(ROCK_DIR)/pack
	sh scripts/tree-files | tar -cz --no-recursion --transform 's,^,scm-$(VERSION)/,S' \
		--owner=0 --group=0 --numeric-owner -f $(ROCK_DIR)/scm-$(VERSION).tar.gz -T -
	sed 's|^   url = .*|   url = "file://$(CURDIR)/$(ROCK_DIR)/scm-$(VERSION).tar.gz",|' \
		$(ROCKSPEC) > $(ROCK_DIR)/pack/$(ROCKSPEC)
	cd $(ROCK_DIR)/pack && luarocks pack $(ROCKSPEC)
	cp $(ROCKSPEC) $(ROCK_DIR)/
	cd $(ROCK_DIR) && zip -q pack/$(SRC_ROCK) $(ROCKSPEC)
	mv $(ROCK_DIR)/pack/$(SRC_ROCK) $(SRC_ROCK)
	@echo "$(SRC_ROCK)"

# Debian packages (debian/, dh-lua: lua-scm and lua-scm-dev for every Lua
# 5.x listed there), built from a copy of the working tree in build/deb.
DEB_DIR = build/deb
deb:
	@EXTRA_PKGS="dh-lua debhelper dpkg-dev lintian lua5.1 liblua5.1-0-dev lua5.3 liblua5.3-dev" \
		sh scripts/deps $(LUA)
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/scm-$(VERSION)
	sh scripts/tree-files | tar -c --no-recursion -T - | tar -x -C $(DEB_DIR)/scm-$(VERSION)
	cd $(DEB_DIR)/scm-$(VERSION) && dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(DEB_DIR)/*.changes
	@ls $(DEB_DIR)/*.deb

clean:
	rm -rf build src/*.o scm.so scm-*.rockspec scm-*.src.rock

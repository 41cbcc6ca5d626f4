# enid: build, tests and installation.
#
#   make                 build ./enid
#   make check           unit tests, then integration tests (root)
#   make unit            unit tests only (no root needed)
#   make integration     integration tests in network namespaces (root)
#   make demo            hot-attach demonstration in namespaces (root)
#   make install DESTDIR=/tmp/root

VERSION := 0.1.0

CC ?= cc
PKG_CONFIG ?= pkg-config
PYTHON ?= python3

PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
RTPROTOSDIR ?= $(SYSCONFDIR)/iproute2/rt_protos.d

PACKAGES := libmnl libnl-3.0 libnl-route-3.0 libcurl libsystemd
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PACKAGES))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PACKAGES))
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check)

WARNINGS := -Wall -Wextra -Werror -Wswitch-enum -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS ?= -O2 -g
# -iquote, not -I: libnl's headers include <netlink/netlink.h>, which -I.
# would resolve to this project's netlink/netlink.h.
ALL_CFLAGS := -std=gnu11 $(WARNINGS) $(CFLAGS) -iquote . -DENID_VERSION='"$(VERSION)"' \
	-D_GNU_SOURCE $(PKG_CFLAGS)

BUILD := build

LIB_SOURCES := $(wildcard common/*.c imds/*.c netlink/*.c) \
	$(filter-out daemon/main.c,$(wildcard daemon/*.c))
LIB_OBJECTS := $(LIB_SOURCES:%.c=$(BUILD)/%.o)
MAIN_OBJECT := $(BUILD)/daemon/main.o

UNIT_SOURCES := $(wildcard tests/unit/check_*.c)
UNIT_BINARIES := $(UNIT_SOURCES:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all check unit integration demo install clean

all: enid

enid: $(MAIN_OBJECT) $(BUILD)/libenid.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/libenid.a: $(LIB_OBJECTS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libenid.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(CHECK_CFLAGS) $(LDFLAGS) \
		-o $@ $< $(BUILD)/libenid.a $(PKG_LIBS) $(CHECK_LIBS)

unit: $(UNIT_BINARIES)
	@set -e; for test in $(UNIT_BINARIES); do \
		echo "== $$test"; CK_VERBOSITY=normal $$test; \
	done

integration: enid
	$(PYTHON) tests/integration/run.py

check: unit integration

demo: enid
	$(PYTHON) tests/integration/demo.py

install: enid
	install -D -m 0755 enid $(DESTDIR)$(SBINDIR)/enid
	install -D -m 0644 units/enid.service $(DESTDIR)$(UNITDIR)/enid.service
	install -D -m 0644 units/enid.conf $(DESTDIR)$(SYSCONFDIR)/enid/enid.conf
	install -D -m 0644 units/rt_protos.conf $(DESTDIR)$(RTPROTOSDIR)/enid.conf

clean:
	rm -rf $(BUILD) enid

-include $(LIB_OBJECTS:.o=.d) $(MAIN_OBJECT:.o=.d)

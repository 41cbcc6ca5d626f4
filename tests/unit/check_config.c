/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the configuration file parser and the settings checks.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"

START_TEST(config_defaults_match_design)
{
	struct settings s;

	settings_defaults(&s);
	ck_assert_str_eq(s.imds_url, "http://169.254.169.254");
	ck_assert_str_eq(s.imds_url_ipv6, "http://[fd00:ec2::254]");
	ck_assert_uint_eq(s.table_base, 10000);
	ck_assert_uint_eq(s.metric_base, 512);
	ck_assert_uint_eq(s.interface_group, 0x2ec);
	ck_assert_uint_eq(s.protocol, 236);
	ck_assert_uint_eq(s.mtu, 9001);
	ck_assert_uint_eq(s.refresh_interval_usec, 60000000);
	ck_assert_uint_eq(s.drivers.count, 3);
	ck_assert(s.secondary_addresses);
	ck_assert(!s.imds_v1_fallback);
	ck_assert_int_eq(settings_validate(&s, "defaults"), 0);
}
END_TEST

START_TEST(config_parses_every_type)
{
	struct settings s;
	const char *text =
		"# comment line\n"
		"imds_url = http://127.0.0.1:8080   # trailing comment\n"
		"imds_url_ipv6 =\n"
		"imds_v1_fallback = yes\n"
		"imds_timeout = 500ms\n"
		"token_ttl = 5min\n"
		"refresh_interval = 2s\n"
		"settle_window = 1h\n"
		"table_base = 20000\n"
		"metric_base = 0x300\n"
		"interface_group = 0x10\n"
		"protocol = 200\n"
		"mtu = keep\n"
		"drivers = veth ena\n"
		"exclude_interfaces = eni* cali*\n"
		"exclude_macs = 02:AB:cd:00:00:09\n"
		"exclude_device_numbers = 0:2-15 1:3 7\n"
		"secondary_addresses = no\n"
		"prefix_routes = local\n"
		"\n";

	settings_defaults(&s);
	ck_assert_int_eq(config_parse(&s, "test", text), 0);
	ck_assert_str_eq(s.imds_url, "http://127.0.0.1:8080");
	ck_assert_str_eq(s.imds_url_ipv6, "");
	ck_assert(s.imds_v1_fallback);
	ck_assert_uint_eq(s.imds_timeout_usec, 500000);
	ck_assert_uint_eq(s.token_ttl_sec, 300);
	ck_assert_uint_eq(s.refresh_interval_usec, 2000000);
	ck_assert_uint_eq(s.settle_window_usec, 3600000000ull);
	ck_assert_uint_eq(s.table_base, 20000);
	ck_assert_uint_eq(s.metric_base, 0x300);
	ck_assert_uint_eq(s.interface_group, 0x10);
	ck_assert_uint_eq(s.protocol, 200);
	ck_assert_uint_eq(s.mtu, 0);
	ck_assert_uint_eq(s.drivers.count, 2);
	ck_assert_str_eq(s.drivers.items[0], "veth");
	ck_assert(config_list_match(&s.exclude_interfaces, "eni1a2b"));
	ck_assert(!config_list_match(&s.exclude_interfaces, "ens6"));
	ck_assert(settings_excludes_mac(&s, (uint8_t[]){2, 0xab, 0xcd, 0, 0,
							 9}));
	ck_assert(settings_excludes_device(&s, 0, 2));
	ck_assert(settings_excludes_device(&s, 0, 15));
	ck_assert(!settings_excludes_device(&s, 0, 16));
	ck_assert(!settings_excludes_device(&s, 0, 1));
	ck_assert(settings_excludes_device(&s, 1, 3));
	ck_assert(settings_excludes_device(&s, 0, 7));
	ck_assert(!s.secondary_addresses);
	ck_assert_int_eq(s.prefix_routes, PREFIX_ROUTES_LOCAL);
}
END_TEST

static const char *const bad_lines[] = {
	"unknown_key = 1",
	"refresh_interval = 60",
	"refresh_interval = 60 s",
	"refresh_interval = -1s",
	"refresh_interval = 1y",
	"imds_url = ftp://example",
	"imds_url =",
	"imds_v1_fallback = true",
	"table_base = 0",
	"table_base = 40000",
	"table_base = 10x",
	"interface_group = 0",
	"protocol = 2",
	"protocol = 256",
	"mtu = 10",
	"mtu = 70000",
	"exclude_macs = 02:ab:cd:00:00",
	"exclude_device_numbers = 0:5-2",
	"exclude_device_numbers = 16:1",
	"exclude_device_numbers = 0:100",
	"exclude_device_numbers = a:1",
	"prefix_routes = all",
	"token_ttl = 7h",
	"token_ttl = 500ms",
	"just words",
};

START_TEST(config_rejects_bad_line)
{
	struct settings s, before;
	char path[] = "/tmp/enid-config-XXXXXX";
	char message[512] = "";
	FILE *saved;
	int fd;

	settings_defaults(&s);
	before = s;

	/* Capture stderr to check the message names file and line. */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = fdopen(dup(STDERR_FILENO), "w");
	dup2(fd, STDERR_FILENO);

	ck_assert_int_eq(config_parse(&s, "enid.conf", bad_lines[_i]), -EINVAL);

	fflush(stderr);
	dup2(fileno(saved), STDERR_FILENO);
	lseek(fd, 0, SEEK_SET);
	ck_assert_int_gt(read(fd, message, sizeof(message) - 1), 0);
	close(fd);
	unlink(path);

	ck_assert_msg(strncmp(message, "enid.conf:1:", 12) == 0, "%s", message);
	ck_assert_msg(memcmp(&s, &before, sizeof(s)) == 0,
		      "a rejected file changed the settings");
}
END_TEST

START_TEST(config_error_names_line)
{
	struct settings s;

	settings_defaults(&s);
	ck_assert_int_eq(config_parse(&s, "f", "mtu = 1500\n\nmtu = bad\n"),
			 -EINVAL);
	/* Nothing of a rejected file is kept. */
	ck_assert_uint_eq(s.mtu, 9001);
}
END_TEST

START_TEST(config_missing_default_file_ok)
{
	struct settings s;

	settings_defaults(&s);
	ck_assert_int_eq(config_load(&s, "/nonexistent/enid.conf", true), 0);
	ck_assert_int_eq(config_load(&s, "/nonexistent/enid.conf", false),
			 -ENOENT);
}
END_TEST

START_TEST(config_validate_reserved_tables)
{
	struct settings s;

	settings_defaults(&s);
	s.table_base = 100;
	ck_assert_int_eq(settings_validate(&s, "t"), -EINVAL);
	s.table_base = 256;
	ck_assert_int_eq(settings_validate(&s, "t"), 0);
	s.table_base = 31500;
	ck_assert_int_eq(settings_validate(&s, "t"), -EINVAL);
	s.table_base = 2;
	ck_assert_int_eq(settings_validate(&s, "t"), -EINVAL);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");
	int n_bad = (int)(sizeof(bad_lines) / sizeof(bad_lines[0]));

	tcase_add_test(tc, config_defaults_match_design);
	tcase_add_test(tc, config_parses_every_type);
	tcase_add_loop_test(tc, config_rejects_bad_line, 0, n_bad);
	tcase_add_test(tc, config_error_names_line);
	tcase_add_test(tc, config_missing_default_file_ok);
	tcase_add_test(tc, config_validate_reserved_tables);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(config_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

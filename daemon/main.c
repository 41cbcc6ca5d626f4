/* SPDX-License-Identifier: MIT */
/*
 * enid: configures EC2 elastic network interfaces from instance metadata.
 * Command line, configuration and mode selection; the work is done by the
 * manager.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/config.h"
#include "daemon/manager.h"
#include "daemon/status.h"
#include "daemon/udev.h"

#define EXIT_USAGE 2
#define DEFAULT_ONESHOT_TIMEOUT_USEC (30 * 1000000ull)

enum command {
	COMMAND_RUN,
	COMMAND_STATUS,
	COMMAND_CLEANUP,
};

struct command_line {
	enum command command;
	bool json;
	const char *config_path;
	bool config_given;
	const char *imds_url;
	bool verbose;
	const char *udev_data_dir;
	struct manager_options options;
};

static void print_help(void)
{
	printf("Usage: enid [OPTION]...\n"
	       "       enid status [--json] [-c FILE]\n"
	       "       enid cleanup [-c FILE]\n"
	       "Configure EC2 elastic network interfaces (ENIs) from the\n"
	       "instance metadata service: bring each ENI up, assign its\n"
	       "addresses, and install a routing table and source rules per\n"
	       "ENI so that traffic leaves through the ENI that owns its\n"
	       "source address.\n"
	       "\n"
	       "Without a mode option enid runs as a daemon in the foreground\n"
	       "(systemd Type=notify) and follows links as they come and go.\n"
	       "\n"
	       "enid status prints one block per ENI (link, MAC, ENI id,\n"
	       "card and device, table, addresses, rules, state and what it\n"
	       "waits for); --json prints the same as JSON. enid cleanup\n"
	       "removes every route, rule and address enid owns.\n"
	       "\n"
	       "Options:\n"
	       "  -c, --config FILE   configuration file (default %s)\n"
	       "      --imds-url URL  metadata service endpoint; replaces both\n"
	       "                      the IPv4 and the IPv6 default\n"
	       "      --oneshot       configure the ENIs present now, then exit;\n"
	       "                      exit status 0 only if all succeeded\n"
	       "      --timeout TIME  give up a one-shot run after TIME\n"
	       "                      (default 30s; units ms, s, min, h)\n"
	       "      --dry-run       print the changes instead of making them\n"
	       "      --json          with status: print JSON\n"
	       "  -v, --verbose       log debug messages\n"
	       "  -h, --help          show this help and exit\n"
	       "  -V, --version       show the version and exit\n"
	       "\n"
	       "Exit status: 0 success, 1 failure at run time, 2 usage or\n"
	       "configuration error.\n",
	       CONFIG_DEFAULT_PATH);
}

static int parse_timeout(const char *text, uint64_t *usec)
{
	struct settings scratch;
	char line[128];

	/* Durations share the configuration file's syntax. */
	settings_defaults(&scratch);
	snprintf(line, sizeof(line), "settle_window = %s", text);
	if (config_parse(&scratch, "--timeout", line) < 0)
		return -EINVAL;

	*usec = scratch.settle_window_usec;
	return 0;
}

enum {
	OPTION_IMDS_URL = 256,
	OPTION_ONESHOT,
	OPTION_DRY_RUN,
	OPTION_TIMEOUT,
	OPTION_NETLINK_RCVBUF,
	OPTION_JSON,
	OPTION_UDEV_DATA_DIR,
	OPTION_ADDRESS_RECORDS,
};

static int parse_option(int option, struct command_line *cl)
{
	switch (option) {
	case 'c':
		cl->config_path = optarg;
		cl->config_given = true;
		return 0;
	case OPTION_IMDS_URL:
		cl->imds_url = optarg;
		return 0;
	case OPTION_ONESHOT:
		cl->options.oneshot = true;
		return 0;
	case OPTION_DRY_RUN:
		cl->options.dry_run = true;
		return 0;
	case OPTION_TIMEOUT:
		return parse_timeout(optarg, &cl->options.oneshot_timeout_usec);
	case OPTION_JSON:
		cl->json = true;
		return 0;
	case OPTION_UDEV_DATA_DIR:
		cl->udev_data_dir = optarg;
		return 0;
	case OPTION_ADDRESS_RECORDS:
		cl->options.address_records = true;
		return 0;
	case OPTION_NETLINK_RCVBUF:
		cl->options.netlink_rcvbuf = atoi(optarg);
		return cl->options.netlink_rcvbuf > 0 ? 0 : -EINVAL;
	case 'v':
		cl->verbose = true;
		return 0;
	case 'h':
		print_help();
		exit(EXIT_SUCCESS);
	case 'V':
		printf("enid %s\n", ENID_VERSION);
		exit(EXIT_SUCCESS);
	default:
		return -EINVAL;
	}
}

static int unexpected_argument(const char *argument)
{
	fprintf(stderr, "enid: unexpected argument \"%s\"; try 'enid --help'\n",
		argument);
	return -EINVAL;
}

static int parse_command_line(int argc, char **argv, struct command_line *cl)
{
	static const struct option long_options[] = {
		{"config", required_argument, NULL, 'c'},
		{"imds-url", required_argument, NULL, OPTION_IMDS_URL},
		{"oneshot", no_argument, NULL, OPTION_ONESHOT},
		{"dry-run", no_argument, NULL, OPTION_DRY_RUN},
		{"timeout", required_argument, NULL, OPTION_TIMEOUT},
		/* Test option: a small buffer provokes lost notifications. */
		{"netlink-rcvbuf", required_argument, NULL,
		 OPTION_NETLINK_RCVBUF},
		{"json", no_argument, NULL, OPTION_JSON},
		/* Test option: the address record of kernels before 6.1. */
		{"address-records", no_argument, NULL, OPTION_ADDRESS_RECORDS},
		/* Test option: udev's database in another directory. */
		{"udev-data-dir", required_argument, NULL,
		 OPTION_UDEV_DATA_DIR},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	int option;

	*cl = (struct command_line){.config_path = CONFIG_DEFAULT_PATH};
	cl->options.oneshot_timeout_usec = DEFAULT_ONESHOT_TIMEOUT_USEC;

	while ((option = getopt_long(argc, argv, "c:vhV", long_options,
				     NULL)) != -1) {
		if (parse_option(option, cl) < 0) {
			fprintf(stderr, "Try 'enid --help' for more "
					"information.\n");
			return -EINVAL;
		}
	}

	if (optind < argc && strcmp(argv[optind], "status") == 0)
		cl->command = COMMAND_STATUS;
	else if (optind < argc && strcmp(argv[optind], "cleanup") == 0)
		cl->command = COMMAND_CLEANUP;
	else if (optind < argc)
		return unexpected_argument(argv[optind]);

	if (cl->command != COMMAND_RUN)
		optind++;
	if (optind < argc)
		return unexpected_argument(argv[optind]);

	if (cl->json && cl->command != COMMAND_STATUS) {
		fprintf(stderr, "enid: --json goes with status\n");
		return -EINVAL;
	}

	return 0;
}

static int load_settings(const struct command_line *cl, struct settings *s)
{
	int r;

	settings_defaults(s);
	r = config_load(s, cl->config_path, !cl->config_given);
	if (r < 0)
		return r;

	if (cl->imds_url) {
		char line[CONFIG_URL_LEN + 16];

		snprintf(line, sizeof(line), "imds_url = %s\nimds_url_ipv6 =",
			 cl->imds_url);
		r = config_parse(s, "--imds-url", line);
		if (r < 0)
			return r;
	}

	return settings_validate(s, cl->config_path);
}

int main(int argc, char **argv)
{
	struct command_line cl;
	struct settings settings;
	struct manager *m = NULL;
	int r;

	if (parse_command_line(argc, argv, &cl) < 0)
		return EXIT_USAGE;

	log_setup(cl.verbose ? LOG_DEBUG : LOG_INFO, log_stderr_is_journal());

	if (load_settings(&cl, &settings) < 0)
		return EXIT_USAGE;

	if (cl.command == COMMAND_STATUS)
		return status_command(&settings, cl.json);
	if (cl.command == COMMAND_CLEANUP)
		return cleanup_command(&settings);

	udev_setup(cl.udev_data_dir);
	r = manager_new(&m, &settings, &cl.options);
	if (r < 0) {
		log_msg(LOG_ERR, "cannot start: %s", strerror(-r));
		return EXIT_FAILURE;
	}

	log_msg(LOG_INFO, "enid %s started%s%s, metadata at %s", ENID_VERSION,
		cl.options.oneshot ? " (one-shot)" : "",
		cl.options.dry_run ? " (dry run: no changes)" : "",
		settings.imds_url);

	r = manager_run(m);
	manager_free(m);
	return r;
}

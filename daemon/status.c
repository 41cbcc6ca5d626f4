/* SPDX-License-Identifier: MIT */
/*
 * The status file, `enid status` and `enid cleanup`.
 *
 * The status file is one tab-separated line per link the daemon tracks as
 * a possible ENI. `enid status` joins it with a fresh kernel dump, so the
 * addresses and rules it shows are what the kernel holds, not what enid
 * meant to send.
 */
#include "daemon/status.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "daemon/link.h"
#include "daemon/manager.h"
#include "daemon/planner.h"
#include "daemon/reconcile.h"
#include "daemon/records.h"
#include "netlink/netlink.h"

#define STATUS_FILE "status"
#define STATUS_FIELDS 9
#define STATUS_LINE_LEN 1024

const char *status_directory(void)
{
	const char *dir = getenv("RUNTIME_DIRECTORY");

	/* systemd may pass several directories separated by ':'. */
	if (dir && dir[0] && !strchr(dir, ':'))
		return dir;

	return "/run/enid";
}

/* Copies text with tabs and line breaks replaced, "-" when empty. */
static void field(char *out, size_t size, const char *text)
{
	size_t i = 0;

	for (; text[i] && i + 1 < size; i++)
		out[i] = text[i] == '\t' || text[i] == '\n' ? ' ' : text[i];
	out[i] = '\0';

	if (i == 0)
		snprintf(out, size, "-");
}

static bool link_reported(const struct link *link)
{
	if (link->state != LINK_STATE_IGNORED)
		return true;

	return link->ignore == LINK_IGNORE_CONFIG ||
	       link->ignore == LINK_IGNORE_NOT_LISTED;
}

static void write_link(FILE *f, const struct link *link)
{
	const struct eni_record *r = link->have_record ? &link->record :
							 &link->fetched;
	bool numbered = eni_has(r, ENI_KEY_DEVICE_NUMBER);
	char reason[LINK_REASON_LEN], id[ENI_ID_LEN];

	field(reason, sizeof(reason), link->reason);
	field(id, sizeof(id), eni_has(r, ENI_KEY_INTERFACE_ID) ?
				      r->interface_id : "");

	fprintf(f, "%d\t%s\t%s\t%s\t", link->ifindex, link->kernel.name,
		link->mac_text, id);
	if (numbered)
		fprintf(f, "%u\t%u\t", eni_card(r), r->device_number);
	else
		fprintf(f, "-\t-\t");
	if (link->have_record)
		fprintf(f, "%u\t", link->table);
	else
		fprintf(f, "-\t");
	fprintf(f, "%s\t%s\n", link_state_name(link->state), reason);
}

int status_write(const struct manager *m)
{
	const char *dir = status_directory();
	char path[512], temporary[520];
	FILE *f;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;

	snprintf(path, sizeof(path), "%s/%s", dir, STATUS_FILE);
	snprintf(temporary, sizeof(temporary), "%s.new", path);
	f = fopen(temporary, "we");
	if (!f)
		return -errno;

	fprintf(f, "# ifindex\tname\tmac\teni\tcard\tdevice\ttable\tstate"
		   "\treason\n");
	for (size_t i = 0; i < m->n_links; i++) {
		if (link_reported(m->links[i]))
			write_link(f, m->links[i]);
	}

	if (fclose(f) != 0 || rename(temporary, path) < 0) {
		int r = -errno;

		unlink(temporary);
		return r;
	}

	return 0;
}

/* One line of the status file. */
struct status_entry {
	char *fields[STATUS_FIELDS];
	int ifindex;
	char line[STATUS_LINE_LEN];
};

enum status_field {
	FIELD_IFINDEX,
	FIELD_NAME,
	FIELD_MAC,
	FIELD_ENI,
	FIELD_CARD,
	FIELD_DEVICE,
	FIELD_TABLE,
	FIELD_STATE,
	FIELD_REASON,
};

static bool parse_entry(const char *line, struct status_entry *e)
{
	char *cursor;

	if (line[0] == '#')
		return false;

	snprintf(e->line, sizeof(e->line), "%s", line);
	e->line[strcspn(e->line, "\n")] = '\0';
	cursor = e->line;
	for (int i = 0; i < STATUS_FIELDS; i++) {
		e->fields[i] = strsep(&cursor, "\t");
		if (!e->fields[i])
			return false;
	}

	e->ifindex = atoi(e->fields[FIELD_IFINDEX]);
	return e->ifindex > 0;
}

/* Reads the status file; returns the number of entries, or -errno. */
static int read_entries(struct status_entry **out)
{
	char path[512], line[STATUS_LINE_LEN];
	struct status_entry *entries = NULL;
	int count = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", status_directory(), STATUS_FILE);
	f = fopen(path, "re");
	if (!f)
		return -errno;

	while (fgets(line, sizeof(line), f)) {
		struct status_entry *grown;

		grown = reallocarray(entries, (size_t)count + 1,
				     sizeof(*entries));
		if (!grown)
			break;
		entries = grown;
		if (parse_entry(line, &entries[count]))
			count++;
	}

	fclose(f);
	*out = entries;
	return count;
}

static bool rule_of_table(const struct settings *s, const struct net_rule *rule,
			  long table)
{
	return reconcile_rule_is_owned(s, rule) && rule->table == table;
}

static void print_text_block(const struct settings *s,
			     const struct status_entry *e,
			     const struct net_state *kernel)
{
	char text[IP_PREFIX_STRLEN];
	long table = strtol(e->fields[FIELD_TABLE], NULL, 10);

	printf("%s (ifindex %d)\n", e->fields[FIELD_NAME], e->ifindex);
	printf("  MAC:          %s\n", e->fields[FIELD_MAC]);
	printf("  ENI:          %s\n", e->fields[FIELD_ENI]);
	printf("  card/device:  %s/%s\n", e->fields[FIELD_CARD],
	       e->fields[FIELD_DEVICE]);
	printf("  table:        %s\n", e->fields[FIELD_TABLE]);
	printf("  state:        %s\n", e->fields[FIELD_STATE]);
	if (strcmp(e->fields[FIELD_REASON], "-") != 0)
		printf("  reason:       %s\n", e->fields[FIELD_REASON]);

	for (size_t i = 0; i < kernel->n_addrs; i++) {
		const struct net_addr *a = &kernel->addrs[i];

		if (a->ifindex == e->ifindex && a->scope != RT_SCOPE_LINK)
			printf("  address:      %s%s\n",
			       ip_prefix_format(&a->local, text),
			       reconcile_addr_is_owned(s, a) ? " (enid)" : "");
	}

	for (size_t i = 0; table > 0 && i < kernel->n_rules; i++) {
		const struct net_rule *rule = &kernel->rules[i];

		if (rule_of_table(s, rule, table))
			printf("  rule:         %u: from %s lookup %u\n",
			       rule->priority,
			       ip_prefix_format(&rule->src, text), rule->table);
	}

	printf("\n");
}

/* Prints text as a JSON string. */
static void print_json_string(const char *text)
{
	putchar('"');
	for (const char *c = text; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	}
	putchar('"');
}

static void print_json_member(const char *name, const char *value,
			      bool comma)
{
	printf("\"%s\": ", name);
	if (strcmp(value, "-") == 0)
		printf("null");
	else
		print_json_string(value);
	printf("%s", comma ? ", " : "");
}

static void print_json_block(const struct settings *s,
			     const struct status_entry *e,
			     const struct net_state *kernel, bool last)
{
	static const char *const names[STATUS_FIELDS] = {
		"ifindex", "name", "mac", "eni", "card", "device", "table",
		"state", "reason"};
	char text[IP_PREFIX_STRLEN];
	long table = strtol(e->fields[FIELD_TABLE], NULL, 10);
	bool first = true;

	printf("  {");
	for (int i = FIELD_NAME; i < STATUS_FIELDS; i++)
		print_json_member(names[i], e->fields[i], true);
	printf("\"ifindex\": %d, \"addresses\": [", e->ifindex);

	for (size_t i = 0; i < kernel->n_addrs; i++) {
		const struct net_addr *a = &kernel->addrs[i];

		if (a->ifindex != e->ifindex || a->scope == RT_SCOPE_LINK)
			continue;
		printf("%s{\"address\": \"%s\", \"enid\": %s}",
		       first ? "" : ", ", ip_prefix_format(&a->local, text),
		       reconcile_addr_is_owned(s, a) ? "true" : "false");
		first = false;
	}

	printf("], \"rules\": [");
	first = true;
	for (size_t i = 0; table > 0 && i < kernel->n_rules; i++) {
		const struct net_rule *rule = &kernel->rules[i];

		if (!rule_of_table(s, rule, table))
			continue;
		printf("%s{\"priority\": %u, \"from\": \"%s\", \"table\": %u}",
		       first ? "" : ", ", rule->priority,
		       ip_prefix_format(&rule->src, text), rule->table);
		first = false;
	}

	printf("]}%s\n", last ? "" : ",");
}

/* Marks the addresses of the daemon's record (kernels before 6.1). */
static void mark_recorded(const struct settings *s, struct net_state *kernel)
{
	struct address_records records;

	if (records_load(&records) < 0)
		return;

	records_apply(&records, kernel, s->protocol);
	records_free(&records);
}

static int dump_kernel(const struct settings *s, struct net_state *kernel)
{
	struct netlink *nl;
	int r;

	r = netlink_open(&nl);
	if (r < 0)
		return r;

	r = netlink_dump(nl,
			 NETLINK_DUMP_LINKS | NETLINK_DUMP_ADDRS |
				 NETLINK_DUMP_ROUTES | NETLINK_DUMP_RULES,
			 s->protocol, kernel);
	netlink_close(nl);
	if (r == 0)
		mark_recorded(s, kernel);
	return r;
}

int status_command(const struct settings *s, bool json)
{
	struct status_entry *entries = NULL;
	struct net_state kernel = {0};
	int count, r;

	count = read_entries(&entries);
	if (count < 0) {
		fprintf(stderr,
			"enid: no status in %s/%s (%s); is the daemon running?\n",
			status_directory(), STATUS_FILE, strerror(-count));
		return 1;
	}

	r = dump_kernel(s, &kernel);
	if (r < 0) {
		fprintf(stderr, "enid: cannot read the kernel's state: %s\n",
			strerror(-r));
		free(entries);
		return 1;
	}

	if (json)
		printf("[\n");
	for (int i = 0; i < count; i++) {
		if (json)
			print_json_block(s, &entries[i], &kernel,
					 i == count - 1);
		else
			print_text_block(s, &entries[i], &kernel);
	}
	if (json)
		printf("]\n");

	net_state_clear(&kernel);
	free(entries);
	return 0;
}

static int append_deletions(const struct settings *s,
			    const struct net_state *kernel,
			    struct net_op_list *ops)
{
	struct net_op op = {.kind = NET_OP_DELETE};
	int r = 0;

	op.type = NET_OBJECT_RULE;
	for (size_t i = 0; r == 0 && i < kernel->n_rules; i++) {
		op.rule = kernel->rules[i];
		if (reconcile_rule_is_owned(s, &op.rule))
			r = net_op_list_append(ops, &op);
	}

	op.type = NET_OBJECT_ROUTE;
	for (size_t i = 0; r == 0 && i < kernel->n_routes; i++) {
		op.route = kernel->routes[i];
		if (reconcile_route_is_owned(s, &op.route))
			r = net_op_list_append(ops, &op);
	}

	op.type = NET_OBJECT_ADDR;
	for (size_t i = 0; r == 0 && i < kernel->n_addrs; i++) {
		op.addr = kernel->addrs[i];
		if (reconcile_addr_is_owned(s, &op.addr))
			r = net_op_list_append(ops, &op);
	}

	return r;
}

static const char *kernel_ifname(int ifindex, void *userdata)
{
	const struct net_link *link = net_state_find_link(userdata, ifindex);

	return link ? link->name : NULL;
}

int cleanup_command(const struct settings *s)
{
	struct net_state kernel = {0};
	struct net_op_list ops = {0};
	struct netlink *nl = NULL;
	int *errors = NULL;
	int r, status = 0;

	r = netlink_open(&nl);
	if (r == 0)
		r = netlink_dump(nl,
				 NETLINK_DUMP_LINKS | NETLINK_DUMP_ADDRS |
					 NETLINK_DUMP_ROUTES |
					 NETLINK_DUMP_RULES,
				 s->protocol, &kernel);
	if (r == 0) {
		mark_recorded(s, &kernel);
		r = append_deletions(s, &kernel, &ops);
	}
	if (r == 0 && ops.count > 0) {
		errors = calloc(ops.count, sizeof(int));
		r = errors ? netlink_apply(nl, ops.ops, ops.count, errors) :
			     -ENOMEM;
	}

	for (size_t i = 0; errors && i < ops.count; i++) {
		char text[512];

		net_op_format(&ops.ops[i], kernel_ifname, &kernel, text,
			      sizeof(text));
		printf("%s%s%s\n", text, errors[i] ? ": " : "",
		       errors[i] ? strerror(-errors[i]) : "");
	}

	if (r < 0) {
		fprintf(stderr, "enid: cleanup failed: %s\n", strerror(-r));
		status = 1;
	}

	free(errors);
	net_op_list_clear(&ops);
	net_state_clear(&kernel);
	netlink_close(nl);
	return status;
}

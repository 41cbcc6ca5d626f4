# SPDX-License-Identifier: MIT
"""Attach and detach churn: nothing keeps running for gone links.

Cycles attach one of M1, M2, M3 and delete its link at a random moment
0-500 ms later, while the mock delays its responses for M1's and M2's keys
by 200 ms.
Every other cycle the MAC comes back under another link name, and each
new link has a new ifindex. Every tenth cycle waits until the ENI is
configured before the detach, then checks that its rules are gone within
1 s. At the
end: no rule, route or address of the churned ENIs, no metadata request for
their MACs 2 s after their last detach, fd count and RSS close to what
they were after the warm-up, and the daemon close to idle.

ENID_CHURN_CYCLES sets the number of cycles (50; 1000 with ENID_STRESS=1).
"""

import time
import unittest

import expected
from case import wait_until
from stress import (ReliabilityCase, count, cpu_seconds, fd_count,
                    fd_targets, instrumented, rss_kib, seeded_random,
                    tcp_fd_count)

CHURNED = ("M1", "M2", "M3")
SLOW = ("M1", "M2")  # the mock delays its responses for these ENIs' keys
LATENCY = 0.2
MAX_DETACH_DELAY = 0.5
RULES_GONE_DEADLINE = 1.0
CONFIGURED_EVERY = 10
QUIET_AFTER_DETACH = 2.0
FD_GROWTH_MAX = 2  # fds other than TCP sockets
# libcurl keeps idle connections to the mock for reuse, so the number of
# TCP sockets depends on the moment. enid caps them at 16
# (MAX_HOST_CONNECTIONS in imds/client.c, CURLMOPT_MAXCONNECTS).
TCP_CONNECTIONS_MAX = 16
RSS_GROWTH_MAX_KIB = 2048
IDLE_SECONDS = 4.0
IDLE_CPU_SHARE = 0.05
IDLE_CPU_SHARE_INSTRUMENTED = 0.30


class ChurnTest(ReliabilityCase):
    LISTED = ("M0",) + CHURNED
    ATTACHED = ("M0",)

    def prepare_metadata(self):
        for name in SLOW:
            self.meta.add_fault(path="/macs/%s/" % self.meta.mac(name),
                                latency=LATENCY)

    def table_of(self, name):
        return expected.plan(self.meta, [name])[name].table

    def leftovers(self, name):
        """enid's rules and routes for an ENI's table, both families."""
        table = str(self.table_of(name))
        found = [r for family in ("-4", "-6")
                 for r in self.rig.rules(family) if r.get("table") == table]
        for family in ("-4", "-6"):
            found += self.rig.routes(family, table)
        return found

    def link_name(self, name, cycle):
        """The ENI's own name, or on odd cycles another one."""
        return name if cycle % 2 == 0 else "n%d%s" % (cycle % 10, name)

    def plan_for(self, name, link):
        return expected.EniPlan(link, self.meta.mac(name),
                                self.meta.iface(name), False)

    def cycle(self, rng, number, detached_at, problems):
        name = CHURNED[number % len(CHURNED)]
        link = self.link_name(name, number)
        self.rig.attach(link, self.meta.mac(name))
        checked = number % CONFIGURED_EVERY == 0
        if checked:
            self.wait_configured({link: self.plan_for(name, link)},
                                 timeout=10.0)
        else:
            time.sleep(rng.uniform(0, MAX_DETACH_DELAY))
        self.rig.detach(link)
        detached_at[self.meta.mac(name)] = time.time()
        if checked and not wait_until(lambda: not self.leftovers(name),
                                      RULES_GONE_DEADLINE, step=0.02):
            problems.append("cycle %d: %s's objects %.0f s after detach: %s"
                            % (number, link, RULES_GONE_DEADLINE,
                               self.leftovers(name)))

    def test_churn(self):
        rng = seeded_random(self)
        cycles = count("ENID_CHURN_CYCLES", 50, 1000)
        warm_up = max(10, cycles // 10)
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        detached_at = {}
        problems = []
        for number in range(cycles):
            if number == warm_up:
                fds = fd_count(self.pid) - tcp_fd_count(self.pid)
                rss = rss_kib(self.pid)
                warm_targets = fd_targets(self.pid)
            self.cycle(rng, number, detached_at, problems)
            self.assertTrue(self.enid.running(), "enid exited in cycle %d%s"
                            % (number, self.context()))
        time.sleep(QUIET_AFTER_DETACH + 2 * 2.0)
        context = " (seed %d)%s" % (self.seed, self.context())
        self.assertEqual(problems, [], "rules left after detach" + context)
        self.assert_nothing_left(context)
        self.assert_no_late_requests(detached_at, context)
        self.assert_resources(fds, rss, warm_targets, context)
        self.assert_configured(self.plans(["M0"]))
        self.stop_enid()
        self.assert_clean_log()

    def assert_nothing_left(self, context):
        for name in CHURNED:
            self.assertEqual(self.leftovers(name), [],
                             "%s's table and rules%s" % (name, context))
        links = self.rig.links()
        self.assertEqual(sorted(links), ["M0", "lo"], "links" + context)
        added = [str(a) for a in self.plans(["M0"])["M0"].addresses]
        addresses = [a["local"] for a in self.rig.addresses("M0")]
        self.assertEqual(sorted(addresses), sorted(added),
                         "M0's addresses" + context)

    def assert_no_late_requests(self, detached_at, context):
        late = []
        for request in self.mock.requests():
            for mac, when in detached_at.items():
                if ("/macs/%s/" % mac in request["path"]
                        and request["t"] > when + QUIET_AFTER_DETACH):
                    late.append("%.1f s after: %s" % (
                        request["t"] - when, request["path"]))
        self.assertEqual(late, [], "requests for gone MACs" + context)

    def assert_resources(self, fds, rss, warm_targets, context):
        tcp = tcp_fd_count(self.pid)
        now_fds = fd_count(self.pid) - tcp
        now_rss = rss_kib(self.pid)
        self.assertLessEqual(now_fds, fds + FD_GROWTH_MAX,
                             "open fds but TCP sockets after the warm-up %d "
                             "%s, now %d %s%s" % (
                                 fds, warm_targets, now_fds,
                                 fd_targets(self.pid), context))
        self.assertLessEqual(tcp, TCP_CONNECTIONS_MAX,
                             "open TCP sockets %d%s" % (tcp, context))
        if not instrumented():
            self.assertLessEqual(
                now_rss, rss + RSS_GROWTH_MAX_KIB,
                "VmRSS after the warm-up %d KiB, now %d KiB%s" % (
                    rss, now_rss, context))
        before = cpu_seconds(self.pid)
        time.sleep(IDLE_SECONDS)
        used = cpu_seconds(self.pid) - before
        share = (IDLE_CPU_SHARE_INSTRUMENTED if instrumented()
                 else IDLE_CPU_SHARE)
        self.assertLessEqual(used, share * IDLE_SECONDS,
                             "CPU seconds in %.0f s of quiet: %.2f%s" % (
                                 IDLE_SECONDS, used, context))


if __name__ == "__main__":
    unittest.main()

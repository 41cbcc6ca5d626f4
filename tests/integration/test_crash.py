# SPDX-License-Identifier: MIT
"""Crashes and shutdown: a killed enid converges on restart; SIGTERM keeps
the configuration and `enid cleanup` removes exactly enid's objects.

CrashTest configures ten ENIs (data/ten.json) once to record the desired
kernel state. Then, in each round, `enid cleanup` removes that state, enid
starts and gets SIGKILL at a random moment while it configures, and a
restarted enid must end with the recorded rules, routes and addresses, no
object twice and nothing left over. ENID_CRASH_KILLS sets the number of kills
(5; 100 with ENID_STRESS=1).
"""

import collections
import time
import unittest

from stress import ReliabilityCase, count, seeded_random

TEN = tuple("M%d" % i for i in range(10))
CONFIGURE_DEADLINE = 20.0
SETTLE_AFTER_CONFIGURED = 1.0


def sorted_sections(text):
    """text_dump() with the lines of each section sorted (rules of one
    priority and routes may be listed in another order)."""
    sections = []
    for part in text.split("# ")[1:]:
        head, _, body = part.partition("\n")
        sections.append((head, sorted(body.splitlines())))
    return sections


class CrashTest(ReliabilityCase):
    DATA = "ten.json"
    LISTED = ATTACHED = TEN

    def kernel_state(self):
        """Rules and routes (sorted text) and each link's addresses."""
        addresses = {}
        for name in TEN:
            addresses[name] = sorted(
                (a["local"], a["prefixlen"], bool(a.get("noprefixroute")))
                for a in self.rig.addresses(name, None))
        return {"dump": sorted_sections(self.rig.text_dump()),
                "addresses": addresses}

    def cleanup(self):
        done = self.run_subcommand("cleanup")
        self.assertEqual(done.returncode, 0, "enid cleanup: %s" % done.stderr)

    def assert_no_duplicates(self, context):
        for family in ("-4", "-6"):
            rules = [(r["priority"], r.get("src"), r.get("srclen"),
                      r.get("table"), r.get("protocol"))
                     for r in self.rig.rules(family)]
            twice = [k for k, n in collections.Counter(rules).items() if n > 1]
            self.assertEqual(twice, [], "%s rules twice%s" % (family, context))
            routes = [(r.get("type"), r.get("table"), r["dst"],
                       r.get("gateway"), r.get("dev"), r.get("metric"))
                      for r in self.rig.routes(family)]
            twice = [k for k, n in collections.Counter(routes).items()
                     if n > 1]
            self.assertEqual(twice, [], "%s routes twice%s" % (family,
                                                              context))

    def kill_while_configuring(self, rng, configure_time):
        self.cleanup()
        self.enid.start()
        time.sleep(rng.uniform(0, configure_time))
        self.enid.proc.kill()
        self.enid.proc.wait()
        return time.monotonic() - self.enid.started_at

    def test_kill_while_configuring(self):
        rng = seeded_random(self)
        kills = count("ENID_CRASH_KILLS", 5, 100)
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans, timeout=CONFIGURE_DEADLINE)
        configure_time = time.monotonic() - self.enid.started_at
        time.sleep(SETTLE_AFTER_CONFIGURED)
        self.stop_enid()
        desired = self.kernel_state()
        for number in range(kills):
            killed_after = self.kill_while_configuring(rng, configure_time)
            context = " (kill %d after %.2f s, seed %d)%s" % (
                number, killed_after, self.seed, self.context())
            self.start_enid()
            self.wait_configured(plans, timeout=CONFIGURE_DEADLINE)
            time.sleep(SETTLE_AFTER_CONFIGURED)
            self.assertEqual(self.kernel_state(), desired,
                             "state after restart" + context)
            self.assert_no_duplicates(context)
            self.stop_enid()


class ShutdownTest(ReliabilityCase):
    LISTED = ATTACHED = ("M0", "M1", "M2")
    FOREIGN_RULE = ("priority", "10001", "from", "10.0.1.99", "lookup",
                    "100")

    def addresses(self):
        return {name: sorted((a["local"], a["prefixlen"])
                             for a in self.rig.addresses(name, None))
                for name in self.ATTACHED}

    def test_sigterm_then_cleanup(self):
        """SIGTERM leaves the configuration in place and traffic flowing;
        `enid cleanup` then removes exactly what enid added."""
        plans = self.plans()
        self.rig.ip("inst", "rule", "add", *self.FOREIGN_RULE)
        # The kernel adds IPv6 routes to a link that goes up, so the links
        # go up before the first dump and those routes are in both dumps.
        for name in self.ATTACHED:
            self.rig.ip("inst", "link", "set", name, "up")
        time.sleep(0.5)
        before = self.rig.text_dump()
        addresses_before = self.addresses()
        self.start_enid()
        self.wait_configured(plans)
        self.stop_enid()
        self.assertFalse(self.enid.running())
        self.assert_configured(plans)
        self.assert_exact_rules(plans)
        self.assert_reachable(plans)

        done = self.run_subcommand("cleanup")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertMultiLineEqual(self.rig.text_dump(), before,
                                  "rules and routes after enid cleanup")
        self.assertEqual(self.addresses(), addresses_before,
                         "addresses after enid cleanup")
        self.assert_dhcp_untouched(plans)


if __name__ == "__main__":
    unittest.main()

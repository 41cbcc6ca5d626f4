# SPDX-License-Identifier: MIT
"""--dry-run --oneshot prints the changes and makes none."""

import re
import unittest

from case import EnidCase

RUN_TIMEOUT = 30.0


class DryRunTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1", "M2")

    def assert_line(self, lines, pattern):
        regex = re.compile(pattern)
        self.assertTrue(any(regex.search(line) for line in lines),
                        "no line matches %r in:\n%s" % (pattern,
                                                        "\n".join(lines)))

    def test_dry_run_changes_nothing(self):
        plans = self.plans()
        before = self.rig.dump()
        status, out, log = self.enid.run("--oneshot", "--dry-run",
                                         timeout=RUN_TIMEOUT)
        self.assertEqual(status, 0, "exit status of --dry-run\n" + log)
        self.assertEqual(self.rig.dump(), before, "kernel state changed")
        lines = out.splitlines()
        self.assertTrue(lines, "no output\n" + log)
        odd = [l for l in lines if not re.match(r"(add|delete|set) ", l)]
        self.assertEqual(odd, [], "lines not starting with add/delete/set")
        for p in plans.values():
            for addr in p.added_addresses:
                self.assert_line(lines, r"^add .*\b%s\b" % re.escape(
                    p.interface(addr)))
            for addr in p.addresses:
                self.assert_line(lines, r"^add rule .*from %s(/32)?\b.*"
                                 r"lookup %d\b" % (re.escape(str(addr)),
                                                   p.table))
            self.assert_line(lines, r"^add route .*default via %s\b.*%d" % (
                re.escape(str(p.gateway)), p.table))
        self.assert_before_enid(plans)
        repeated = sorted({l for l in lines if lines.count(l) > 1})
        if repeated:
            self.fail("changes printed more than once:\n" + "\n".join(
                "%d x %s" % (lines.count(l), l) for l in repeated))


if __name__ == "__main__":
    unittest.main()

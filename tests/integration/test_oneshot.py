# SPDX-License-Identifier: MIT
"""--oneshot configures every present ENI, then exits 0."""

import unittest

from case import EnidCase

ONESHOT_TIMEOUT = 30.0


class OneshotTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1", "M2")

    def test_oneshot_configures_and_exits(self):
        plans = self.plans()
        self.assert_before_enid(plans)
        status, _, log = self.enid.run("--oneshot", timeout=ONESHOT_TIMEOUT)
        self.assertEqual(status, 0, "exit status of --oneshot\n" + log)
        self.assert_configured(plans)
        self.assert_exact_rules(plans)
        self.assert_shared_rules()
        self.assert_exact_tables(plans)
        self.assert_reachable(plans)


if __name__ == "__main__":
    unittest.main()

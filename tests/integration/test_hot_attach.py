# SPDX-License-Identifier: MIT
"""Hot attach: an ENI's link appears while enid runs."""

import time
import unittest

from case import EnidCase

ATTACH_DEADLINE = 5.0


class HotAttachTest(EnidCase):
    LISTED = ATTACHED = ("M0",)

    def hot_attach_and_check(self, name):
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        self.meta.list(name)
        new = self.plans([name])
        self.assert_pings(False, new[name].addresses, phase="before attach")
        started = time.monotonic()
        self.publish()
        self.attach_link(name)
        self.wait_configured(new, timeout=ATTACH_DEADLINE)
        elapsed = time.monotonic() - started
        plans = self.plans(["M0", name])
        self.assert_exact_rules(plans)
        self.assert_shared_rules()
        self.assert_exact_tables(plans)
        self.assert_main_routes(plans)
        self.assert_reachable(plans)
        self.stop_enid()
        return elapsed

    def test_hot_attach_other_subnet(self):
        self.hot_attach_and_check("M1")

    def test_hot_attach_primary_subnet(self):
        self.hot_attach_and_check("M2")


if __name__ == "__main__":
    unittest.main()

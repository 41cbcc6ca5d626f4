# SPDX-License-Identifier: MIT
"""A hot-attached link that appears as "eth1" and is renamed, as udev does.

enid keys its state by ifindex, so the rename (before or while the
metadata requests run) must not keep the link from being configured.
"""

import unittest

from case import EnidCase

ATTACH_DEADLINE = 5.0


class RenameTest(EnidCase):
    LISTED = ATTACHED = ("M0",)

    def attach_renamed(self, delay):
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        self.meta.list("M1")
        self.publish()
        self.attach_link("M1", first_name="eth1", rename_after=delay)
        plans = self.plans(["M0", "M1"])
        self.wait_configured(plans, timeout=ATTACH_DEADLINE)
        self.assert_exact_rules(plans)
        self.assert_reachable(plans)
        self.stop_enid()

    def test_rename_within_move(self):
        self.attach_renamed(None)

    def test_rename_at_once(self):
        self.attach_renamed(0.0)

    def test_rename_after_300ms(self):
        self.attach_renamed(0.3)


if __name__ == "__main__":
    unittest.main()

# SPDX-License-Identifier: MIT
"""Cold attach: three ENIs exist before enid starts.

M0 is the primary (10.0.0.10 from DHCP, 10.0.0.11 secondary), M1 is in
another subnet (10.0.1.20) and M2 in the primary's subnet (10.0.0.30), so
replies from M2's address leave by M2 only through its source rule.
"""

import unittest

from case import EnidCase


class ColdAttachTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1", "M2")

    def test_cold_attach_three_enis(self):
        plans = self.plans()
        self.assert_before_enid(plans)
        self.start_enid()
        # READY=1 comes after the first reconcile, so all is in place.
        self.assert_configured(plans)
        self.assert_exact_rules(plans)
        self.assert_shared_rules()
        self.assert_exact_tables(plans)
        self.assert_main_routes(plans)
        self.assert_dhcp_untouched(plans)
        self.assert_reachable(plans)
        self.assert_tokens_used()
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()

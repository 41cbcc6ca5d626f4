# SPDX-License-Identifier: MIT
"""A link whose MAC the metadata does not list is never touched."""

import unittest

from case import EnidCase


class UnlistedLinkTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1")

    def link_state(self, name):
        link = self.rig.links()[name]
        return {"flags": link["flags"], "mtu": link["mtu"],
                "group": link.get("group"),
                "addr": [a["local"] for a in self.rig.addresses(name, None)]}

    def test_unlisted_link_untouched(self):
        mac = self.meta.mac("U9")
        self.rig.attach("U9", mac)
        before = self.link_state("U9")
        self.assertEqual(before["addr"], [])
        self.start_enid()
        self.wait_configured(self.plans())
        self.wait_refresh()
        self.assertEqual(self.link_state("U9"), before)
        self.assert_unconfigured("U9")
        requested = [r["path"] for r in self.mock.requests()
                 if mac.lower() in r["path"].lower()]
        self.assertEqual(requested, [], "requests for the unlisted MAC")
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()

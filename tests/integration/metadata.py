# SPDX-License-Identifier: MIT
"""The metadata a test serves through the mock, with the ENIs it may attach.

A sample file under data/ describes every ENI a test may use ("interfaces",
keyed by MAC) and the link name the rig gives each MAC ("names"). A test
starts with some of them listed. The others wait in a catalog until the test
lists them (a hot attach), and an ENI the test unlists (a detach) returns to
the catalog.
"""

import copy
import json
import os
import time

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


class Metadata:
    """Mock data (the JSON of imds_mock.py) plus the ENIs not listed yet."""

    def __init__(self, data, listed=None):
        self.data = copy.deepcopy(data)
        self.data.setdefault("faults", [])
        self.data.setdefault("attach_times", {})
        self.names = dict(self.data.get("names") or {})
        self.catalog = copy.deepcopy(self.data.get("interfaces") or {})
        if listed is not None:
            self.data["interfaces"] = {}
            for name in listed:
                self.list(name)

    @classmethod
    def load(cls, filename, listed=None):
        """Load data/<filename>; list only the ENIs named in listed if given."""
        with open(os.path.join(DATA_DIR, filename), encoding="utf-8") as f:
            return cls(json.load(f), listed)

    def mac(self, name):
        return self.names[name]

    def name(self, mac):
        for name, value in self.names.items():
            if value.lower() == mac.lower():
                return name
        return None

    @property
    def primary(self):
        """The link name of the primary ENI (top-level "mac")."""
        return self.name(self.data["mac"])

    def iface(self, name):
        """The keys of a listed ENI (a live dict: edits change the data)."""
        return self.data["interfaces"][self.mac(name)]

    def is_listed(self, name):
        return self.mac(name) in self.data["interfaces"]

    def listed(self):
        return [self.name(mac) for mac in self.data["interfaces"]]

    def list(self, name, when=None):
        """List an ENI of the catalog, recording when it was attached."""
        mac = self.mac(name)
        self.data["interfaces"][mac] = copy.deepcopy(self.catalog[mac])
        self.data["attach_times"][mac] = time.time() if when is None else when

    def unlist(self, name):
        mac = self.mac(name)
        self.data["interfaces"].pop(mac, None)
        self.data["attach_times"].pop(mac, None)

    def add_fault(self, **fault):
        self.data["faults"].append(fault)

    def snapshot(self):
        """A deep copy of the data, for the mock's data file."""
        return copy.deepcopy(self.data)

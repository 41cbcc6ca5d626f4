# SPDX-License-Identifier: MIT
"""The shipped files: man pages, cloud-init examples, the Debian and RPM
packages, the .deb installed into a throw-away Debian chroot, and enid
run with only the privileges that enid.service gives it.

Each test skips, naming the missing tool, when a tool it needs is absent.
The man pages and packages are built with `make man`, `make deb` and
`make rpm` into a build directory of this run, not into build/, so that
another make in the same tree cannot delete them mid-test. The chroot
comes from `debootstrap --variant=minbase` (about 30 s and 60 MB
of downloads from a nearby mirror). Set ENID_IT_CHROOT=no to skip that
test, and ENID_IT_MIRROR to use another Debian mirror.

The maintainer scripts run under `chroot` inside a private network
namespace (`unshare --net`), so nothing they start can reach the host's
network. The chroot has no /run/systemd/system, as in an image build, so
the postinst enables enid.service but does not start it.

With ENID_IT_NSPAWN=yes, a second chroot is booted with systemd-nspawn
(package systemd-container) in a private network namespace, and enid.service
runs there with its full sandbox. That test is opt-in because
systemd-nspawn's needs (cgroups, a host without a conflicting container
manager) vary between CI machines.
"""

import configparser
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from case import EnidCase
from enidproc import BINARY, Enid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
# This run's build directory (see setUpModule).
BUILD = None
DEFAULT_MIRROR = "http://deb.debian.org/debian"
CHROOT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

# Files the packages install, relative to the root.
UNIT_FILES = {
    "etc/enid/enid.conf": "units/enid.conf",
    "etc/iproute2/rt_protos.d/enid.conf": "units/rt_protos.conf",
}
CONFFILES = ("/etc/enid/enid.conf", "/etc/iproute2/rt_protos.d/enid.conf")
MAN_PAGES = ("usr/share/man/man8/enid.8", "usr/share/man/man5/enid.conf.5")
WANTS_LINK = "etc/systemd/system/multi-user.target.wants/enid.service"


def read(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        return f.read()


def run(argv, timeout=600, **kwargs):
    """Run argv and return the CompletedProcess, with stderr in stdout."""
    return subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, **kwargs)


def require_tools(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise unittest.SkipTest("%s not found (install it to run this test)"
                                % ", ".join(missing))


def makefile_version():
    return re.search(r"^VERSION := (\S+)$", read("Makefile"), re.M).group(1)


def config_keys():
    """Return the keys of daemon/config.c's key table, in its order."""
    source = read("daemon/config.c")
    table = source[source.index("config_keys[] = {"):]
    table = table[:table.index("};")]
    return re.findall(r'\{"(\w+)", set_\w+\}', table)


def long_options():
    """Return the long options of daemon/main.c without those that a
    "/* Test option" comment precedes, which the man page omits."""
    source = read("daemon/main.c")
    names = re.findall(r'\{"([\w-]+)", (?:no|required)_argument', source)
    hidden = re.findall(r'/\* Test option[^*]*\*/\s*\{"([\w-]+)"', source)
    return [n for n in names if n not in hidden]


def setUpModule():
    global BUILD
    base = os.environ.get("ENID_IT_WORKDIR")
    BUILD = tempfile.mkdtemp(prefix="enid-packaging-", dir=base)
    # run.py removes its work directory when every test passed.
    if base is None:
        unittest.addModuleCleanup(shutil.rmtree, BUILD, ignore_errors=True)


def make(target):
    """Run `make TARGET` in the repository with BUILD pointing at this
    run's build directory; fail with its output."""
    result = run(["make", "-C", REPO, "--no-print-directory",
                  "BUILD=" + BUILD, target])
    if result.returncode != 0:
        raise AssertionError("make %s failed (status %d):\n%s" % (
            target, result.returncode, result.stdout[-6000:]))
    return result.stdout


class DocumentationTest(unittest.TestCase):
    """Man pages and the commented default configuration."""

    def test_man_pages_render_cleanly(self):
        require_tools("scdoc", "man")
        make("man")
        for page in ("man8/enid.8", "man5/enid.conf.5"):
            with self.subTest(page=page):
                result = run(["man", "--warnings", "-E", "UTF-8", "-l",
                              os.path.join(BUILD, "man", page)],
                             env=dict(os.environ, MANWIDTH="80"),
                             stdin=subprocess.DEVNULL)
                self.assertEqual(result.returncode, 0, result.stdout)
                warnings = [line for line in result.stdout.splitlines()
                            if "warning" in line]
                self.assertEqual(warnings, [])

    def test_conf_page_documents_every_key(self):
        page = read("docs/enid.conf.5.scd")
        keys = config_keys()
        self.assertGreater(len(keys), 10)
        for key in keys:
            with self.subTest(key=key):
                self.assertIn("*%s* (default:" % key, page)

    def test_default_config_lists_every_key(self):
        keys = config_keys()
        listed = re.findall(r"^#(\w+) =", read("units/enid.conf"), re.M)
        self.assertEqual(sorted(listed), sorted(keys))

    def test_enid_page_documents_every_option(self):
        page = read("docs/enid.8.scd")
        options = long_options()
        self.assertIn("oneshot", options)
        self.assertNotIn("netlink-rcvbuf", options)
        for option in options:
            with self.subTest(option=option):
                self.assertRegex(page, r"\*(-\w, )?--%s\*" % option)

    def test_versions_agree(self):
        version = makefile_version()
        changelog = read("packaging/debian/changelog").splitlines()[0]
        self.assertIn("enid (%s-" % version, changelog)
        spec = read("packaging/rpm/enid.spec")
        self.assertRegex(spec, r"(?m)^Version:\s+%s$" % re.escape(version))


class CoexistenceTest(unittest.TestCase):
    """The cloud-init example and the other managers' opt-out snippets."""

    CLOUD_FILES = ("units/cloud-init-enid.yaml", "units/cloud-init-enid.cfg")

    def test_cloud_init_files_pass_schema(self):
        require_tools("cloud-init")
        for path in self.CLOUD_FILES:
            with self.subTest(path=path):
                result = run(["cloud-init", "schema", "--config-file",
                              os.path.join(REPO, path)], timeout=120)
                self.assertEqual(result.returncode, 0, result.stdout)
                self.assertIn("Valid cloud-config", result.stdout)

    def test_cloud_init_example_runs_oneshot(self):
        try:
            import yaml
        except ImportError:
            raise unittest.SkipTest("python3-yaml not found")
        config = yaml.safe_load(read("units/cloud-init-enid.yaml"))
        self.assertIn(["/usr/sbin/enid", "--oneshot", "--timeout", "30s"],
                      config["bootcmd"])
        for path in self.CLOUD_FILES:
            with self.subTest(path=path):
                config = yaml.safe_load(read(path))
                when = config["updates"]["network"]["when"]
                self.assertNotIn("hotplug", when)

    def test_networkd_dropin_keeps_foreign_objects(self):
        parser = configparser.ConfigParser()
        parser.optionxform = str
        parser.read_string(read("units/networkd-enid.conf"))
        network = parser["Network"]
        self.assertEqual(network["ManageForeignRoutingPolicyRules"], "no")
        self.assertEqual(network["ManageForeignRoutes"], "no")

    def test_networkmanager_snippet_stops_auto_dhcp(self):
        parser = configparser.ConfigParser()
        parser.read_string(read("units/NetworkManager-enid.conf"))
        self.assertEqual(parser["main"]["no-auto-default"], "*")


class DebianPackageTest(unittest.TestCase):
    """`make deb`: contents, lintian, and installation into a chroot."""

    deb = None

    @classmethod
    def setUpClass(cls):
        require_tools("dpkg-buildpackage", "dh", "scdoc", "git")
        make("deb")
        version = makefile_version()
        debs = [name for name in os.listdir(BUILD)
                if re.fullmatch(r"enid_%s-[^_]+_\w+\.deb" % re.escape(
                    version), name)]
        if len(debs) != 1:
            raise AssertionError("expected one enid .deb in %s, found %s"
                                 % (BUILD, debs))
        cls.deb = os.path.join(BUILD, debs[0])

    def test_deb_contents(self):
        listing = run(["dpkg-deb", "--contents", self.deb]).stdout
        paths = {line.split()[5].lstrip(".") for line in listing.splitlines()}
        expected = ["/usr/sbin/enid", "/lib/systemd/system/enid.service"]
        expected += ["/" + p for p in UNIT_FILES]
        expected += ["/%s.gz" % p for p in MAN_PAGES]
        for path in expected:
            with self.subTest(path=path):
                self.assertIn(path, paths)

    def test_deb_conffiles(self):
        result = run(["dpkg-deb", "--info", self.deb, "conffiles"])
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertEqual(sorted(result.stdout.split()), sorted(CONFFILES))

    def test_deb_lintian_clean(self):
        require_tools("lintian")
        result = run(["lintian", "--display-level", ">=warning", self.deb])
        findings = [line for line in result.stdout.splitlines()
                    if re.match(r"[EW]: ", line)]
        self.assertEqual(findings, [], result.stdout)

    def test_deb_installs_into_chroot(self):
        if os.environ.get("ENID_IT_CHROOT", "yes") == "no":
            self.skipTest("ENID_IT_CHROOT=no")
        if os.geteuid() != 0:
            self.skipTest("chroot and unshare need root")
        require_tools("debootstrap", "chroot", "unshare", "dpkg-deb")
        root = self.make_chroot()
        self.install(root)
        self.check_installed(root)
        self.check_purged(root)

    def test_deb_service_runs_in_container(self):
        if os.environ.get("ENID_IT_NSPAWN", "no") != "yes":
            self.skipTest("opt-in: set ENID_IT_NSPAWN=yes to boot the "
                          "chroot with systemd-nspawn")
        if os.geteuid() != 0:
            self.skipTest("systemd-nspawn needs root")
        require_tools("debootstrap", "chroot", "unshare", "systemd-nspawn")
        root = self.make_chroot()
        self.install(root)
        prepare_container(root)
        # --private-network: the container has only a loopback link.
        # --register=no and --keep-unit: the host may run no systemd.
        result = run(["systemd-nspawn", "--directory", root,
                      "--private-network", "--register=no", "--keep-unit",
                      "--console=read-only", "--boot"],
                     timeout=300, stdin=subprocess.DEVNULL)
        self.assertEqual(result.returncode, 0, result.stdout[-4000:])
        with open(os.path.join(root, "probe.txt"), errors="replace") as f:
            report = f.read()
        fields = dict(line.split("=", 1) for line in report.splitlines()
                      if re.fullmatch(r"[a-z_]+=.*", line))
        self.assertEqual(fields.get("active"), "active", report)
        self.assertNotEqual(fields.get("status_owner"), "0", report)
        self.assertEqual(fields.get("reload"), "ok", report)
        self.assertEqual(fields.get("sighup"), "seen", report)
        self.assertEqual(fields.get("sysctl_probe"), "ok", report)
        self.assertEqual(fields.get("sysctl"), "0", report)
        self.assertEqual(fields.get("stop_status"), "0", report)
        self.assertEqual(fields.get("restarts"), "0", report)

    def make_chroot(self):
        base = os.environ.get("ENID_IT_WORKDIR") or tempfile.gettempdir()
        work = tempfile.mkdtemp(prefix="enid-chroot-", dir=base)
        self.addCleanup(remove_chroot, work)
        root = os.path.join(work, "root")
        # The package's dependencies (libraries) and systemd, whose
        # systemctl reads the enablement state offline.
        depends = run(["dpkg-deb", "--field", self.deb, "Depends"]).stdout
        packages = re.findall(r"(?:^|,)\s*([\w.+-]+)", depends)
        suite = os_release().get("VERSION_CODENAME", "bookworm")
        mirror = os.environ.get("ENID_IT_MIRROR", DEFAULT_MIRROR)
        result = run(["debootstrap", "--variant=minbase",
                      "--include=" + ",".join(packages + ["systemd"]),
                      suite, root, mirror], timeout=900)
        self.assertEqual(result.returncode, 0,
                         "debootstrap %s %s failed:\n%s" % (
                             suite, mirror, result.stdout[-4000:]))
        self.assertFalse(os.path.exists(os.path.join(
            root, "run/systemd/system")), "the chroot looks booted")
        return root

    def in_chroot(self, root, *argv):
        """Run argv in the chroot inside a new network namespace."""
        env = {"PATH": CHROOT_PATH, "LC_ALL": "C",
               "DEBIAN_FRONTEND": "noninteractive"}
        return run(["unshare", "--net", "chroot", root] + list(argv),
                   env=env, timeout=300)

    def install(self, root):
        shutil.copy(self.deb, os.path.join(root, "tmp", "enid.deb"))
        result = self.in_chroot(root, "dpkg", "--install", "/tmp/enid.deb")
        self.assertEqual(result.returncode, 0, result.stdout)

    def check_installed(self, root):
        self.assertTrue(os.access(os.path.join(root, "usr/sbin/enid"),
                                  os.X_OK))
        installed = os.path.join(root, "lib/systemd/system/enid.service")
        with open(installed, encoding="utf-8") as f:
            self.assertEqual(f.read(), read("units/enid.service"))
        for path, source in UNIT_FILES.items():
            with self.subTest(path=path):
                with open(os.path.join(root, path), encoding="utf-8") as f:
                    self.assertEqual(f.read(), read(source))
        for page in MAN_PAGES:
            with self.subTest(page=page):
                self.assertTrue(os.path.isfile(os.path.join(
                    root, page + ".gz")))

        link = os.path.join(root, WANTS_LINK)
        self.assertTrue(os.path.islink(link), "%s is not a symlink" % link)
        self.assertEqual(os.readlink(link), "/lib/systemd/system/enid.service")
        result = self.in_chroot(root, "systemctl", "is-enabled",
                                "enid.service")
        self.assertEqual(result.stdout.strip(), "enabled")

        result = self.in_chroot(root, "dpkg-query", "--showformat",
                                "${Conffiles}", "--show", "enid")
        for conffile in CONFFILES:
            self.assertIn(conffile, result.stdout)

        result = self.in_chroot(root, "/usr/sbin/enid", "--version")
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertEqual(result.stdout.strip(), "enid " + makefile_version())

        # The shipped configuration must parse: a configuration error
        # exits 2. The network namespace has only a down loopback link,
        # so the metadata request fails at once and the run exits 1.
        result = self.in_chroot(root, "/usr/sbin/enid", "--oneshot",
                                "--imds-url", "http://127.0.0.1:9",
                                "--timeout", "1s")
        self.assertEqual(result.returncode, 1, result.stdout)

    def check_purged(self, root):
        result = self.in_chroot(root, "dpkg", "--purge", "enid")
        self.assertEqual(result.returncode, 0, result.stdout)
        for path in ("usr/sbin/enid", "etc/enid", WANTS_LINK):
            with self.subTest(path=path):
                self.assertFalse(os.path.lexists(os.path.join(root, path)))


# Runs once in the booted container (see prepare_container), writes
# key=value lines and enid's journal to /probe.txt, then powers off.
PROBE_SCRIPT = """#!/bin/sh
exec > /probe.txt 2>&1
echo "active=$(systemctl is-active enid.service)"
echo "status_owner=$(stat -c %u /run/enid/status)"
if systemctl reload enid.service; then echo reload=ok; else echo reload=failed; fi
sleep 1
if journalctl -b --no-pager -u enid.service | grep -q SIGHUP; then
	echo sighup=seen
fi
if systemctl start enid-sysctl-probe.service; then
	echo sysctl_probe=ok
fi
echo "sysctl=$(cat /proc/sys/net/ipv6/conf/default/accept_ra_defrtr)"
systemctl stop enid.service
echo "stop_status=$(systemctl show -P ExecMainStatus enid.service)"
echo "restarts=$(systemctl show -P NRestarts enid.service)"
journalctl -b --no-pager -u enid.service -u enid-sysctl-probe.service
"""

PROBE_UNIT = """[Unit]
Description=enid package test probe
After=multi-user.target enid.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/enid-probe
ExecStartPost=/bin/systemctl poweroff

[Install]
WantedBy=multi-user.target
"""

# Lines of enid.service that do not describe its sandbox.
NOT_SANDBOX = re.compile(r"^(Type|ExecStart|ExecReload|Restart\w*|"
                         r"WatchdogSec|RuntimeDirectory|WantedBy)=|^\[Install\]")


def sandbox_probe_unit():
    """Return a unit with enid.service's sandbox that writes one network
    sysctl, as enid does for each secondary ENI."""
    lines = [line for line in read("units/enid.service").splitlines()
             if not NOT_SANDBOX.match(line)]
    service = lines.index("[Service]")
    lines[service + 1:service + 1] = [
        "Type=oneshot",
        "ExecStart=/bin/sh -c 'echo 0 > "
        "/proc/sys/net/ipv6/conf/default/accept_ra_defrtr'",
    ]
    return "\n".join(lines) + "\n"


def prepare_container(root):
    """Point enid at a closed loopback port, and install the probe."""
    dropin = os.path.join(root, "etc/systemd/system/enid.service.d")
    os.makedirs(dropin)
    with open(os.path.join(dropin, "test.conf"), "w") as f:
        f.write("[Service]\nExecStart=\n"
                "ExecStart=/usr/sbin/enid --imds-url http://127.0.0.1:9\n")
    units = os.path.join(root, "etc/systemd/system")
    with open(os.path.join(units, "enid-sysctl-probe.service"), "w") as f:
        f.write(sandbox_probe_unit())
    with open(os.path.join(units, "enid-probe.service"), "w") as f:
        f.write(PROBE_UNIT)
    os.symlink("/etc/systemd/system/enid-probe.service", os.path.join(
        units, "multi-user.target.wants", "enid-probe.service"))
    script = os.path.join(root, "usr/local/sbin/enid-probe")
    with open(script, "w") as f:
        f.write(PROBE_SCRIPT)
    os.chmod(script, 0o755)


def os_release():
    fields = {}
    with open("/etc/os-release", encoding="utf-8") as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            fields[key] = value.strip('"')
    return fields


def remove_chroot(work):
    """Delete a chroot directory unless something is mounted inside it."""
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        mounts = [line.split()[4] for line in f]
    inside = [m for m in mounts if m.startswith(work + "/")]
    if inside:
        raise AssertionError("not removing %s: mounts inside: %s" % (
            work, " ".join(inside)))
    shutil.rmtree(work)


class RpmPackageTest(unittest.TestCase):
    """enid.spec: parsing, `make rpm`, and the package's files."""

    SPEC = os.path.join(REPO, "packaging", "rpm", "enid.spec")

    def test_spec_parses(self):
        require_tools("rpmspec")
        result = run(["rpmspec", "-P", self.SPEC])
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertIn("make unit", result.stdout)
        # Each scriptlet's systemd macro must expand, from
        # systemd-rpm-macros or from the spec's stand-ins.
        for section in ("%post", "%preun", "%postun"):
            with self.subTest(section=section):
                body = result.stdout.split("\n%s\n" % section)[1]
                body = body.split("\n%")[0]
                self.assertIn("enid.service", body)
                self.assertNotIn("%systemd", body)

    def test_rpm_builds(self):
        require_tools("rpmbuild", "rpm", "scdoc", "git")
        make("rpm")
        rpms = [name for name in os.listdir(BUILD)
                if name.startswith("enid-%s-" % makefile_version())
                and name.endswith(".rpm") and ".src." not in name]
        self.assertEqual(len(rpms), 1, rpms)
        path = os.path.join(BUILD, rpms[0])

        files = run(["rpm", "-qlp", path]).stdout.split()
        for expected in ["/usr/sbin/enid",
                         "/usr/lib/systemd/system/enid.service"] + \
                list(CONFFILES):
            with self.subTest(path=expected):
                self.assertIn(expected, files)
        for page in MAN_PAGES:
            with self.subTest(page=page):
                self.assertTrue([f for f in files
                                 if f.startswith("/" + page)], files)

        config = run(["rpm", "-qcp", path]).stdout.split()
        self.assertEqual(sorted(config), sorted(CONFFILES))
        scripts = run(["rpm", "-qp", "--scripts", path]).stdout
        for scriptlet in ("postinstall", "preuninstall", "postuninstall"):
            with self.subTest(scriptlet=scriptlet):
                self.assertIn(scriptlet + " scriptlet", scripts)
        self.assertGreaterEqual(scripts.count("enid.service"), 3, scripts)


class UnprivilegedEnid(Enid):
    """enid started through setpriv with the privileges enid.service
    gives: a user id without a passwd entry (as DynamicUser=yes assigns),
    no supplementary groups, no_new_privs, and CAP_NET_ADMIN as the only
    capability (ambient, inheritable and bounding set)."""

    # In the range systemd picks dynamic users from (61184-65519).
    UID = 61874

    def __init__(self, rig, workdir, imds_url):
        wrapper = os.path.join(workdir, "enid-unprivileged")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    "exec setpriv --reuid=%d --regid=%d --clear-groups "
                    "--no-new-privs --inh-caps=-all,+net_admin "
                    "--ambient-caps=-all,+net_admin "
                    "--bounding-set=-all,+net_admin %s \"$@\"\n"
                    % (self.UID, self.UID, BINARY))
        os.chmod(wrapper, 0o755)
        super().__init__(rig, workdir, imds_url, binary=wrapper)
        # systemd creates RuntimeDirectory= owned by the service's user.
        os.chown(self.runtime_dir, self.UID, self.UID)

    def bind_notify_socket(self):
        # systemd's notify socket accepts datagrams from every user.
        super().bind_notify_socket()
        os.chmod(self.notify_path, 0o777)


class UnitPrivilegesTest(EnidCase):
    """enid configures ENIs with only the privileges of enid.service.

    This covers the unit's user and capabilities. Its system call filter
    and file system sandbox need systemd to apply them, which only the
    opt-in container test of DebianPackageTest does."""

    LISTED = ATTACHED = ("M0", "M1", "M2")

    def setUp(self):
        require_tools("setpriv")
        super().setUp()
        # The unprivileged user must reach the configuration file and the
        # notify socket, but the run's work directory is private to root.
        directory = tempfile.mkdtemp(prefix="enid-unprivileged-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        os.chmod(directory, 0o755)
        self.enid = UnprivilegedEnid(self.rig, directory, self.mock.url)
        self.addCleanup(self.enid.kill)

    def test_oneshot_as_unit_user(self):
        plans = self.plans()
        status, _, log = self.enid.run("--oneshot", timeout=30.0)
        self.assertEqual(status, 0, "exit status of --oneshot\n" + log)
        self.assert_configured(plans)
        self.assert_exact_rules(plans)
        self.assert_reachable(plans)

    def test_daemon_as_unit_user(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        self.assert_exact_rules(plans)
        status_file = os.path.join(self.enid.runtime_dir, "status")
        self.assertEqual(os.stat(status_file).st_uid, UnprivilegedEnid.UID)
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()

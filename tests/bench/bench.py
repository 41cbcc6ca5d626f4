#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmarks of enid (`make bench`): hot-attach latency, a 15-ENI boot,
idle cost, attach/detach cycles, and amazon-ec2-net-utils side by side.

Needs root (network namespaces), ./enid built (or ENID_IT_BINARY), strace,
and apt-get for the comparison. Every namespace lives and dies with this
process (rig.py). BENCHMARKS.md explains what each figure covers.

Knobs (environment): BENCH_ATTACHES (default 200), BENCH_RUNS (5),
BENCH_IDLE_SECONDS (300), BENCH_CYCLES (1000), BENCH_SECTIONS (a comma
list of attach, boot, idle and cycles; default all), BENCH_PERF (1: also
perf record one boot per latency), BENCH_JSON (write the results there as
JSON), BENCH_KEEP (keep the work folders in /dev/shm).
"""

import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import (BINARY, PROTOCOL, TABLE_BASE, Bench,  # noqa: E402
                      cpu_seconds, eni_keys, fd_count, load_average, mac_of,
                      median_spread, proc_status, summary, wakeups)
from ec2nu import Ec2NetUtils  # noqa: E402

LATENCIES = (0.0, 0.001)
HOT_INDEX = 1  # device number of the hot-attached ENI
HOT_NAME = "H1"
BOOT_ENIS = 15


def knob(name, default):
    return int(os.environ.get(name, default))


def say(text=""):
    print(text, flush=True)


def ms(seconds):
    return "%.2f" % (seconds * 1000.0)


# -- expected kernel objects --------------------------------------------------

def expected_objects(keys):
    """Return the keys (as in event_key()) of what enid installs for a
    non-primary ENI with these metadata keys."""
    table = TABLE_BASE + int(keys["device-number"])
    want = set()
    families = [("4", keys["subnet-ipv4-cidr-block"], keys["local-ipv4s"],
                 keys.get("ipv4-prefix", []), "0.0.0.0/0", 32)]
    if keys.get("ipv6s"):
        families.append(("6", keys["subnet-ipv6-cidr-blocks"][0],
                         keys["ipv6s"], keys.get("ipv6-prefix", []),
                         "::/0", 128))
    for _, subnet, addrs, prefixes, default, host in families:
        length = subnet.split("/")[1]
        for addr in addrs:
            want.add(("addr", "%s/%s" % (addr, length)))
            want.add(("rule", "%s/%d" % (addr, host)))
        for prefix in prefixes:
            want.add(("rule", prefix))
        want.add(("route", 254, subnet))
        want.add(("route", table, subnet))
        want.add(("route", table, default))
    return want


def event_key(event, ifindex, table):
    """Return the key of an event about the ENI's objects, or None."""
    kind = event["m"][3:]
    if kind == "ADDR" and event.get("if") == ifindex:
        if event.get("a") and not event["a"].startswith("fe80:"):
            return ("addr", event["a"])
    if kind == "ROUTE" and event.get("proto") == PROTOCOL and \
            event.get("oif") == ifindex:
        return ("route", event["table"], event["a"])
    if kind == "RULE" and event.get("table") == table and \
            event.get("proto") == PROTOCOL:
        return ("rule", event["a"])
    return None


def configured_at(events, name, want, table):
    """Return (link time, time all of want is present) from the events
    after an attach, or None while incomplete."""
    link_time = ifindex = None
    present = set()
    for event in events:
        if ifindex is None:
            if event["m"] == "NEWLINK" and event.get("name") == name:
                link_time, ifindex = event["t"], event["if"]
            continue
        key = event_key(event, ifindex, table)
        if key is None:
            continue
        if event["m"].startswith("NEW"):
            present.add(key)
        else:
            present.discard(key)
        if want <= present:
            return link_time, event["t"]
    return None


def removed_at(events, name, table, rules):
    """Return (DELLINK time, time the last of the table's rules was
    deleted) once that many rules were deleted, or None before."""
    link_time = None
    deleted = 0
    for event in events:
        if event["m"] == "DELLINK" and event.get("name") == name:
            link_time = event["t"]
        if event["m"] == "DELRULE" and event.get("table") == table:
            deleted += 1
            if link_time is not None and deleted >= rules:
                return link_time, event["t"]
    return None


# -- 1. hot attach ------------------------------------------------------------

PHASES = ("link to first request", "round 1: macs/ listing",
          "round 2: MAC's key listing", "key requests sent",
          "last key request to first object", "objects")


def phases(requests, events, link_time, done_time, mac):
    """Split one hot attach into PHASES (seconds), from the mock's request
    log and the listener's events; None when a step is missing."""
    mine = sorted((r["t"], r["path"]) for r in requests
                  if link_time <= r["t"] <= done_time and
                  ("/macs/%s" % mac in r["path"] or
                   r["path"].endswith("/macs/")))
    listing = [t for t, path in mine if path.endswith("/macs/")]
    directory = [t for t, path in mine if path.endswith("/%s/" % mac)]
    keys = [t for t, path in mine if not path.endswith("/")]
    objects = [e["t"] for e in events if link_time <= e["t"] <= done_time
               and e["m"] in ("NEWADDR", "NEWROUTE", "NEWRULE")
               and e.get("proto", PROTOCOL) == PROTOCOL
               and not str(e.get("a")).startswith("fe80:")]
    if not (listing and directory and keys and objects):
        return None
    marks = [link_time, listing[0], directory[0], keys[0], keys[-1],
             objects[0], done_time]
    return [b - a for a, b in zip(marks, marks[1:])]


def hot_attach_round(bench, keys, want, compare=None, split=None):
    """Attach and detach the hot ENI once; return (attach seconds, detach
    seconds, ec2-net-utils seconds or None). With split, a list, append
    the attach's phases() to it."""
    table = TABLE_BASE + HOT_INDEX
    bench.new_requests()
    mark = bench.watch.mark()
    bench.rig.attach(HOT_NAME, mac_of(HOT_INDEX))
    done = bench.watch.wait(
        lambda ev: configured_at(ev, HOT_NAME, want, table), mark, 10.0)
    if done is None:
        raise RuntimeError("hot attach not configured within 10 s\n"
                           + bench.enid.log_tail())
    if split is not None:
        split.append(phases(bench.new_requests(), bench.watch.events[mark:],
                            done[0], done[1], mac_of(HOT_INDEX)))
    other = None
    if compare is not None:
        other, _ = compare.run_setup(bench.rig, bench.mock.url,
                                     {HOT_NAME: mac_of(HOT_INDEX)})
    mark = bench.watch.mark()
    bench.rig.detach(HOT_NAME)
    rules = len([key for key in want if key[0] == "rule"])
    removed = bench.watch.wait(
        lambda ev: removed_at(ev, HOT_NAME, table, rules), mark, 10.0)
    if removed is None:
        raise RuntimeError("rules not removed within 10 s after detach")
    return done[1] - done[0], removed[1] - removed[0], other


def bench_hot_attach(results, compare):
    attaches = knob("BENCH_ATTACHES", 200)
    keys = eni_keys(HOT_INDEX, 4, 2, ipv6=True)
    want = expected_objects(keys)
    say("   (load average: %s)" % load_average())
    say("== 1. hot attach: %d attaches per latency; ENI with 4 IPv4 "
        "addresses, 2 IPv4 prefixes, 1 IPv6 address and prefix "
        "(%d objects)" % (attaches, len(want)))
    bench = Bench({0: eni_keys(0, 2), HOT_INDEX: keys}, 0.0)
    try:
        bench.attach(0, "E0")
        bench.start_enid()
        bench.ready_seconds()
        for latency in LATENCIES:
            bench.set_latency(latency)
            rtt = bench.mock_rtt(mac_of(HOT_INDEX))
            results["mock"]["%g ms" % (latency * 1000)] = rtt
            say("  latency %g ms: the mock alone: one GET %s ms, 10 GETs at "
                "once %s ms (medians, from a Python client)"
                % (latency * 1000, ms(rtt["sequential"]),
                   ms(rtt["wave10"])))
            hot_attach_rounds(results, bench, keys, want, compare, latency,
                              attaches)
        results["hot_attach_lost"] = bench.watch.lost()
    finally:
        bench.destroy()


def hot_attach_rounds(results, bench, keys, want, compare, latency,
                      attaches):
    hot_attach_round(bench, keys, want)  # warm-up, not counted
    attach, detach, other, split = [], [], [], []
    every = max(1, attaches // 5)
    for k in range(attaches):
        run_other = compare if k % every == every - 1 else None
        a, d, o = hot_attach_round(bench, keys, want, run_other, split)
        attach.append(a)
        detach.append(d)
        if o is not None:
            other.append(o)
    batches = [attach[i::5] for i in range(5)] if attaches >= 5 else [attach]
    p50s = [statistics.median(b) for b in batches if b]
    tag = "%g ms" % (latency * 1000)
    complete = [row for row in split if row is not None]
    medians = [statistics.median(column) for column in zip(*complete)]
    results["hot_attach"][tag] = {
        "attach": summary(attach), "detach": summary(detach),
        "ec2nu": summary(other), "batch_p50": p50s,
        "phases": dict(zip(PHASES, medians)), "phases_n": len(complete)}
    s = summary(attach)
    say("  latency %s: attach p50 %s p90 %s p99 %s max %s ms (n=%d); "
        "p50 of 5 interleaved batches %s..%s ms"
        % (tag, ms(s["p50"]), ms(s["p90"]), ms(s["p99"]), ms(s["max"]),
           s["n"], ms(min(p50s)), ms(max(p50s))))
    parts = ["%s %s" % (name, ms(value))
             for name, value in zip(PHASES, medians)]
    say("    phases (medians of %d attaches, ms): %s"
        % (len(complete), "; ".join(parts)))
    d = summary(detach)
    say("    detach (link gone -> last rule gone): p50 %s max %s ms"
        % (ms(d["p50"]), ms(d["max"])))
    o = summary(other)
    if o["n"]:
        say("    ec2-net-utils setup_interface, same ENI: median %s ms "
            "(%s..%s, n=%d); ratio to enid p50 %.0fx"
            % (ms(o["p50"]), ms(o["min"]), ms(o["max"]), o["n"],
               o["p50"] / s["p50"]))


# -- 2. boot with 15 ENIs -----------------------------------------------------

def boot_enis():
    return {i: eni_keys(i, 50, 16, ipv6=(i % 3 == 0))
            for i in range(BOOT_ENIS)}


def strace_wrapper(workdir):
    """Write a script that runs enid under strace; return its path."""
    path = os.path.join(workdir, "enid-strace")
    out = os.path.join(workdir, "strace.out")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec strace -f -yy -s 65535 -e "
                "trace=sendmsg,sendto -o %s %s \"$@\"\n" % (out, BINARY))
    os.chmod(path, 0o755)
    return path, out


def perf_wrapper(workdir):
    """Write a script that runs enid under perf record; return its path."""
    path = os.path.join(workdir, "enid-perf")
    out = os.path.join(workdir, "perf.data")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec perf record -q -F 4999 -g -o %s %s \"$@\"\n"
                % (out, BINARY))
    os.chmod(path, 0o755)
    return path, out


def perf_top(perf_data, lines=25):
    """Return perf report's top symbols of a recording, as text."""
    report = subprocess.run(
        ["perf", "report", "-i", perf_data, "--no-children", "--sort",
         "dso,sym", "--stdio", "-g", "none", "--percent-limit", "1"],
        capture_output=True, text=True).stdout
    rows = [line for line in report.splitlines()
            if line.strip() and not line.startswith("#")]
    return "\n".join(rows[:lines])


def count_netlink(strace_out):
    sends = messages = 0
    with open(strace_out) as f:
        for line in f:
            if "<NETLINK:" in line and "resumed>" not in line:
                sends += 1
                messages += line.count("nlmsg_type=")
    return sends, messages


def last_object_time(events):
    """Return the time of the last NEW event of an enid object (routes and
    rules with enid's protocol, addresses other than link-local ones)."""
    times = [e["t"] for e in events if e["m"].startswith("NEW") and
             (e.get("proto") == PROTOCOL or e["m"] == "NEWADDR" and
              not e["a"].startswith("fe80:"))]
    return max(times) if times else None


def boot_once(latency, enis, compare=None, traced=False, perf=False):
    bench = Bench(enis, latency)
    try:
        for i in enis:
            bench.attach(i, "E%d" % i)
        binary, strace_out = BINARY, None
        if traced:
            binary, strace_out = strace_wrapper(bench.workdir)
        if perf:
            binary, perf_data = perf_wrapper(bench.workdir)
        before = len(bench.mock.requests())
        mark = bench.watch.mark()
        mock_cpu = cpu_seconds(bench.mock.proc.pid)
        bench.start_enid(binary=binary)
        ready = bench.ready_seconds()
        pid = bench.enid.proc.pid
        row = {"ready": ready, "enid_cpu_at_ready": cpu_seconds(pid),
               "mock_cpu_at_ready": cpu_seconds(bench.mock.proc.pid)
               - mock_cpu}
        time.sleep(0.5)
        if not traced and not perf:
            row["vmhwm_kb"] = int(proc_status(pid)["VmHWM"])
            last = last_object_time(bench.watch.events[mark:])
            row["last_object"] = last - bench.enid.started_at
        requests = bench.mock.requests()[before:]
        row["requests_total"] = len(requests)
        row["tokens"] = sum(1 for r in requests if r["method"] == "PUT")
        # Requests until READY=1, by wall clock: the mock logs time.time().
        ready_wall = time.time() - (time.monotonic() - bench.enid.started_at
                                    - ready)
        row["requests_to_ready"] = sum(1 for r in requests
                                       if r["t"] <= ready_wall)
        if compare is not None:
            bench.enid.stop()
            ec2nu_start = len(bench.mock.requests())
            links = {"E%d" % i: mac_of(i) for i in enis}
            row["ec2nu"], work = compare.run_setup(bench.rig, bench.mock.url,
                                                  links)
            row["ec2nu_files"] = len(compare.written(work))
            row["ec2nu_requests"] = len(bench.mock.requests()) - ec2nu_start
        bench.enid.stop()
        if traced:
            row["netlink_sends"], row["netlink_messages"] = \
                count_netlink(strace_out)
        if perf:
            row["perf_top"] = perf_top(perf_data)
        row["lost"] = bench.watch.lost()
        return row
    finally:
        bench.destroy()


def bench_boot(results, compare):
    runs = knob("BENCH_RUNS", 5)
    enis = boot_enis()
    say("   (load average: %s)" % load_average())
    say("== 2. boot: %d ENIs, 50 IPv4 addresses and 16 IPv4 prefixes each,"
        " IPv6 on every third; %d runs per latency" % (BOOT_ENIS, runs))
    for latency in LATENCIES:
        tag = "%g ms" % (latency * 1000)
        rows = [boot_once(latency, enis, compare) for _ in range(runs)]
        traced = boot_once(latency, enis, traced=True)
        results["boot"][tag] = {"runs": rows, "traced": traced}
        ready = median_spread([r["ready"] for r in rows])
        last = median_spread([r["last_object"] for r in rows])
        other = median_spread([r["ec2nu"] for r in rows])
        say("  latency %s: READY=1 after %s ms (%s..%s); last object in the "
            "kernel after %s ms (%s..%s)" % (tag, *map(ms, ready),
                                             *map(ms, last)))
        say("    metadata requests until READY=1: %s (token PUTs %s), "
            "within 0.5 s after: %s; peak memory VmHWM %s kB"
            % (sorted(set(r["requests_to_ready"] for r in rows)),
               sorted(set(r["tokens"] for r in rows)),
               sorted(set(r["requests_total"] for r in rows)),
               sorted(set(r["vmhwm_kb"] for r in rows))))
        say("    CPU time until READY=1: enid %s ms (%s..%s), mock %s ms "
            "(%s..%s)" % (*map(ms, median_spread(
                [r["enid_cpu_at_ready"] for r in rows])),
                *map(ms, median_spread(
                    [r["mock_cpu_at_ready"] for r in rows]))))
        say("    netlink (under strace, one run): %d sends, %d messages; "
            "READY=1 under strace after %s ms"
            % (traced["netlink_sends"], traced["netlink_messages"],
               ms(traced["ready"])))
        if os.environ.get("BENCH_PERF"):
            profiled = boot_once(latency, enis, perf=True)
            results["boot"][tag]["perf"] = profiled
            say("    perf record of one boot (READY=1 after %s ms), top "
                "symbols:\n%s" % (ms(profiled["ready"]), profiled["perf_top"]))
        say("    ec2-net-utils setup_interface on the %d links at once: %s ms"
            " (%s..%s), ratio to enid's READY %.0fx; %s metadata requests, "
            "%s files written"
            % (BOOT_ENIS, *map(ms, other), other[0] / ready[0],
               sorted(set(r["ec2nu_requests"] for r in rows)),
               sorted(set(r["ec2nu_files"] for r in rows))))


# -- 3. idle cost and cycles --------------------------------------------------

def bench_idle(results):
    seconds = knob("BENCH_IDLE_SECONDS", 300)
    say("   (load average: %s)" % load_average())
    say("== 3a. idle: %d s with the %d boot ENIs, refresh_interval 60s"
        % (seconds, BOOT_ENIS))
    bench = Bench(boot_enis(), 0.001)
    try:
        for i in range(BOOT_ENIS):
            bench.attach(i, "E%d" % i)
        bench.start_enid()
        bench.ready_seconds()
        pid = bench.enid.proc.pid
        before = len(bench.mock.requests())
        samples = []
        start = time.monotonic()
        while True:
            now = time.monotonic() - start
            samples.append((now, cpu_seconds(pid), *wakeups(pid),
                            int(proc_status(pid)["VmRSS"])))
            if now >= seconds:
                break
            time.sleep(min(10.0, seconds - now))
        requests = len(bench.mock.requests()) - before
        status = proc_status(pid)
        memory = {key: int(status[key]) for key in
                  ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")}
        with open("/proc/%d/smaps_rollup" % pid) as f:
            memory["Pss_kb"] = next(int(line.split()[1]) for line in f
                                    if line.startswith("Pss:"))
    finally:
        bench.destroy()
    first, last = samples[0], samples[-1]
    minutes = (last[0] - first[0]) / 60.0
    row = {"seconds": last[0] - first[0], "cpu": last[1] - first[1],
           "sched_in": last[2] - first[2],
           "voluntary_switches": last[3] - first[3],
           "vmrss_kb": last[4], "requests": requests, "samples": samples,
           "memory_kb": memory}
    results["idle"] = row
    say("  CPU %.3f s over %.0f s (%.1f ms/min); scheduled in %d times "
        "(%.1f/min), %d voluntary switches; VmRSS %d kB; %d metadata "
        "requests" % (row["cpu"], row["seconds"], row["cpu"] * 1000 / minutes,
                      row["sched_in"], row["sched_in"] / minutes,
                      row["voluntary_switches"], row["vmrss_kb"], requests))
    say("  memory at the end (kB): %s" % " ".join(
        "%s %d" % item for item in memory.items()))
    per_minute = [(round(b[0]), round((b[1] - a[1]) * 1000), b[2] - a[2])
                  for a, b in zip(samples, samples[1:])]
    say("  per 10 s sample (end s, CPU ms, scheduled in): %s" % per_minute)


def bench_cycles(results):
    cycles = knob("BENCH_CYCLES", 1000)
    say("   (load average: %s)" % load_average())
    say("== 3b. %d attach/detach cycles" % cycles)
    keys = eni_keys(HOT_INDEX, 4, 2, ipv6=True)
    want = expected_objects(keys)
    bench = Bench({0: eni_keys(0, 2), HOT_INDEX: keys}, 0.0)
    points = []
    try:
        bench.attach(0, "E0")
        bench.start_enid()
        bench.ready_seconds()
        pid = bench.enid.proc.pid
        warmup = min(20, cycles)
        for k in range(cycles + warmup):
            hot_attach_round(bench, keys, want)
            done = k + 1 - warmup
            if done >= 0 and done % max(1, cycles // 10) == 0:
                points.append((k + 1 - warmup,
                               int(proc_status(pid)["VmRSS"]),
                               fd_count(pid)))
    finally:
        bench.destroy()
    results["cycles"] = {"cycles": cycles, "points": points}
    say("  (cycles after warm-up, VmRSS kB, fds): %s" % points)
    say("  growth: VmRSS %+d kB, fds %+d" % (points[-1][1] - points[0][1],
                                             points[-1][2] - points[0][2]))


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in
                open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return {"nproc": os.cpu_count(), "cpu": cpu,
            "kernel": os.uname().release,
            "enid": subprocess.run([BINARY, "--version"], capture_output=True,
                                   text=True).stdout.strip()}


def main():
    if os.geteuid() != 0:
        print("bench.py needs root (network namespaces)")
        return 1
    sections = os.environ.get("BENCH_SECTIONS", "attach,boot,idle,cycles")
    sections = sections.split(",")
    results = {"machine": machine(), "hot_attach": {}, "boot": {},
               "mock": {}}
    say("machine: %(nproc)d CPUs, %(cpu)s, Linux %(kernel)s; %(enid)s"
        % results["machine"])
    compare = Ec2NetUtils()
    if "attach" in sections or "boot" in sections:
        compare.prepare()
    started = time.monotonic()
    try:
        if "attach" in sections:
            bench_hot_attach(results, compare)
        if "boot" in sections:
            bench_boot(results, compare)
        if "idle" in sections:
            bench_idle(results)
        if "cycles" in sections:
            bench_cycles(results)
    finally:
        compare.remove()
    say("total %.0f s" % (time.monotonic() - started))
    path = os.environ.get("BENCH_JSON")
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmarks rsops against the reference sops binary in the same run and prints ratios.

Workloads: a small Kubernetes Secret, a 1,000-key YAML, a 100,000-value YAML (~10 MB) and a
10 MiB binary file; each is encrypted and decrypted by both tools, output redirected to a new
file as `tool encrypt f > out` does. Reported per tool: the median wall time over the runs
(each process started with posix_spawn, no wrapper), the per-value cost for the big YAML, and
the peak resident memory of the process (one extra run under GNU time).

rsops is the binary scripts/build-release makes (static on Linux, like sops' Go binary); for
the small workloads the binary of a plain `cargo build --release` is timed too.
Usage: scripts/bench.py [--quick]
"""
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY_FILE = os.path.join(ROOT, "testdata/demo/age-key-TEST-ONLY.txt")
RECIPIENT = "age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw"


ENV = dict(os.environ, SOPS_AGE_KEY_FILE=KEY_FILE, SOPS_DISABLE_VERSION_CHECK="true")


def wall(argv, runs, stdout_path=None):
    """The median wall time of `runs` runs of argv, each started with posix_spawn (no shell, no
    pipes: the least overhead Python can add) and reaped with waitpid."""
    times = []
    env = dict(ENV)
    for _ in range(runs):
        out = os.open(stdout_path or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_WRONLY)
        actions = [(os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        _, status = os.waitpid(pid, 0)
        times.append(time.perf_counter() - start)
        os.close(out)
        os.close(null)
        if os.waitstatus_to_exitcode(status) != 0:
            proc = subprocess.run(argv, capture_output=True, env=ENV)
            sys.exit(f"command failed: {' '.join(argv)}\n{proc.stderr.decode(errors='replace')}")
    return statistics.median(times)


def peak_rss(argv, stdout_path):
    """Peak RSS in KiB of one run of argv alone, from GNU time, its output written to a new
    file at stdout_path (as `tool encrypt f > out` does).

    (wait4 from Python would count the Python parent's pages copied at fork.)
    """
    with tempfile.NamedTemporaryFile("r") as stats, open(stdout_path, "wb") as out:
        proc = subprocess.run(["/usr/bin/time", "-o", stats.name, "-f", "%M"] + argv,
                              stdout=out, stderr=subprocess.PIPE, env=ENV)
        fields = stats.read().split()
    if proc.returncode != 0:
        sys.exit(f"command failed: {' '.join(argv)}\n{proc.stderr.decode(errors='replace')}")
    return int(fields[-1])


def gen_workloads(d):
    rnd = random.Random(42)
    files = {}
    p = os.path.join(d, "k8s-secret.yaml")
    with open(p, "w") as f:
        f.write("apiVersion: v1\nkind: Secret\nmetadata:\n    name: registry\n    namespace: team-a\n"
                "type: kubernetes.io/dockerconfigjson\nstringData:\n"
                "    .dockerconfigjson: '{\"auths\":{\"registry.example.com\":{\"auth\":\"dXNlcjpwYXNz\"}}}'\n")
    files["small k8s Secret"] = (p, 1)
    p = os.path.join(d, "keys-1000.yaml")
    with open(p, "w") as f:
        for i in range(1000):
            f.write(f"key_{i:04d}: value-{rnd.getrandbits(64):016x}\n")
    files["1,000-key YAML"] = (p, 1000)
    p = os.path.join(d, "values-100k.yaml")
    with open(p, "w") as f:
        for s in range(1000):
            f.write(f"service_{s:04d}:\n")
            for v in range(100):
                f.write(f"    setting_{v:03d}: {'x' * 40}-{rnd.getrandbits(128):032x}\n")
    files["100,000-value YAML"] = (p, 100_000)
    p = os.path.join(d, "blob.bin")
    with open(p, "wb") as f:
        f.write(rnd.randbytes(10 * 1024 * 1024))
    files["10 MiB binary"] = (p, 1)
    return files


def main():
    quick = "--quick" in sys.argv
    rsops = subprocess.run([os.path.join(ROOT, "scripts/build-release")],
                           stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    subprocess.run(["cargo", "build", "--quiet", "--release", "--locked", "-p", "sops-cli"],
                   cwd=ROOT, check=True)
    plain = os.path.join(ROOT, "target/release/rsops")
    sops = os.environ.get("RSOPS_REFERENCE_SOPS") or subprocess.run(
        [os.path.join(ROOT, "scripts/setup-test-tools")], capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as d:
        files = gen_workloads(d)
        print(f"{'workload':<22}{'op':<9}{'sops':>10}{'rsops':>10}{'speedup':>9}"
              f"{'sops RSS':>11}{'rsops RSS':>11}{'file':>10}")
        # What starting any process costs here (the same way the tools are started): no tool
        # can be faster per call, so it bounds the small-call ratios from above.
        floor = wall(["/bin/true"], 5 if quick else 41)
        print(f"{'(process start: /bin/true)':<31}{floor*1000:>10.1f}ms")
        for name, (path, nvalues) in files.items():
            size = os.path.getsize(path)
            if size > 1_000_000:
                runs = 1 if quick else 5
            else:
                runs = 5 if quick else 41
            ext = os.path.splitext(path)[1]
            tools = [("sops", sops), ("rsops", rsops)]
            if size <= 1_000_000 and plain != rsops:
                tools.append(("plain", plain))
            results = {}
            for tool, exe in tools:
                enc_path = os.path.join(d, f"{tool}.enc{ext}")
                enc = [exe, "encrypt", "--age", RECIPIENT, path]
                dec = [exe, "decrypt", enc_path]
                out_path = os.path.join(d, f"{tool}.out")
                enc_t = wall(enc, runs, enc_path)
                dec_t = wall(dec, runs, out_path)
                results[tool] = {"encrypt": (enc_t, peak_rss(enc, out_path)),
                                 "decrypt": (dec_t, peak_rss(dec, out_path))}
            for op in ("encrypt", "decrypt"):
                (st, sm), (rt, rm) = results["sops"][op], results["rsops"][op]
                print(f"{name:<22}{op:<9}{st*1000:>8.1f}ms{rt*1000:>8.1f}ms{st/rt:>8.1f}x"
                      f"{sm/1024:>9.1f}MB{rm/1024:>9.1f}MB{size/1e6:>8.1f}MB")
                if size <= 1_000_000:
                    print(f"{'':<22}{'':<9}above process start: sops {(st-floor)*1000:.1f} ms, "
                          f"rsops {(rt-floor)*1000:.2f} ms")
                if "plain" in results:
                    pt = results["plain"][op][0]
                    print(f"{'':<22}{'':<9}plain `cargo build --release` binary: {pt*1000:.1f} ms, "
                          f"{st/pt:.1f}x")
                if nvalues >= 1000:
                    enc_size = os.path.getsize(os.path.join(d, f"rsops.enc{ext}"))
                    inputs = (f" ({rm*1024/enc_size:.2f}x the encrypted input)"
                              if op == "decrypt" else "")
                    print(f"{'':<22}{'':<9}per value: sops {st/nvalues*1e6:.1f} us, "
                          f"rsops {rt/nvalues*1e6:.2f} us; rsops peak memory = "
                          f"{rm*1024/size:.2f}x the file size{inputs}")


if __name__ == "__main__":
    main()

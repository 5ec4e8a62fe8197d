#!/usr/bin/env python3
"""Benchmarks rsops against the reference sops binary in the same run and prints ratios.

Workloads: a small Kubernetes Secret, a 1,000-key YAML, a 100,000-value YAML (~10 MB) and a
10 MiB binary file; each is encrypted and decrypted by both tools. Reported per tool: the
median wall time over the runs, the per-value cost for the big YAML, and the peak resident
memory of the process (from wait4). Usage: scripts/bench.py [--quick]
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


def run(argv, stdout_path=None):
    """Runs argv under GNU time; returns (wall seconds, peak RSS in KiB of that process alone).

    (Measuring with wait4 from Python would count the Python parent's pages copied at fork.)
    """
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    env = dict(os.environ, SOPS_AGE_KEY_FILE=KEY_FILE, SOPS_DISABLE_VERSION_CHECK="true")
    with tempfile.NamedTemporaryFile("r") as stats:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-o", stats.name, "-f", "%M"] + argv,
                              stdout=out, stderr=subprocess.PIPE, env=env)
        elapsed = time.perf_counter() - start
        fields = stats.read().split()
    if stdout_path:
        out.close()
    if proc.returncode != 0:
        sys.exit(f"command failed: {' '.join(argv)}\n{proc.stderr.decode(errors='replace')}")
    return elapsed, int(fields[-1])


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
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "sops-cli"], cwd=ROOT, check=True)
    rsops = os.path.join(ROOT, "target/release/rsops")
    sops = os.environ.get("RSOPS_REFERENCE_SOPS") or subprocess.run(
        [os.path.join(ROOT, "scripts/setup-test-tools")], capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as d:
        files = gen_workloads(d)
        print(f"{'workload':<22}{'op':<9}{'sops':>10}{'rsops':>10}{'speedup':>9}"
              f"{'sops RSS':>11}{'rsops RSS':>11}{'file':>10}")
        for name, (path, nvalues) in files.items():
            size = os.path.getsize(path)
            runs = 1 if (quick or size > 1_000_000) else 7
            ext = os.path.splitext(path)[1]
            results = {}
            for tool, exe in (("sops", sops), ("rsops", rsops)):
                enc_path = os.path.join(d, f"{tool}.enc{ext}")
                enc_t, dec_t, enc_m, dec_m = [], [], 0, 0
                for _ in range(runs):
                    t, m = run([exe, "encrypt", "--age", RECIPIENT, path], enc_path)
                    enc_t.append(t); enc_m = max(enc_m, m)
                    t, m = run([exe, "decrypt", enc_path])
                    dec_t.append(t); dec_m = max(dec_m, m)
                results[tool] = {"encrypt": (statistics.median(enc_t), enc_m),
                                 "decrypt": (statistics.median(dec_t), dec_m)}
            for op in ("encrypt", "decrypt"):
                (st, sm), (rt, rm) = results["sops"][op], results["rsops"][op]
                print(f"{name:<22}{op:<9}{st*1000:>8.0f}ms{rt*1000:>8.0f}ms{st/rt:>8.1f}x"
                      f"{sm/1024:>9.1f}MB{rm/1024:>9.1f}MB{size/1e6:>8.1f}MB")
                if nvalues >= 1000:
                    print(f"{'':<22}{'':<9}per value: sops {st/nvalues*1e6:.1f} us, "
                          f"rsops {rt/nvalues*1e6:.2f} us; rsops peak memory = "
                          f"{rm*1024/size:.2f}x the file size")


if __name__ == "__main__":
    main()

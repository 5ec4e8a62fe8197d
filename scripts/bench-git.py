#!/usr/bin/env python3
"""Benchmarks `rsops git` against sops used as a per-file git filter, in the same run.

Both repositories hold the same N encrypted Kubernetes Secrets (default 1,000) under
`secrets/`, with the same `.sops.yaml`. The sops repository uses the filter setup sops users
write by hand (`sops encrypt`/`sops decrypt` on stdin, one process per file); the rsops one
runs `rsops git init`. Measured per tool:
  - add:      `git add` of the N plaintext files (first encryption);
  - checkout: `git checkout` of all N files into an empty `secrets/` (smudge);
  - status:   `git status` after touching every file (clean), and how many files it shows
              modified; then a second `git status`.
Usage: scripts/bench-git.py [--files N]
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY_FILE = os.path.join(ROOT, "testdata/demo/age-key-TEST-ONLY.txt")
RECIPIENT = "age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw"


def find_sops():
    """The reference sops: RSOPS_REFERENCE_SOPS, else the one scripts/setup-test-tools installs
    (and prints), as scripts/bench.py does."""
    if os.environ.get("RSOPS_REFERENCE_SOPS"):
        return os.environ["RSOPS_REFERENCE_SOPS"]
    return subprocess.run([os.path.join(ROOT, "scripts/setup-test-tools")], capture_output=True,
                          text=True, check=True).stdout.strip()


def env_for(home):
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": home,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "SOPS_AGE_KEY_FILE": KEY_FILE,
        "SOPS_DISABLE_VERSION_CHECK": "true",
    }


def git(repo, env, *args, capture=False):
    proc = subprocess.run(["git", *args], cwd=repo, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    if proc.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed in {repo}:\n{proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode() if capture else None


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def secret(i, rnd):
    auth = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(40))
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n    name: registry-{i:04d}\n"
            f"    namespace: tenant-{i % 50:02d}\ntype: kubernetes.io/dockerconfigjson\n"
            f"stringData:\n    .dockerconfigjson: '{{\"auths\":{{\"registry.example.com\":"
            f"{{\"auth\":\"{auth}\"}}}}}}'\n")


def setup(base, tool, exe, n):
    repo = os.path.join(base, tool)
    home = os.path.join(base, tool + "-home")
    os.makedirs(os.path.join(repo, "secrets"))
    os.makedirs(home)
    env = env_for(home)
    git(repo, env, "init", "-q", "-b", "main")
    with open(os.path.join(repo, ".sops.yaml"), "w") as f:
        f.write(f"creation_rules:\n  - path_regex: ^secrets/.*\n    age: {RECIPIENT}\n")
    if tool == "rsops":
        proc = subprocess.run([exe, "git", "init", "secrets/**"], cwd=repo, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            sys.exit(proc.stderr.decode(errors="replace"))
    else:
        # The per-file filter sops users configure by hand.
        git(repo, env, "config", "filter.sops.clean",
            f"{exe} encrypt --filename-override %f --input-type yaml --output-type yaml /dev/stdin")
        git(repo, env, "config", "filter.sops.smudge",
            f"{exe} decrypt --input-type yaml --output-type yaml /dev/stdin")
        git(repo, env, "config", "filter.sops.required", "true")
        with open(os.path.join(repo, ".gitattributes"), "w") as f:
            f.write("secrets/** filter=sops -text\n")
    rnd = random.Random(7)
    for i in range(n):
        with open(os.path.join(repo, "secrets", f"pull-secret-{i:04d}.yaml"), "w") as f:
            f.write(secret(i, rnd))
    git(repo, env, "add", ".sops.yaml", ".gitattributes")
    git(repo, env, "commit", "-qm", "config")
    return repo, env


def measure(base, tool, exe, n):
    repo, env = setup(base, tool, exe, n)
    r = {}
    r["add"], _ = timed(lambda: git(repo, env, "add", "secrets"))
    git(repo, env, "commit", "-qm", "secrets")
    shutil.rmtree(os.path.join(repo, "secrets"))
    r["checkout"], _ = timed(lambda: git(repo, env, "checkout", "--", "secrets"))
    # Touch every file (a new mtime, same content), as editors, rsync or a re-clone do.
    later = time.time() + 5
    for name in os.listdir(os.path.join(repo, "secrets")):
        os.utime(os.path.join(repo, "secrets", name), (later, later))
    r["status"], out = timed(lambda: git(repo, env, "status", "--porcelain", capture=True))
    r["modified"] = sum(1 for line in out.splitlines() if line.strip())
    r["status2"], out = timed(lambda: git(repo, env, "status", "--porcelain", capture=True))
    r["modified2"] = sum(1 for line in out.splitlines() if line.strip())
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "sops-cli"], cwd=ROOT,
                   check=True)
    rsops = os.path.join(ROOT, "target/release/rsops")
    sops = find_sops()
    with tempfile.TemporaryDirectory() as base:
        results = {}
        for tool, exe in (("rsops", rsops), ("sops", sops)):
            print(f"measuring {tool} with {args.files} files...", file=sys.stderr)
            results[tool] = measure(base, tool, exe, args.files)
    s, r = results["sops"], results["rsops"]
    print(f"{args.files} encrypted files, sops {sops}")
    print(f"{'operation':<34}{'sops':>10}{'rsops':>10}{'speedup':>9}")
    for key, label in (("add", "git add (encrypt)"),
                       ("checkout", "git checkout (decrypt)"),
                       ("status", "git status after touch"),
                       ("status2", "second git status")):
        print(f"{label:<34}{s[key]:>9.2f}s{r[key]:>9.3f}s{s[key] / r[key]:>8.1f}x")
    print(f"{'files shown modified after touch':<34}{s['modified']:>10}{r['modified']:>10}")
    print(f"{'... on the second status':<34}{s['modified2']:>10}{r['modified2']:>10}")


if __name__ == "__main__":
    main()

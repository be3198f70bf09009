"""The build as a packager meets it: a library pkg-config does not know stops make with its name
(not an empty flag list and a missing header later), WERROR=0 drops -Werror (on by default), the
version is baked in from VERSION with or without a git checkout, the runtime package list is
derived for the Debian release at hand, and shellcheck is clean on every script."""
import glob
import os
import re
import shutil
import subprocess

import lib
from lib import TempDir, check

ROOT = lib.ROOT


def make(*args, cwd=ROOT, timeout=120):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def test_missing_pkg_config_package_is_named():
    t = TempDir("fqit-build-").path
    r = make(f"BUILD={t}/b", f"BIN={t}/f", "PKGS=jansson no-such-library-fq", "all")
    check(r.returncode != 0, "make succeeded with a library pkg-config does not know")
    check("pkg-config does not find: no-such-library-fq" in r.stderr,
          f"the error does not name the package: {r.stderr[-600:]}")
    check(not os.path.exists(os.path.join(t, "b", "common")), "make compiled without the flags")


def test_werror_on_by_default_off_with_werror_0():
    t = TempDir("fqit-build-").path
    on = make("-n", "V=1", f"BUILD={t}/b", f"{t}/b/bot/sys/log.o")
    off = make("-n", "V=1", "WERROR=0", f"BUILD={t}/b", f"{t}/b/bot/sys/log.o")
    check(on.returncode == 0 and " -Werror " in on.stdout, f"no -Werror by default: {on.stdout}")
    check(off.returncode == 0 and "-Werror" not in off.stdout and " -Wall " in off.stdout,
          f"WERROR=0 kept -Werror: {off.stdout}")


def test_version_without_git_checkout():
    """A release tarball has no .git: the version is VERSION's alone, and the build works."""
    t = TempDir("fqit-tarball-").path
    for f in ("Makefile", "VERSION"):
        shutil.copy(os.path.join(ROOT, f), t)
    r = make("BUILD=b", "b/gen/version.c", cwd=t)
    check(r.returncode == 0, f"make version.c without .git: {r.stderr}")
    with open(os.path.join(ROOT, "VERSION")) as f:
        ver = f.read().strip()
    with open(os.path.join(t, "b", "gen", "version.c")) as f:
        src = f.read()
    check(f'fq_version[] = "{ver}";' in src and 'fq_commit[] = "";' in src,
          f"version.c without git: {src}")
    r = make("BUILD=b", "FQ_COMMIT=abc1234", "b/gen/version.c", cwd=t)
    with open(os.path.join(t, "b", "gen", "version.c")) as f:
        check('fq_commit[] = "abc1234";' in f.read(), "FQ_COMMIT= is not baked in")


def test_runtime_packages_derived_and_no_inih():
    with open(os.path.join(ROOT, "Makefile")) as f:
        mk = f.read()
    check(not re.search(r"^PKGS\s*:?=.*\binih\b", mk, re.M), "Makefile PKGS still lists inih")
    build = subprocess.run(["sh", os.path.join(ROOT, "scripts", "deps.sh"), "--list", "build"],
                           capture_output=True, text=True, timeout=30).stdout.split()
    check("libinih-dev" not in build, "deps.sh build still installs libinih-dev")
    runtime = subprocess.run(["sh", os.path.join(ROOT, "scripts", "deps.sh"), "--list",
                              "runtime"], capture_output=True, text=True, timeout=60)
    check(runtime.returncode == 0, f"deps.sh --list runtime: {runtime.stderr}")
    names = runtime.stdout.split()
    check("libinih1" not in names, "deps.sh runtime still installs libinih1")
    # each one is the library package its -dev package depends on at the same version
    for dev, lib_pkg in (("libcurl4-openssl-dev", r"libcurl4(t64)?"),
                         ("libssl-dev", r"libssl3(t64)?"),
                         ("libmicrohttpd-dev", r"libmicrohttpd12(t64)?"),
                         ("libxlsxwriter-dev", r"libxlsxwriter\d+(t64)?")):
        check(any(re.fullmatch(lib_pkg, n) for n in names), f"no {lib_pkg} in {names}")
    libs = [n for n in names if n != "ca-certificates"]
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", *libs], capture_output=True,
                       text=True, timeout=60)
    known = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
    check(known == set(libs), f"apt does not know {sorted(set(libs) - known)}")


def test_shellcheck_clean():
    check(shutil.which("shellcheck"), "shellcheck is missing: run make deps")
    files = sorted(glob.glob(os.path.join(ROOT, "scripts", "*.sh")) +
                   glob.glob(os.path.join(ROOT, "docker", "*.sh")) +
                   glob.glob(os.path.join(ROOT, "docker", "mosquitto", "*.sh")) +
                   glob.glob(os.path.join(ROOT, "tests", "*", "*.sh")))
    r = subprocess.run(["shellcheck", "-f", "gcc", *files], capture_output=True, text=True,
                       timeout=120)
    check(r.returncode == 0, f"shellcheck: {r.stdout[-1500:]}")
    with open(os.path.join(ROOT, "scripts", "check-deploy.sh")) as f:
        check(re.search(r"^shellcheck ", f.read(), re.M), "check-deploy.sh does not run shellcheck")

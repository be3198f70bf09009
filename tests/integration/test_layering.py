"""`make layering` on symbols: scripts/layering.sh reads the built objects (nm) and fails,
naming the object, the symbol and the layer that defines it, when a layer uses a symbol defined
in a layer above it (common < store < handlers < bot). An include check cannot see such a call:
the caller may declare the function itself. The tests run the script on a copy of the real
objects, with one fake object added that calls upward."""
import glob
import os
import shutil
import subprocess

import lib
from lib import TempDir, check

ROOT = lib.ROOT
SCRIPT = os.path.join(ROOT, "scripts", "layering.sh")
LAYERS = ("common", "store", "handlers", "bot")


def build_dir():
    """The build tree the daemon under test came from (build-asan under make asan)."""
    for d in (os.path.dirname(lib.FQ_BIN), os.path.join(ROOT, "build")):
        if glob.glob(os.path.join(d, "common", "*.o")) and glob.glob(os.path.join(d, "bot", "*.o")):
            return d
    raise lib.Failure("no built objects found (run make first)")


def copy_objects(t):
    src = build_dir()
    for layer in LAYERS:
        os.makedirs(os.path.join(t, layer))
        for o in glob.glob(os.path.join(src, layer, "**", "*.o"), recursive=True):
            rel = os.path.relpath(o, src)
            if os.path.exists(os.path.join(ROOT, rel[:-2] + ".c")):
                os.makedirs(os.path.join(t, os.path.dirname(rel)), exist_ok=True)
                shutil.copy(o, os.path.join(t, rel))


def fake_object(t, layer, name, calls):
    """An object in layer `layer` that calls the functions `calls` (declared here, as a file
    that skips the header would)."""
    c = os.path.join(t, name + ".c")
    with open(c, "w") as f:
        for fn in calls:
            f.write(f"void {fn}(void);\n")
        f.write(f"void {name}(void);\nvoid {name}(void)\n{{\n")
        for fn in calls:
            f.write(f"    {fn}();\n")
        f.write("}\n")
    r = subprocess.run(["cc", "-c", "-o", os.path.join(t, layer, name + ".o"), c],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"cc: {r.stderr}")


def layering(t):
    env = dict(os.environ, LAYERING_SRC="")
    return subprocess.run(["sh", SCRIPT, t], capture_output=True, text=True, timeout=120, env=env)


def test_the_build_passes():
    t = TempDir("fqit-layering-").path
    copy_objects(t)
    r = layering(t)
    check(r.returncode == 0 and "layering: ok" in r.stdout,
          f"layering fails on the real objects: {r.stdout}{r.stderr}")


def test_store_calling_handlers_fails_naming_it():
    t = TempDir("fqit-layering-").path
    copy_objects(t)
    fake_object(t, "store", "fake_upcall", ["roster_import"])
    r = layering(t)
    check(r.returncode != 0, f"an upward call from store/ passed: {r.stdout}")
    want = f"{t}/store/fake_upcall.o uses roster_import, defined in handlers/ ({t}/handlers/roster.o)"
    check(want in r.stderr, f"the report does not name caller, symbol and layer: {r.stderr}")


def test_each_upward_direction_is_named():
    """common -> store, common -> bot, handlers -> bot; a call down (bot -> store) is fine."""
    t = TempDir("fqit-layering-").path
    copy_objects(t)
    fake_object(t, "common", "fake_common", ["store_open", "config_load"])
    fake_object(t, "handlers", "fake_handler", ["config_load", "fq_streq"])
    fake_object(t, "bot", "fake_bot", ["store_open", "roster_import", "fq_streq"])
    r = layering(t)
    check(r.returncode != 0, f"upward calls passed: {r.stdout}")
    for caller, sym, layer in (("common/fake_common", "store_open", "store"),
                               ("common/fake_common", "config_load", "bot"),
                               ("handlers/fake_handler", "config_load", "bot")):
        check(f"{t}/{caller}.o uses {sym}, defined in {layer}/" in r.stderr,
              f"{caller} -> {sym} not named: {r.stderr}")
    check("fake_bot" not in r.stderr and "fq_streq" not in r.stderr,
          f"a call downward was reported: {r.stderr}")


def test_no_objects_is_an_error():
    t = TempDir("fqit-layering-").path
    r = layering(t)
    check(r.returncode != 0 and "no objects" in r.stderr, f"an empty build passed: {r.stdout}{r.stderr}")

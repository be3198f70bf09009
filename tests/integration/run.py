#!/usr/bin/env python3
"""Runs the integration tests: every function test_* of tests/integration/test_*.py, each in its
own process (and process group) with a timeout, one after the other.

Usage: python3 tests/integration/run.py [-k SUBSTR] [-v] [--timeout SECONDS] [--list]
  -k SUBSTR   only tests whose name (file_stem.function) contains SUBSTR (may be repeated)
  -v          on failure, also print the traceback and the daemon's log tail
  --timeout   default per-test timeout (a test may set `fn.timeout = N` itself)

Prints "PASS name" or "FAIL name: reason" per test and ends with exactly one line
"integration: N passed, M failed"; exit 1 if any failed. The daemon is $FQ_BIN (default
bin/fengqiao).

Why a process per test: a test that hangs or crashes is killed with its whole process group,
so its daemon, broker and subscribers go with it and cannot disturb the next test.
"""
import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TIMEOUT = 60


def load_module(path):
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tests_of(mod):
    fns = [v for k, v in vars(mod).items()
           if k.startswith("test_") and callable(v) and getattr(v, "__module__", None) == mod.__name__]
    return sorted(fns, key=lambda f: f.__code__.co_firstlineno)


def one_line(s, n=500):
    s = " | ".join(x.strip() for x in str(s).strip().splitlines() if x.strip())
    return s if len(s) <= n else s[:n] + "..."


# ---- child: run one test -----------------------------------------------------------------------
class Terminated(BaseException):
    pass


def _on_term(signum, frame):
    raise Terminated(f"terminated by signal {signum}")


def run_one(path, fname, result_path):
    signal.signal(signal.SIGTERM, _on_term)
    res = {"ok": False, "reason": "", "detail": ""}
    lib = None
    try:
        mod = load_module(path)
        import lib  # noqa: F811 (the test's own harness, same module object)
        getattr(mod, fname)()
        res["ok"] = True
    except BaseException as e:  # report everything, including Terminated and SystemExit
        res["reason"] = one_line(f"{type(e).__name__}: {e}" if not isinstance(e, AssertionError)
                                 else str(e) or "assertion failed")
        res["detail"] = traceback.format_exc()
        if lib is not None:
            try:
                res["detail"] += "\n" + lib.diagnostics()
            except Exception:
                pass
    finally:
        if lib is not None:
            lib.cleanup_all()
        with open(result_path, "w") as f:
            json.dump(res, f)
    return 0 if res["ok"] else 1


# ---- parent ------------------------------------------------------------------------------------
def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
    except ProcessLookupError:
        pass
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        pass


def run_test(path, fname, timeout):
    """Returns (ok, reason, detail, seconds)."""
    fd, result_path = tempfile.mkstemp(prefix="fqit-result-")
    os.close(fd)
    outf = tempfile.TemporaryFile()
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--one", path, fname,
                             "--result", result_path], stdout=outf, stderr=subprocess.STDOUT,
                            start_new_session=True)
    timed_out = False
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    except KeyboardInterrupt:
        kill_group(proc)
        raise
    finally:
        # The test cleans up after itself; this catches what a killed or crashed test left.
        kill_group(proc)
    secs = time.time() - t0
    outf.seek(0)
    output = outf.read().decode("utf-8", "replace")
    outf.close()
    try:
        with open(result_path) as f:
            res = json.load(f)
    except (OSError, ValueError):
        res = None
    os.unlink(result_path)
    if timed_out:
        detail = (res or {}).get("detail", "") + output
        return False, f"timed out after {timeout}s", detail, secs
    if res is None:
        return False, f"test process died (exit {proc.returncode}) without a result", output, secs
    return res["ok"], res["reason"], res["detail"] + output, secs


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        # internal: run.py --one PATH FUNC --result FILE
        sys.exit(run_one(sys.argv[2], sys.argv[3], sys.argv[5]))

    ap = argparse.ArgumentParser(description="fengqiao integration tests")
    ap.add_argument("-k", action="append", default=[], help="select tests whose name contains this")
    ap.add_argument("-v", action="store_true", help="print details of failures")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    a = ap.parse_args()

    passed = failed = 0
    selected = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        path = os.path.join(HERE, fn)
        stem = fn[:-3]
        try:
            mod = load_module(path)
        except Exception as e:
            if not a.k or any(k in stem for k in a.k):
                print(f"FAIL {stem}: cannot import: {one_line(e)}", flush=True)
                failed += 1
            continue
        for f in tests_of(mod):
            name = f"{stem}.{f.__name__}"
            if a.k and not any(k in name for k in a.k):
                continue
            selected.append((name, path, f.__name__, getattr(f, "timeout", a.timeout)))

    if a.list:
        for name, *_ in selected:
            print(name)
        return 0

    t_all = time.time()
    for name, path, fname, timeout in selected:
        ok, reason, detail, secs = run_test(path, fname, timeout)
        if ok:
            passed += 1
            print(f"PASS {name}", flush=True)
            if a.v:
                print(f"    ({secs:.1f}s)", flush=True)
        else:
            failed += 1
            print(f"FAIL {name}: {reason}", flush=True)
            if a.v and detail.strip():
                print("    " + detail.strip().replace("\n", "\n    "), flush=True)
    if os.environ.get("FQ_IT_TIMING"):
        print(f"(total {time.time() - t_all:.1f}s)", flush=True)
    print(f"integration: {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

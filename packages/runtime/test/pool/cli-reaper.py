"""Test-only: runs CLI commands one at a time (JSON lines on stdin: {"argv": [...], "env": {...}}; JSON results on
stdout) as a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so the VMs a `coppice pool` process leaves running are
reparented here, not to a PID 1 that does not reap, and are reaped once something kills them."""
import ctypes, json, os, subprocess, sys

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


for line in sys.stdin:
    req = json.loads(line)
    p = subprocess.run(req["argv"], env=req["env"], capture_output=True, text=True)
    reap()
    print(json.dumps({"code": p.returncode, "stdout": p.stdout, "stderr": p.stderr}), flush=True)
reap()

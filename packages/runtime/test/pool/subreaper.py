"""Test-only stand-in for an init that reaps: becomes the child subreaper, runs argv, and reaps every descendant
(the crash test's VMs outlive their SIGKILLed controller and are reparented here) until none is left."""
import ctypes, os, sys
PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
while True:
    try:
        os.wait()
    except ChildProcessError:
        break

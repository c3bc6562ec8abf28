/**
 * Terminal (pty) processes. Node has no pty without a native addon, and the guest's only compiler-free way to one is
 * Python's `pty` module (python3 is in every template), so a pty process is this small Python program: it forks the
 * command on a new pseudo-terminal of the requested size and relays bytes between its own pipes and the terminal.
 * The command and its arguments go to it as argv, never through a shell. Resizes arrive on fd 3, one "COLS ROWS"
 * line each; SIGTERM, SIGINT and SIGHUP are passed on to the command's process group; the helper exits with the
 * command's status (killing itself with the same signal when the command was killed by one).
 */
export const PTY_HELPER_SOURCE = String.raw`
import fcntl, os, pty, select, signal, struct, sys, termios

def winsize(cols, rows):
    return struct.pack("HHHH", rows, cols, 0, 0)

cols, rows = int(sys.argv[1]), int(sys.argv[2])
argv = sys.argv[3:]
pid, master = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, winsize(cols, rows))
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        os.write(2, ("%s: %s\n" % (argv[0], e.strerror)).encode())
    os._exit(127)

def forward(sig, _frame):
    try:
        os.killpg(pid, sig)
    except OSError:
        pass

for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, forward)

def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]

sources = [master, 0, 3]
control = b""
while master in sources:
    ready, _, _ = select.select(sources, [], [])
    for fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if fd == master:
            if data:
                write_all(1, data)
            else:
                sources.remove(master)
        elif not data:
            sources.remove(fd)
        elif fd == 0:
            write_all(master, data)
        else:
            control += data
            while b"\n" in control:
                line, control = control.split(b"\n", 1)
                c, r = (int(x) for x in line.split())
                fcntl.ioctl(master, termios.TIOCSWINSZ, winsize(c, r))

_, status = os.waitpid(pid, 0)
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
`;

export interface PtySize {
  cols: number;
  rows: number;
}

export function checkPtySize(size: PtySize | undefined): PtySize {
  const ok = (n: number) => Number.isInteger(n) && n >= 1 && n <= 10_000;
  if (!size || !ok(size.cols) || !ok(size.rows))
    throw new Error(`pty.size must have cols and rows between 1 and 10000 (got ${JSON.stringify(size ?? null)})`);
  return size;
}

/** The helper's argv for `cmd args` on a `size` terminal. */
export function ptyArgv(size: PtySize, cmd: string, args: readonly string[]): string[] {
  return ['-c', PTY_HELPER_SOURCE, String(size.cols), String(size.rows), cmd, ...args];
}

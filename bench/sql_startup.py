#!/usr/bin/env python3
"""`brook sql` start to prompt: runs the REPL in a pseudo-terminal, as a person would, and times
from the fork to the first `ksql> ` on the screen; then `exit`. Also times `brook server`'s idle
resident memory. Usage:

    bench/sql_startup.py BROOK_BINARY [RUNS]

Prints one line per measurement and the medians. Each run gets a fresh data directory (the
first start of a data directory) and one reuses a directory with topics in it (a later start).
"""
import os, pty, select, socket, statistics, subprocess, sys, tempfile, time


def time_to_prompt(brook, data_dir):
    start = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.pop("RUST_LOG", None)
        os.environ["BROOK_SQL_HISTORY"] = os.path.join(data_dir, "history")
        os.execv(brook, [brook, "sql", "--data-dir", data_dir])
    seen = b""
    elapsed = None
    deadline = start + 30
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            seen += chunk
            if b"ksql> " in seen:
                elapsed = time.monotonic() - start
                break
    os.write(fd, b"exit\r")
    # Drain until the CLI has gone (it shuts the broker down).
    while True:
        r, _, _ = select.select([fd], [], [], 5)
        if not r:
            break
        try:
            if not os.read(fd, 65536):
                break
        except OSError:
            break
    os.waitpid(pid, 0)
    return elapsed


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def server_rss(brook, data_dir):
    kafka, ksql = free_port(), free_port()
    p = subprocess.Popen([brook, "server", "--data-dir", data_dir, "--listen", f"127.0.0.1:{kafka}",
                          "--ksql-listen", f"127.0.0.1:{ksql}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", ksql), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(3)  # idle
        status = open(f"/proc/{p.pid}/status").read()
        fields = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
        return int(fields["VmRSS"].split()[0]), int(fields["Threads"].strip())
    finally:
        p.terminate()
        p.wait()


def main():
    brook = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with tempfile.TemporaryDirectory() as tmp:
        fresh = [time_to_prompt(brook, os.path.join(tmp, f"fresh{i}")) for i in range(runs)]
        reused = [time_to_prompt(brook, os.path.join(tmp, "fresh0")) for _ in range(runs)]
        rss = [server_rss(brook, os.path.join(tmp, f"server{i}")) for i in range(3)]
    ms = lambda xs: [round(x * 1000, 1) for x in xs]
    print("start to prompt, fresh data dir (ms):", ms(fresh), "median", round(statistics.median(fresh) * 1000, 1))
    print("start to prompt, reused data dir (ms):", ms(reused), "median", round(statistics.median(reused) * 1000, 1))
    print("brook server idle VmRSS (KiB), threads:", rss, "median KiB", statistics.median(r for r, _ in rss))


if __name__ == "__main__":
    main()

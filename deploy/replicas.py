"""Serve N demo.py replicas behind nginx, each page session kept on one replica.

The replicas listen on free loopback ports; nginx (Debian's /usr/sbin/nginx, run as the calling
user) listens on one address and sends every request of a page session to one replica and the
image API (/api/decode.png, /api/model/NAME) to the least busy; Ctrl-C or SIGTERM stops them all.

    .venv/bin/python deploy/replicas.py                      # 2 replicas, nginx on 127.0.0.1:7862
    .venv/bin/python deploy/replicas.py --replicas 4 --port 8000 --run-dir /tmp/lsn-proxy
    make serve-replicas N=4 PORT=8000

nginx's configuration is deploy/nginx.conf.template, filled in; it, nginx's pid, error log and
access log (which replica served each request, by session), its temp files and each replica's
output (replica-N.log) lie in the run folder (--run-dir, else a fresh /tmp/lsn-replicas-*).
Arguments after `--` go to every demo.py (e.g. `-- --model mnist_ae`).
"""

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import start_server  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
READY_S = 15  # nginx answers within a second; more only on a machine under heavy load


def nginx_conf(run, listen, ports):
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in ports)
    return (TEMPLATE.read_text().replace("@RUN@", str(run)).replace("@LISTEN@", listen)
            .replace("@SERVERS@", servers))


@dataclass
class Replicas:
    servers: list  # a bench.harness.Server per replica
    nginx: subprocess.Popen
    run: Path  # the run folder: nginx's files, the replicas' logs
    url: str  # nginx's address

    @property
    def access_log(self):
        return self.run / "access.log"

    def alive(self):
        return self.nginx.poll() is None and all(s.alive() for s in self.servers)

    def stop(self):
        stop_nginx(self.nginx)
        for s in self.servers:  # all told at once, then each waited for
            s.proc.terminate()
        for s in self.servers:
            s.stop()


def stop_nginx(proc):
    proc.terminate()  # nginx's fast shutdown: the master stops its workers, then itself
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def start_replicas(n, demo_args, run):
    """n demo.py processes started side by side -> their Servers once each answers; if one
    fails, those started are stopped and the error raised."""
    pool = ThreadPoolExecutor(n)
    futures = [pool.submit(start_server, *demo_args, log=open(run / f"replica-{i}.log", "w+b"))
               for i in range(n)]
    try:
        return [f.result() for f in futures]
    except BaseException:  # Ctrl-C too: the others finish starting, then stop
        pool.shutdown(wait=True)
        for f in futures:
            if not f.cancelled() and f.exception() is None:
                f.result().stop()
        raise
    finally:
        pool.shutdown(wait=False)


def start(n=2, host="127.0.0.1", port=7862, run=None, demo_args=()):
    """The replicas and nginx, once nginx answers the image API -> Replicas."""
    run = Path(run or tempfile.mkdtemp(prefix="lsn-replicas-"))
    run.mkdir(parents=True, exist_ok=True)
    servers = start_replicas(n, demo_args, run)
    ports = [int(s.url.rsplit(":", 1)[1]) for s in servers]
    conf = run / "nginx.conf"
    conf.write_text(nginx_conf(run, f"{host}:{port}", ports))
    nginx = subprocess.Popen([NGINX, "-p", str(run), "-e", str(run / "error.log"), "-c", str(conf),
                              "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    replicas = Replicas(servers, nginx, run, f"http://{host}:{port}")
    try:
        wait_ready(replicas)
    except BaseException:
        replicas.stop()
        raise
    return replicas


def wait_ready(replicas):
    t0 = time.monotonic()
    with httpx.Client(timeout=5) as http:
        while time.monotonic() - t0 < READY_S:
            if replicas.nginx.poll() is not None:
                break
            try:
                http.get(f"{replicas.url}/api/decode.png?x=0&y=0").raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
    log = replicas.run / "error.log"
    raise RuntimeError(f"nginx did not answer on {replicas.url} within {READY_S} s: "
                       f"{log.read_text()[-2000:] if log.exists() else 'no error log'}")


def stopped_by_signal(signum, frame):
    raise KeyboardInterrupt  # SIGTERM stops everything as Ctrl-C does


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--replicas", type=int, default=2, help="demo.py processes")
    p.add_argument("--host", default="127.0.0.1", help="nginx's address")
    p.add_argument("--port", type=int, default=7862, help="nginx's port")
    p.add_argument("--run-dir", type=Path, help="nginx's files and the logs (none: a fresh temp folder)")
    p.add_argument("demo_args", nargs="*", help="after --: arguments for every demo.py")
    a = p.parse_args(argv)
    if a.replicas < 1:
        p.error("--replicas must be at least 1")
    if not Path(NGINX).exists():
        p.error(f"nginx not found ({NGINX}): apt-get install nginx")
    signal.signal(signal.SIGTERM, stopped_by_signal)
    replicas = None
    try:
        replicas = start(a.replicas, a.host, a.port, a.run_dir, a.demo_args)
        print(f"serving {replicas.url} ({a.replicas} replicas: "
              f"{', '.join(s.url for s in replicas.servers)}); files in {replicas.run}", flush=True)
        while replicas.alive():
            time.sleep(0.5)
        sys.exit(f"a process stopped by itself; see the logs in {replicas.run}")
    except KeyboardInterrupt:
        pass
    finally:
        if replicas:
            replicas.stop()


if __name__ == "__main__":
    main()

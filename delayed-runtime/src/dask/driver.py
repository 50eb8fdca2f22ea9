# The dask driver of `delayed` (feature `dask`): started by `delayed::dask::Cluster` as
# `$DELAYED_PYTHON -c <this file>`, it talks to the Rust process over stdin/stdout in
# frames (u32 field count, then u32 length + bytes per field, little-endian) and drives a
# dask.distributed cluster: a LocalCluster of worker processes, or an existing scheduler.
# Each dask task runs the Rust program's own binary as a subprocess that executes one
# partition of the graph (`delayed::worker::enter`). Nothing else may write to stdout.
import hashlib
import logging
import os
import struct
import sys

_IN = sys.stdin.buffer
_OUT = sys.stdout.buffer
sys.stdout = sys.stderr

_FAILED = b"DELAYED-TASK-FAILED"


def _read_exact(n):
    data = _IN.read(n)
    if len(data) != n:
        raise EOFError
    return data


def read_frame():
    head = _IN.read(4)
    if len(head) < 4:
        return None
    (count,) = struct.unpack("<I", head)
    fields = []
    for _ in range(count):
        (length,) = struct.unpack("<I", _read_exact(4))
        fields.append(_read_exact(length))
    return fields


_GONE = False


def write_frame(fields):
    """Writes one frame; once the Rust side is gone (its end of the pipe closed), writes
    nothing and says nothing: the program has ended, no traceback belongs on its terminal."""
    global _GONE
    if _GONE:
        return
    parts = [struct.pack("<I", len(fields))]
    for field in fields:
        if isinstance(field, str):
            field = field.encode()
        parts.append(struct.pack("<I", len(field)))
        parts.append(field)
    try:
        _OUT.write(b"".join(parts))
        _OUT.flush()
    except (BrokenPipeError, ConnectionResetError, ValueError):
        _GONE = True
        # The buffered bytes would be flushed again at exit, into the same closed pipe.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), _OUT.fileno())
        except OSError:
            pass


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _find_exe(worker, exe, digest):
    """The path of the driver's binary on `worker` (its own path, or the copy uploaded to
    the worker's directory), checked by hash once per worker process."""
    import os

    exes = worker.__dict__.setdefault("_delayed_exes", {})
    path = exes.get((exe, digest))
    if path is None:
        found = []
        local = os.path.join(worker.local_directory, os.path.basename(exe))
        for candidate in (exe, local):
            if os.path.isfile(candidate):
                got = _sha256(candidate)
                found.append("%s (sha256 %s)" % (candidate, got[:16]))
                if got == digest:
                    path = candidate
                    break
        if path is None:
            raise RuntimeError(
                "delayed: worker %s has no copy of the driver's binary %s (sha256 %s); found: %s. "
                "Run the same build on every worker host, or use Cluster::connect, which uploads it"
                % (worker.address, exe, digest[:16], ", ".join(found) or "nothing")
            )
        if not os.access(path, os.X_OK):
            os.chmod(path, 0o755)
        exes[(exe, digest)] = path
    return path


def _delayed_task(exe, digest, payload, *deps):
    """One partition: runs the driver's binary (the same build, checked by hash) as a
    subprocess that reads the payload and the dependencies' results on stdin and writes
    its result to a file. Runs on a dask worker."""
    import os
    import struct
    import subprocess
    import tempfile

    from distributed import get_worker

    worker = get_worker()
    path = _find_exe(worker, exe, digest)
    parts = [struct.pack("<I", 1 + len(deps))]
    for part in (payload,) + tuple(deps):
        parts.append(struct.pack("<Q", len(part)))
        parts.append(part)
    fd, out_path = tempfile.mkstemp(prefix="delayed-out-", dir=worker.local_directory)
    os.close(fd)
    try:
        env = dict(os.environ)
        env["DELAYED_WORKER_TASK"] = "1"
        env["DELAYED_WORKER_OUT"] = out_path
        env["DELAYED_WORKER_THREADS"] = str(getattr(worker.state, "nthreads", 1))
        proc = subprocess.run(
            [path], input=b"".join(parts), stdout=None, stderr=subprocess.PIPE, env=env
        )
        with open(out_path, "rb") as f:
            out = f.read()
    finally:
        try:
            os.unlink(out_path)
        except OSError:
            pass
    if proc.returncode != 0 or not out:
        raise RuntimeError(
            "delayed: the task process %s exited with status %d: %s"
            % (path, proc.returncode, proc.stderr.decode(errors="replace")[-4000:])
        )
    if out[:1] != b"\x00":
        raise RuntimeError(_FAILED, out)
    return out


def _has_bokeh():
    """Whether this process can serve dask's dashboard (it needs bokeh)."""
    try:
        import bokeh  # noqa: F401

        return True
    except ImportError:
        return False


def _pids(client):
    return ",".join(str(p) for _, p in sorted(client.run(os.getpid).items()))


def main():
    # Ctrl-C reaches the whole process group: the Rust program decides what it means. If
    # it exits, this driver reads the end of its input and closes the cluster quietly.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import distributed
        from distributed import Client, LocalCluster
    except ImportError as e:
        write_frame(["missing", "%s (%s)" % (e, sys.executable)])
        return
    logging.getLogger("distributed").setLevel(logging.ERROR)
    # Partitions travel inside their tasks, by design: large graphs are expected.
    import warnings

    warnings.filterwarnings("ignore", message="Sending large graph")

    start = read_frame()
    if start is None:
        return
    _, mode, arg, exe, timeout, upload = [f.decode() for f in start]
    timeout = float(timeout)
    cluster = None
    client = None
    try:
        digest = _sha256(exe)
        if mode == "local":
            cluster = LocalCluster(
                n_workers=int(arg),
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.CRITICAL,
            )
            client = Client(cluster, timeout=timeout)
        else:
            client = Client(arg, timeout=timeout)
            client.wait_for_workers(1, timeout=timeout)
            if upload == "1":
                _upload(client, exe, digest)
        # Every worker hashes its copy of the binary now, not in its first task.
        client.run(lambda dask_worker: _find_exe(dask_worker, exe, digest) and None)
        info = client.scheduler_info()
        threads = sum(w["nthreads"] for w in info["workers"].values())
        # The scheduler's HTTP server runs without bokeh too, but the dashboard needs it.
        dashboard = ""
        if "dashboard" in info.get("services", {}) and client.run_on_scheduler(_has_bokeh):
            dashboard = client.dashboard_link
        write_frame(
            ["ok", dashboard, str(threads), info.get("address", arg), _pids(client), distributed.__version__]
        )
    except Exception as e:
        write_frame(["err", "%s: %s" % (type(e).__name__, e)])
        _close(client, cluster)
        return

    # The futures of each compute (a session), kept until it releases them.
    sessions = {}
    try:
        while True:
            frame = read_frame()
            if frame is None or frame[0] == b"close":
                break
            command = frame[0]
            try:
                if command == b"run":
                    _run(client, exe, digest, sessions.setdefault(frame[1], {}), frame[2:])
                elif command == b"release":
                    sessions.pop(frame[1], None)
                    write_frame(["ok"])
                elif command == b"pids":
                    write_frame(["ok", _pids(client)])
                elif command == b"threads":
                    info = client.scheduler_info()
                    write_frame(["ok", str(sum(w["nthreads"] for w in info["workers"].values()))])
                else:
                    write_frame(["err", "unknown command %r" % command])
            except Exception as e:
                write_frame(["err", "%s: %s" % (type(e).__name__, e)])
    finally:
        sessions.clear()
        _close(client, cluster)
        write_frame(["closed"])


def _run(client, exe, digest, futures, frame):
    count = int(frame[0])
    i = 1
    for _ in range(count):
        key = frame[i].decode()
        payload = frame[i + 1]
        deps = frame[i + 2].decode().split("\n") if frame[i + 2] else []
        i += 3
        futures[key] = client.submit(
            _delayed_task, exe, digest, payload, *[futures[d] for d in deps], key=key, pure=False
        )
    wanted = frame[i].decode().split("\n") if frame[i] else []
    try:
        results = client.gather([futures[k] for k in wanted])
    except Exception as e:
        if len(e.args) == 2 and e.args[0] == _FAILED:
            write_frame(["failed", e.args[1]])
        else:
            write_frame(["err", "%s: %s" % (type(e).__name__, e)])
        return
    write_frame(["ok"] + list(results))


def _upload(client, exe, digest):
    """Copies the binary into the local directory of each worker that has no copy of it
    at its own path (workers on other hosts); workers that join later do not get it."""
    name = os.path.basename(exe)

    def has_it(dask_worker):
        try:
            _find_exe(dask_worker, exe, digest)
            return True
        except RuntimeError:
            return False

    lacking = [w for w, ok in client.run(has_it).items() if not ok]
    if not lacking:
        return
    with open(exe, "rb") as f:
        data = f.read()

    def save(dask_worker):
        import os

        path = os.path.join(dask_worker.local_directory, name)
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.chmod(path + ".part", 0o755)
        os.replace(path + ".part", path)

    client.run(save, workers=lacking)


def _close(client, cluster):
    for thing in (client, cluster):
        if thing is not None:
            try:
                thing.close()
            except Exception:
                pass


main()

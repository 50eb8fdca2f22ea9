# The dask driver of `delayed` (feature `dask`): started by `delayed::dask::Cluster` as
# `$DELAYED_PYTHON -c <this file>`, it talks to the Rust process over stdin/stdout in
# frames (u32 field count, then u32 length + bytes per field, little-endian) and drives a
# dask.distributed cluster: a LocalCluster of worker processes, or an existing scheduler.
# A worker plugin gives every worker one resident runtime, the Rust program's own binary
# (`delayed::worker::enter`), and each dask task hands it one partition of the graph.
# Nothing else may write to stdout.
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


class DelayedRuntime:
    """The worker plugin that gives every dask worker (those there now, those that join
    later, and those a nanny restarts) the driver's binary and one resident runtime of it:
    a long-lived process that runs the worker's partitions on one pool of its threads.

    The binary is the one at `exe` when the worker sees it there with the right sha256,
    else the copy the plugin carries (`data`, set when connecting to a scheduler whose
    workers may be on other hosts), written to the worker's local directory. A runtime
    that dies (killed, out of memory) is started again and the partitions it held are
    sent again, up to `retries` times; then the task fails with that error."""

    name = "delayed-runtime"
    retries = 2

    def __init__(self, exe, digest, data):
        self.exe = exe
        self.digest = digest
        self.data = data

    def setup(self, worker):
        import threading

        self.worker = worker
        self.path = self._binary(worker)
        self.lock = threading.Lock()
        self.proc = None
        self.next_id = 0
        self.waiting = {}
        # Replies whose sync mark on stderr has not been read yet.
        self.replied = {}
        self.generation = 0
        self.over_limit = None
        self._count_memory(worker)

    def _count_memory(self, worker):
        """Makes the runtime's memory the worker's, as dask sees it: the worker's own memory
        sample (what pauses the worker at 80 % of its limit, what the scheduler and the
        dashboard show) includes the runtime's resident memory, and where the nanny would
        restart a worker over its terminate fraction (95 %), the runtime is killed
        instead: its partitions are sent again (up to `retries` times), then fail."""
        import dask
        import psutil

        monitor = getattr(worker, "monitor", None)
        if monitor is None:
            return
        own = monitor.get_process_memory
        limit = getattr(getattr(worker, "memory_manager", None), "memory_limit", None)
        terminate = dask.config.get("distributed.worker.memory.terminate", False)

        def get_process_memory():
            memory = own()
            proc = self.proc
            if proc is None or proc.poll() is not None:
                return memory
            try:
                runtime = psutil.Process(proc.pid).memory_info().rss
            except (psutil.Error, OSError):
                return memory
            if limit and terminate and memory + runtime > terminate * limit:
                self.over_limit = (memory + runtime, limit)
                logging.getLogger("distributed.worker").warning(
                    "delayed: worker %s and its runtime use %d MB, over %d%% of the "
                    "worker's memory limit (%d MB): killing the runtime",
                    worker.address, (memory + runtime) >> 20, terminate * 100, limit >> 20,
                )
                proc.kill()
            return memory + runtime

        monitor.get_process_memory = get_process_memory

    def teardown(self, worker):
        with self.lock:
            proc, self.proc = self.proc, None
        if proc is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=10)
            except Exception:
                proc.kill()

    def _binary(self, worker):
        name = os.path.basename(self.exe)
        local = os.path.join(worker.local_directory, name)
        found = []
        for candidate in (self.exe, local):
            if os.path.isfile(candidate):
                got = _sha256(candidate)
                found.append("%s (sha256 %s)" % (candidate, got[:16]))
                if got == self.digest:
                    if not os.access(candidate, os.X_OK):
                        os.chmod(candidate, 0o755)
                    return candidate
        if self.data is None:
            raise RuntimeError(
                "delayed: worker %s has no copy of the driver's binary %s (sha256 %s); found: %s. "
                "Run the same build on every worker host, or use Cluster::connect, which ships it"
                % (worker.address, self.exe, self.digest[:16], ", ".join(found) or "nothing")
            )
        with open(local + ".part", "wb") as f:
            f.write(self.data)
        os.chmod(local + ".part", 0o755)
        os.replace(local + ".part", local)
        return local

    def _start(self):
        """The runtime process, started if there is none running (under `self.lock`)."""
        import subprocess
        import threading

        if self.proc is not None and self.proc.poll() is None:
            return self.proc
        read_end, write_end = os.pipe()
        env = dict(os.environ)
        env["DELAYED_WORKER_TASK"] = "1"
        env["DELAYED_WORKER_REPLY_FD"] = str(write_end)
        env["DELAYED_WORKER_THREADS"] = str(getattr(self.worker.state, "nthreads", 1))
        try:
            proc = subprocess.Popen(
                [self.path],
                stdin=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                pass_fds=(write_end,),
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        self.proc = proc
        self.generation += 1
        reader = threading.Thread(
            target=self._replies,
            args=(proc, os.fdopen(read_end, "rb"), self.generation),
            name="delayed-runtime-replies",
            daemon=True,
        )
        reader.start()
        threading.Thread(
            target=self._stderr, args=(proc.stderr,), name="delayed-runtime-stderr", daemon=True
        ).start()
        return proc

    _SYNC = b"\x00delayed-sync "

    def _stderr(self, pipe):
        """Sends what the runtime's tasks write to stderr to the client, line by line (the
        driver prints it, prefixed with this worker); notes each request's sync mark, which
        the runtime writes after its tasks' lines and before its reply."""
        pending = b""
        fd = pipe.fileno()
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            pending += chunk
            lines = pending.split(b"\n")
            pending = b"" if not chunk else lines.pop()
            # Never stop reading before the end: a runtime whose stderr is not read
            # blocks in its tasks' writes.
            try:
                self._forward(lines, last=not chunk)
            except Exception:
                pass
            if not chunk:
                pipe.close()
                return

    def _forward(self, lines, last):
        out, synced = [], []
        for line in lines:
            at = line.find(self._SYNC)
            if at >= 0:
                if at > 0:
                    out.append(line[:at].decode(errors="replace"))
                synced.append(line[at + len(self._SYNC) :])
            elif line or not last:
                out.append(line.decode(errors="replace"))
        with self.lock:
            # The partitions these lines may come from: running, or replied but not synced.
            keys = [slot[4] for slot in list(self.waiting.values()) + list(self.replied.values())]
            for rid in synced:
                try:
                    rid = int(rid)
                except ValueError:
                    continue  # a task's own bytes cut into the mark
                slot = self.waiting.get(rid) or self.replied.pop(rid, None)
                if slot is not None:
                    slot[3].set()
        if out:
            msg = {"worker": self.worker.address, "lines": out, "keys": keys}
            self.worker.log_event(_STDERR_TOPIC, msg)

    def _replies(self, proc, replies, generation):
        """Hands each reply to its waiting task; when the runtime ends, wakes the tasks it
        still held with its exit status (they send their partition again)."""
        try:
            while True:
                head = replies.read(16)
                if len(head) < 16:
                    break
                rid, length = struct.unpack("<QQ", head)
                body = replies.read(length)
                if len(body) < length:
                    break
                if rid & _PROGRESS_BIT:
                    with self.lock:
                        slot = self.waiting.get(rid & ~_PROGRESS_BIT)
                    if slot is not None:
                        (done,) = struct.unpack("<Q", body)
                        self.worker.log_event(_PROGRESS_TOPIC, {"key": slot[4], "done": done})
                    continue
                with self.lock:
                    slot = self.waiting.pop(rid, None)
                    if slot is not None and not slot[3].is_set():
                        self.replied[rid] = slot
                if slot is not None:
                    slot[1].append(body)
                    slot[0].set()
        finally:
            replies.close()
            status = proc.wait()
            with self.lock:
                lost = [rid for rid, slot in self.waiting.items() if slot[2] == generation]
                for rid in lost:
                    slot = self.waiting.pop(rid)
                    slot[1].append(status)
                    slot[0].set()

    def run(self, parts):
        """Runs one partition in the runtime: `parts` are its payload and its dependencies'
        results, written to the runtime's stdin one after another (no joined copy: a
        dependency may be tens of MB). Returns its result blob."""
        import threading

        head = [struct.pack("<I", len(parts))]
        for part in parts:
            head.append(struct.pack("<Q", len(part)))
        length = 4 + sum(8 + len(part) for part in parts)
        status = None
        key = self.worker.get_current_task()
        for _ in range(self.retries + 1):
            done = threading.Event()
            synced = threading.Event()
            answer = []
            with self.lock:
                proc = self._start()
                rid = self.next_id
                self.next_id += 1
                self.waiting[rid] = (done, answer, self.generation, synced, key)
                try:
                    out = proc.stdin
                    out.write(struct.pack("<QQ", rid, length) + head[0])
                    for size, part in zip(head[1:], parts):
                        out.write(size)
                        out.write(part)
                    out.flush()
                except OSError:
                    pass  # it has died: its reply reader wakes this request
            done.wait()
            if isinstance(answer[0], bytes):
                # Its tasks' stderr goes out before its result (bounded: a runtime whose
                # stderr is stuck must not hold the result).
                synced.wait(5)
                with self.lock:
                    self.replied.pop(rid, None)
                return answer[0]
            status = answer[0]
        why = ""
        if self.over_limit is not None:
            used, limit = self.over_limit
            why = " (killed at %d MB, over the worker's memory limit of %d MB)" % (
                used >> 20,
                limit >> 20,
            )
        raise RuntimeError(
            "delayed: the runtime of worker %s ended (exit status %s%s) while running this "
            "partition, %d times" % (self.worker.address, status, why, self.retries + 1)
        )


_COSTS_TOPIC = "delayed-costs"
_STDERR_TOPIC = "delayed-stderr"
_PROGRESS_TOPIC = "delayed-progress"
# Set in a runtime reply's id: the body is a running partition's count of tasks done.
_PROGRESS_BIT = 1 << 63


def _delayed_task(payload, *deps):
    """One partition, run by the worker's resident runtime (`DelayedRuntime`): the payload
    and its dependencies' results in, the result blob out; what its functions cost goes
    to the client as an event. Runs on a dask worker."""
    from distributed import get_worker

    worker = get_worker()
    runtime = worker.plugins[DelayedRuntime.name]
    reply = runtime.run((payload,) + tuple(deps))
    (n,) = struct.unpack_from("<I", reply)
    costs, out = reply[4 : 4 + n], reply[4 + n :]
    if costs:
        worker.log_event(_COSTS_TOPIC, {"key": worker.get_current_task(), "costs": costs})
    if out[:1] != b"\x00":
        raise RuntimeError(_FAILED, out)
    return out


class _Costs:
    """What each finished partition's functions cost, as the workers' events bring it."""

    def __init__(self):
        import threading

        self.by_key = {}
        self.cond = threading.Condition()

    # Costs that came after their compute ended are never taken: keep only the newest.
    KEEP = 4096

    def event(self, event):
        _, msg = event
        with self.cond:
            self.by_key[msg["key"]] = msg["costs"]
            while len(self.by_key) > self.KEEP:
                del self.by_key[next(iter(self.by_key))]
            self.cond.notify_all()

    def take(self, keys, timeout=0):
        """Key and costs of those of `keys` that are in, waiting up to `timeout` s for all
        of them (an event may arrive just after its task's result)."""
        with self.cond:
            if timeout:
                self.cond.wait_for(lambda: all(k in self.by_key for k in keys), timeout)
            out = []
            for k in keys:
                if k in self.by_key:
                    out += [k, self.by_key.pop(k)]
            return out


_COSTS = _Costs()


# The partitions this driver has submitted and not released: on a scheduler shared with
# other programs, only their stderr lines and progress are this program's.
_MINE = set()


def _print_stderr(event):
    """A worker's runtime wrote these lines to its stderr while running partitions of ours
    (among others, maybe): they go to the program's, each prefixed with the worker."""
    _, msg = event
    if not any(k in _MINE for k in msg.get("keys", ())):
        return
    prefix = "[worker %s] " % msg.get("worker", "?")
    try:
        sys.stderr.write("".join(prefix + line + "\n" for line in msg.get("lines", ())))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class _Progress:
    """How many tasks each running partition has done, as the workers' events bring it."""

    def __init__(self):
        self.by_key = {}

    def event(self, event):
        _, msg = event
        if msg["key"] in _MINE:
            self.by_key[msg["key"]] = msg["done"]

    def take(self, keys):
        """Key and count of each of `keys` that has one (as text)."""
        out = []
        for k in keys:
            done = self.by_key.get(k)
            if done is not None:
                out += [k, str(done)]
        return out


_PROGRESS = _Progress()


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
    # Ctrl-C is the Rust program's (this driver runs in a process group of its own). When
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
    _, mode, arg, exe, timeout, upload, ca, cert, key = [f.decode() for f in start]
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
            security = None
            if ca:
                from distributed.security import Security

                security = Security(
                    tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True
                )
            if mode == "file":
                client = Client(scheduler_file=arg, timeout=timeout, security=security)
            else:
                client = Client(arg, timeout=timeout, security=security)
            client.wait_for_workers(1, timeout=timeout)
        # Every worker, now and later, gets the binary (hashed now, not in its first
        # task) and its resident runtime; workers on other hosts get the plugin's copy.
        data = None
        if upload == "1":
            with open(exe, "rb") as f:
                data = f.read()
        _check_plugin(client.register_plugin(_runtime_plugin(exe, digest, data)))
        client.subscribe_topic(_COSTS_TOPIC, _COSTS.event)
        client.subscribe_topic(_STDERR_TOPIC, _print_stderr)
        client.subscribe_topic(_PROGRESS_TOPIC, _PROGRESS.event)
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

    # Each compute's futures (a session), kept until it releases them.
    sessions = {}
    try:
        while True:
            frame = read_frame()
            if frame is None or frame[0] == b"close":
                break
            command = frame[0]
            try:
                if command == b"submit":
                    sessions.setdefault(frame[1], _Session()).submit(client, frame[2:])
                    write_frame(["ok"])
                elif command == b"wait":
                    write_frame(sessions.setdefault(frame[1], _Session()).wait(client, frame[2]))
                elif command == b"costs":
                    session = sessions.setdefault(frame[1], _Session())
                    write_frame(["ok"] + session.costs(int(frame[2]) / 1000.0))
                elif command == b"report":
                    session = sessions.setdefault(frame[1], _Session())
                    session.start_report(client, frame[2].decode(), frame[3].decode())
                    write_frame(["ok"])
                elif command == b"release":
                    session = sessions.pop(frame[1], None)
                    failed = session.release(client) if session is not None else None
                    write_frame(["ok"] if failed is None else ["report", failed])
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


class _Session:
    """One compute's futures: the partitions submitted so far and the values scattered for
    them, and the partitions finished since the driver last asked."""

    def __init__(self):
        import threading

        self.futures = {}
        self.report = None
        self.wanted = set()
        self.finished = []
        self.uncosted = set()
        self.cond = threading.Condition()

    def _done(self, future):
        # On the client's event loop: only note it.
        with self.cond:
            self.finished.append(future)
            self.cond.notify()

    def submit(self, client, frame):
        """`frame`: scattered values (count, then key and blob each), partitions (count,
        then key, payload and its dependencies' keys each), the keys whose results the
        driver wants, then how many times a failed partition runs again, the resources a
        worker needs (`GPU=1,MEM=2`) and the priority (these three for every partition of
        the frame)."""
        i = 0
        n = int(frame[i])
        i += 1
        data = {}
        for _ in range(n):
            data[frame[i].decode()] = frame[i + 1]
            i += 2
        if data:
            # Each value once on one worker; dask copies it to the others that need it,
            # once each.
            self.futures.update(client.scatter(data, hash=False))
        n = int(frame[i])
        retries = int(frame[i + 2 + 3 * n]) or None
        resources = {}
        for pair in frame[i + 3 + 3 * n].decode().split(","):
            if pair:
                name, amount = pair.split("=")
                resources[name] = float(amount)
        priority = int(frame[i + 4 + 3 * n])
        i += 1
        for _ in range(n):
            key = frame[i].decode()
            payload = frame[i + 1]
            deps = frame[i + 2].decode().split("\n") if frame[i + 2] else []
            i += 3
            future = client.submit(
                _delayed_task,
                payload,
                *[self.futures[d] for d in deps],
                key=key,
                pure=False,
                retries=retries,
                resources=resources or None,
                priority=priority,
            )
            self.futures[key] = future
            _MINE.add(key)
            future.add_done_callback(self._done)
        if frame[i]:
            self.wanted.update(frame[i].decode().split("\n"))

    def wait(self, client, timeout_ms):
        """The partitions finished within `timeout_ms` (at least one, unless the time runs
        out): their count, key and result blob (empty unless wanted; gathered once) each;
        then the count of costs in, key and costs each; then key and tasks done of each
        partition still running that reported progress. Or the first failure."""
        with self.cond:
            self.cond.wait_for(lambda: self.finished, int(timeout_ms) / 1000.0)
            batch, self.finished = self.finished, []
        for future in batch:
            if future.status == "error":
                e = future.exception()
                if len(e.args) == 2 and e.args[0] == _FAILED:
                    return ["failed", e.args[1]]
                return ["lost", "%s: %s" % (type(e).__name__, e), future.key]
            if future.status != "finished":
                return ["lost", "it was %s" % future.status, future.key]
        wanted = [f for f in batch if f.key in self.wanted]
        results = dict(zip([f.key for f in wanted], client.gather(wanted))) if wanted else {}
        self.uncosted.update(f.key for f in batch)
        reply = ["ok", str(len(batch))]
        for future in batch:
            reply += [future.key, results.get(future.key, b"")]
            _PROGRESS.by_key.pop(future.key, None)
        costs = self.costs(0)
        running = [k for k, f in self.futures.items() if not f.done()]
        return reply + [str(len(costs) // 2)] + costs + _PROGRESS.take(running)

    def costs(self, timeout):
        """Key and costs of the finished partitions whose costs are in (waiting up to
        `timeout` s for all of them)."""
        got = _COSTS.take(list(self.uncosted), timeout)
        self.uncosted.difference_update(got[0::2])
        return got

    def start_report(self, client, path, code):
        """Starts dask's performance report of this compute (`code` is what it says ran)."""
        from distributed import performance_report

        report = performance_report(filename=path)
        client.sync(report.__aenter__)
        self.report = (report, code)

    def release(self, client):
        """Forgets the futures: dask frees their results and drops what has not started.
        Writes the performance report, if one was started: why it could not be, or None."""
        pending = [f for f in self.futures.values() if not f.done()]
        if pending:
            client.cancel(pending)
        for key in self.futures:
            _PROGRESS.by_key.pop(key, None)
            _MINE.discard(key)
        self.futures.clear()
        if self.report is None:
            return None
        report, code = self.report
        self.report = None
        try:
            client.sync(report.__aexit__, None, None, None, code=code)
        except Exception as e:
            return "%s: %s" % (type(e).__name__, e)
        return None


def _runtime_plugin(exe, digest, data):
    """The `DelayedRuntime` plugin, as a `WorkerPlugin` of this `distributed`."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class Plugin(DelayedRuntime, WorkerPlugin):
        pass

    return Plugin(exe, digest, data)


def _check_plugin(replies):
    """Raises the first worker's error of a plugin registration, if any."""
    for address, reply in (replies or {}).items():
        if isinstance(reply, dict) and reply.get("status") == "error":
            raise RuntimeError("%s: %s" % (address, reply.get("exception") or reply))


def _close(client, cluster):
    for thing in (client, cluster):
        if thing is not None:
            try:
                thing.close()
            except Exception:
                pass


main()

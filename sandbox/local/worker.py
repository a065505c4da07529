# The Python side of a local sandbox: a persistent worker that runs cells
# sent by the Go host, like a Jupyter kernel.
#
# File descriptors (set up by the sandbox init before exec):
#   0 /dev/null, 1 stdout pipe, 2 stderr pipe (read directly by the host),
#   3 commands from the host, 4 events to the host (JSON lines), 5 this
#   worker's own code, read to the end and closed by the loader.
# A command is a header line "<op> <nonce> <code bytes> <env bytes>\n"
# followed by the code (UTF-8) and the environment ("key\0value\0"...).
# Start-up time matters (it is most of a new sandbox's latency), so the
# worker avoids the json, ast and traceback modules until it needs them.
# After each cell the worker writes an end marker carrying the run's nonce to
# fds 1 and 2 before the "end" event, so the host knows it has read every byte
# the cell wrote, including output of os.system and subprocesses.
#
# Stateless mode (settings "clean=DIR:DIR..."): the worker is a zygote that
# never runs user code itself. It forks each cell's child from its
# pre-imported, pristine state two cells ahead (when the cell before the
# previous one ends, so it is warm when its cell comes); the child warms
# up with every signal blocked, receives the command's code and
# environment (never its nonce) over a pipe of its own, runs it and
# exits. Then the zygote kills every other process in the sandbox but the
# next child, writes the end markers, undoes a stop the cell sent the next
# child or replaces it if the cell killed it, empties the writable
# directories and forks the child after the next. Each cell therefore starts from the same clean slate, and
# since no process of a cell can learn the nonce (the zygote is not
# dumpable, so its memory and descriptors are closed to /proc), none can
# forge the end of its call and outlive it into the next caller's.
import sys, os

_settings = sys.argv[1].split()  # max_text, then NAME=value settings
_CLEAN = []  # stateless mode: directories emptied after each cell


def _limits():
    import resource
    for item in _settings[1:]:
        name, value = item.split("=", 1)
        if name == "clean":
            _CLEAN.extend(d for d in value.split(":") if d)
            continue
        if name == "nice":
            os.setpriority(os.PRIO_PROCESS, 0, int(value))
            continue
        resource.setrlimit(getattr(resource, name), (int(value), int(value)))


_limits()  # before any user code can run; hard limits cannot be raised again

_SITE = os.environ.get("PIP_TARGET")  # set when pip installs are on


def _make_site():
    # The sandbox's own site (on sys.path through PYTHONPATH), where pip
    # installs: it must exist before an import looks there, or the import
    # system remembers it as missing until importlib.invalidate_caches().
    if _SITE:
        try:
            os.mkdir(_SITE, 0o755)
        except OSError:
            pass
        sys.path_importer_cache.pop(_SITE, None)


_make_site()

import _ast, _json, _signal as signal, builtins


def _init(worker):
    # The first process of the sandbox (process 1 of its pid namespace)
    # stays here as its init, sharing its pages with the worker: it
    # forwards interrupts to the worker, reaps orphans, and when the worker
    # exits it exits the same way, which ends every process of the
    # sandbox. Without a pid namespace it kills the worker's leftovers (it
    # is their subreaper) first.
    import gc
    gc.disable()  # a collection would touch, and so copy, the pages shared with the worker
    for fd in range(6):
        try:
            os.close(fd)
        except OSError:
            pass
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)

    def interrupt(signum, frame):
        try:
            os.kill(worker, signal.SIGINT)
        except OSError:
            pass

    signal.signal(signal.SIGINT, interrupt)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(3)
        if pid != worker:
            continue
        if os.getpid() != 1:
            for _ in range(3):
                try:
                    with open("/proc/self/task/%d/children" % os.getpid()) as f:
                        rest = [int(p) for p in f.read().split()]
                except OSError:
                    rest = []
                for p in rest:
                    try:
                        os.kill(p, 9)
                    except OSError:
                        pass
                try:
                    while os.waitpid(-1, os.WNOHANG)[0]:
                        pass
                except ChildProcessError:
                    pass
        if os.WIFSIGNALED(status):
            os._exit(128 + os.WTERMSIG(status))
        os._exit(os.WEXITSTATUS(status))


if sys.argv[-1] == "init":  # started as the sandbox's first process
    sys.argv.pop()
    _pid = os.fork()
    if _pid:
        _init(_pid)

for _sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGPIPE, signal.SIGCHLD):
    try:
        signal.signal(_sig, signal.SIG_DFL)
    except (OSError, ValueError):
        pass
signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # Python's own default: EPIPE raises
signal.signal(signal.SIGINT, signal.default_int_handler)

_WORKER_FILE = sys._getframe().f_code.co_filename
_MAX = int(_settings[0])
_str = _json.encode_basestring_ascii
_CMD = os.fdopen(3, "rb", buffering=1 << 16)
_EVT = 4
os.set_inheritable(3, False)
os.set_inheritable(4, False)
_OUT = os.dup(1)  # private copies: restore fds 1 and 2 if a cell closes them
_ERR = os.dup(2)
_OUT_INO = os.fstat(1).st_ino
_ERR_INO = os.fstat(2).st_ino
# Line buffering: a print() reaches the host as one chunk, at each newline
# (PYTHONUNBUFFERED would split it into two writes); partial lines are
# flushed at the end of the cell.
for _f in (sys.stdout, sys.stderr):
    _f.reconfigure(line_buffering=True, write_through=False)
_STDOUT, _STDERR = sys.stdout, sys.stderr
_cells = {}  # source of recent cells by file name, oldest first
_count = 0


def _send(obj):
    parts = []
    for k, v in obj.items():
        if v is True or v is False:
            v = "true" if v else "false"
        elif isinstance(v, int):
            v = str(v)
        elif isinstance(v, str):
            v = _str(v)
        else:
            import json
            v = json.dumps(v, default=repr)
        parts.append(_str(k) + ":" + v)
    data = ("{" + ",".join(parts) + "}\n").encode()
    while data:
        n = os.write(_EVT, data)
        data = data[n:]


def _write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


def _clip(s):
    # The note has the format of sandbox.BackendTruncationNote.
    if len(s) > _MAX:
        return s[:_MAX] + "\n... [output truncated: %d characters omitted by the sandbox (limit %d characters)]\n" % (len(s) - _MAX, _MAX)
    return s


def _new_namespace():
    mod = type(sys)("__main__")
    mod.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = mod
    return mod.__dict__


_ns = _new_namespace()

_MIME = (
    ("html", "_repr_html_"), ("markdown", "_repr_markdown_"), ("svg", "_repr_svg_"),
    ("png", "_repr_png_"), ("jpeg", "_repr_jpeg_"), ("latex", "_repr_latex_"),
    ("json", "_repr_json_"), ("javascript", "_repr_javascript_"), ("pdf", "_repr_pdf_"),
)


def _result(value):
    res = {"t": "result", "is_main_result": True, "text": _clip(repr(value))}
    for key, meth in _MIME:
        f = getattr(type(value), meth, None)
        if f is None:
            continue
        try:
            out = f(value)
        except Exception:
            continue
        if out is None:
            continue
        if isinstance(out, tuple):
            out = out[0]
        if key == "json":
            res[key] = out
        elif isinstance(out, bytes):
            res[key] = __import__("base64").b64encode(out).decode()
        else:
            res[key] = _clip(str(out))
    _send(res)


def _error(exc):
    import traceback
    _publish_cells()
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == _WORKER_FILE:
        tb = tb.tb_next
    try:
        text = "".join(traceback.TracebackException(type(exc), exc, tb, compact=True).format())
    except Exception:
        text = "".join(traceback.format_exception_only(type(exc), exc))
    try:
        value = str(exc)
    except Exception:
        value = "<unprintable>"
    _send({"t": "error", "name": type(exc).__name__, "value": _clip(value), "traceback": _clip(text)})


def _remember(filename, code):
    _cells[filename] = code
    if len(_cells) > 64:
        old = next(iter(_cells))
        del _cells[old]
        if "linecache" in sys.modules:
            sys.modules["linecache"].cache.pop(old, None)
    if "linecache" in sys.modules:
        _publish_cells()


def _publish_cells():
    # Let tracebacks (ours and the user's) show the source lines of cells.
    import linecache
    for filename, code in _cells.items():
        if filename not in linecache.cache:
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)


def _run(code):
    global _count
    _count += 1
    filename = "<cell-%d>" % _count
    _remember(filename, code)
    tree = compile(code, filename, "exec", _ast.PyCF_ONLY_AST)
    last = None
    if tree.body and isinstance(tree.body[-1], _ast.Expr):
        last = _ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec"), _ns)
    if last is not None:
        value = eval(compile(last, filename, "eval"), _ns)
        if value is not None:
            _ns["_"] = value
            _result(value)


def _apply_env(env):
    saved = {}
    for k, v in env.items():
        saved[k] = os.environ.get(k)
        os.environ[k] = v
    return saved


def _restore_env(saved):
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _repair_fds():
    for fd, priv, ino in ((1, _OUT, _OUT_INO), (2, _ERR, _ERR_INO)):
        try:
            same = os.fstat(fd).st_ino == ino
        except OSError:
            same = False
        if not same:
            os.dup2(priv, fd)
    for name, orig in (("stdout", _STDOUT), ("stderr", _STDERR)):
        cur = getattr(sys, name, None)
        if cur is not orig or orig.closed:
            if orig.closed:
                orig = open(1 if name == "stdout" else 2, "w", buffering=1, closefd=False, errors="backslashreplace")
                if name == "stdout":
                    globals()["_STDOUT"] = orig
                else:
                    globals()["_STDERR"] = orig
            setattr(sys, name, orig)


def _flush():
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass


def _finish(nonce, count=None, repair=True):
    _flush()
    if repair:  # a stateless zygote's descriptors are out of the cells' reach
        _repair_fds()
    mark = ("\x00\x01sandbox-end:" + nonce + "\x00").encode()
    _write_all(_OUT, mark)
    _write_all(_ERR, mark)
    _send({"t": "end", "nonce": nonce, "count": _count if count is None else count})


def _run_cell(code, env, unblock=False):
    saved = {}
    try:
        if unblock:  # a stateless child's signals, blocked while it waited
            signal.pthread_sigmask(signal.SIG_SETMASK, ())
        saved = _apply_env(dict(zip(env[0:-1:2], env[1::2])))
        _run(code)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are results too
        try:
            _flush()
            _error(exc)
        except KeyboardInterrupt:
            pass
    finally:
        _restore_env(saved)


def _read_command(f=None):
    # Returns (op, nonce, code, env), or None at the end of the input. From
    # the zygote a cell's child reads the same frame with "-" for the nonce.
    f = f or _CMD
    while True:
        try:
            line = f.readline()
            if not line:
                return None
            op, nonce, ncode, nenv = line.decode().split()
            code = f.read(int(ncode)).decode("utf-8", "replace")
            env = f.read(int(nenv)).decode("utf-8", "replace").split("\0")
            return op, nonce, code, env
        except KeyboardInterrupt:
            continue


def _serve():
    global _ns, _count
    _send({"t": "ready"})
    while True:
        cmd = _read_command()
        if cmd is None:
            os._exit(0)
        op, nonce, code, env = cmd
        if op == "run":
            _run_cell(code, env)
            _finish(nonce)
        elif op == "reset":
            _ns = _new_namespace()
            _count = 0
            _finish(nonce)


# ---- stateless mode -------------------------------------------------------

_SELF = os.getpid()
_INIT = os.getppid()  # the sandbox init: 1 inside a pid namespace
_child = 0  # pid of the cell being run
_spare = 0  # pid of the child forked for the next cell, spared by the sweep
_private = set()  # the zygote's ends of its children's pipes
_DONE_FD = max(_EVT, _OUT, _ERR) + 1  # a cell's end of its report pipe


def _forward_interrupt(signum, frame):
    if _child:
        try:
            os.kill(_child, signal.SIGINT)
        except OSError:
            pass


def _spawn():
    # Forks a child for a later cell. It starts with every signal blocked
    # (it may be forked while another cell runs, whose processes can
    # signal it: what they send stays pending until the child discards it,
    # see _cell_child and _untouched), warms up, and waits for its command
    # on a pipe of its own. Returns (pid, the command pipe's write end, the
    # report pipe's read end).
    done_r, done_w = os.pipe()
    cmd_r, cmd_w = os.pipe()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    pid = os.fork()
    if pid == 0:
        try:
            if _HELD:  # a command kept until its child ended (only a replacement child, for that command, is forked meanwhile)
                _RELAY[:_HELD] = _ZEROS[:_HELD]
            for fd in _private | {done_r, cmd_w}:
                os.close(fd)
            _CMD.close()  # the host's commands, with their nonces, are the zygote's
            # The same descriptor numbers in every cell, whatever the
            # zygote held when it forked this child: 3 (the command pipe's,
            # closed above) and the first after the worker's own.
            os.dup2(cmd_r, 3)
            os.dup2(done_w, _DONE_FD)
            for fd in {cmd_r, done_w} - {3, _DONE_FD}:
                os.close(fd)
            _cell_child(3, _DONE_FD)
        finally:
            os._exit(0)
    signal.pthread_sigmask(signal.SIG_SETMASK, old)
    os.close(done_w)
    os.close(cmd_r)
    _private.update((cmd_w, done_r))
    return pid, cmd_w, done_r


def _cell_child(cmd_r, done_w):
    # The child: warm up, read the command the zygote relays, tell the
    # zygote, and run it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _warm_up()
    except BaseException:
        pass
    with os.fdopen(cmd_r, "rb", buffering=1 << 16) as f:
        if f.peek(1)[:1] == b"p":  # the zygote's ping (see _checked)
            f.read(1)
            os.write(done_w, b"p")
        cmd = _read_command(f)
    if cmd is None:
        return
    op, _, code, env = cmd
    # Signals sent while this child waited came from the previous cell's
    # processes (this one has not run yet): they are discarded, since
    # ignoring a pending signal discards it. An interrupt the host sends
    # for this cell comes later (timeouts are at least a millisecond).
    for sig in signal.sigpending():
        try:
            signal.signal(sig, signal.signal(sig, signal.SIG_IGN))
        except (OSError, ValueError):
            pass
    gc.enable()
    _make_site()  # emptied with /work after the previous cell
    os.write(done_w, b"n")
    if op == "run":
        _run_cell(code, env, unblock=True)
        _flush()
    os.write(done_w, b"k")


def _warm_up():
    # Runs a throw-away cell through the same paths as a real one, so the
    # pages a cell touches are copied from the zygote before the command
    # arrives rather than while the caller waits. Nothing of it stays.
    tree = compile("_w = [i * 2 for i in range(3)]\n_w", "<warm-up>", "exec", _ast.PyCF_ONLY_AST)
    last = _ast.Expression(tree.body.pop().value)
    ns = {"__builtins__": builtins}
    exec(compile(tree, "<warm-up>", "exec"), ns)
    _str(repr(eval(compile(last, "<warm-up>", "eval"), ns)))


_RELAY = _ZEROS = None  # the relay buffer and as many zeros (stateless only)
_HELD = 0  # how many bytes of _RELAY hold a command (see _spawn)


def _relay_command(child):
    # Reads one command from the host and writes it to child's command
    # pipe, with "-" in place of the nonce. The code and the environment
    # pass through _RELAY only, so no copy of a caller's code or
    # environment stays in the zygote's memory, from which later cells are
    # forked. A command that fits in _RELAY is kept there until the child
    # has ended (see _ended), which zeroes it, and a child forked meanwhile
    # zeroes its own copy before anything else (see _spawn); a longer one
    # is streamed and zeroed before this returns, after a ping has shown
    # the child is alive (_checked). Returns (op, nonce, the child, what
    # _ended needs), or None at the end of the input. The host sends the
    # next command only after this one's end, so no read takes any of it.
    global _HELD
    buf, used, kept = memoryview(_RELAY), 0, False
    try:
        n = 0
        while True:
            got = os.readv(3, [buf[n:]])
            if got == 0:
                return None
            n += got
            used = max(used, n)
            nl = _RELAY.find(b"\n", 0, n)
            if nl >= 0:
                break
            if n == len(buf):
                raise ValueError("command header too long")
        op, nonce, ncode, nenv = bytes(buf[:nl]).split()
        buf[:nl] = _ZEROS[:nl]  # the nonce, before any child is forked
        rest = int(ncode) + int(nenv)
        head = b"%s - %d %d\n" % (op, int(ncode), int(nenv))
        total = nl + 1 + rest
        if total <= len(buf):
            while n < total:
                got = os.readv(3, [buf[n:total]])
                if got == 0:
                    return None
                n += got
                used = max(used, n)
            kept = True
            _HELD = total
            _to_child(child, head, buf[nl + 1:total])
            return op.decode(), nonce.decode(), child, (head, buf[nl + 1:total], total)
        child = _checked(child)
        _to_child(child, head)
        body = buf[nl + 1:n]
        while True:
            _to_child(child, body)
            rest -= len(body)
            if rest <= 0:
                break
            got = os.readv(3, [buf[:min(rest, len(buf))]])
            if got == 0:
                return None
            body = buf[:got]
        return op.decode(), nonce.decode(), child, None
    finally:
        if not kept:
            buf[:used] = _ZEROS[:used]


def _to_child(child, *parts):
    try:
        for data in parts:
            _write_all(child[1], data)
    except OSError:
        pass  # the child is gone: the zygote finds out from its report


def _ended(child, kept):
    # Waits for the child to end and returns (the child, its wait status,
    # the first byte of its report: "n" once it took its command). A child
    # killed before it took its command (by a SIGKILL an earlier cell sent
    # while it waited, acted on late) has an empty report: a command kept
    # in _RELAY then goes to a new child, which nothing could have
    # signalled. Zeroes the kept command.
    global _child, _HELD
    try:
        for attempt in range(2):
            _, status = os.waitpid(child[0], 0)
            # The child is gone: this read does not wait for the processes
            # the cell started (see _cell).
            first = os.read(child[2], 1)
            if first == b"n" or kept is None or attempt == 1:
                return child, status, first
            _close_private(child[1], child[2])
            child = _spawn()
            _child = child[0]
            _to_child(child, kept[0], kept[1])
    finally:
        if kept is not None:
            _RELAY[:kept[2]] = _ZEROS[:kept[2]]
            _HELD = 0


def _checked(child):
    # Before a command too long to keep is streamed to it: a ping the
    # child must answer ("p"), since a SIGKILL sent earlier is acted on
    # before the child returns to user space. A child that does not answer
    # is replaced.
    global _child
    _to_child(child, b"p")
    try:
        if os.read(child[2], 1) == b"p":
            return child
    except OSError:
        pass
    _discard(child)
    child = _spawn()
    _child = child[0]
    return child


def _discard(child):
    try:
        os.kill(child[0], 9)
        os.waitpid(child[0], 0)
    except OSError:
        pass  # already reaped by the sweep
    _close_private(child[1], child[2])


def _close_private(*fds):
    for fd in fds:
        _private.discard(fd)
        os.close(fd)


def _cell(current, nxt):
    # Runs one cell: relays the command to the current child (nxt, the
    # child for the next cell, is warm by then), waits for the current
    # child, removes every process the cell left, checks the next child
    # was left alone, reports the end, empties the writable directories
    # and forks the child for the cell after the next, which warms up
    # while the host reads the end and sends the next command. When the
    # child did not finish the cell (os._exit, a fatal signal), the zygote
    # exits the same way, so the host reports a crash as in session mode.
    # Returns the next child and the one after.
    global _child, _spare
    _child, _spare = current[0], nxt[0]
    cmd = _relay_command(current)
    if cmd is None:  # the host closed the command pipe
        os._exit(0)
    op, nonce, current, kept = cmd
    current, status, report = _ended(current, kept)
    pid, cmd_w, done_r = current
    _close_private(cmd_w)
    _child = 0
    if not _sweep():
        os._exit(3)
    while True:  # every writer is gone: this ends
        part = os.read(done_r, 4096)
        if not part or len(report) > 4096:
            break
        report += part
    _close_private(done_r)
    if not report.startswith(b"n"):
        _flush()
        os._exit(3)  # died before it read its command
    if b"k" not in report[1:]:
        _flush()
        if os.WIFSIGNALED(status):
            os._exit(128 + os.WTERMSIG(status))
        os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 3)
    _finish(nonce, 1, repair=False)
    nxt = _untouched(nxt)
    _wipe_all()
    return nxt, _spawn()


def _untouched(child):
    # The next cell's child existed while this cell ran, whose processes
    # could signal it (nothing else reaches it: it is not dumpable, /proc
    # is read-only, and the calls that change another process's limits or
    # scheduling are refused). It blocks every signal and discards those
    # pending when it takes its command, which leaves SIGSTOP and SIGKILL.
    # Called after the sweep, when none of those processes is left:
    # SIGCONT resumes a stopped child and discards the stop signals
    # pending for it, whatever its mask; a child already dead is replaced
    # here, one killed but not yet dead when its command comes (see
    # _ended, _checked).
    global _spare
    try:
        os.kill(child[0], signal.SIGCONT)
        if os.waitpid(child[0], os.WNOHANG)[0] == 0:
            return child
    except OSError:
        pass  # already reaped by the sweep
    _discard(child)
    child = _spawn()
    _spare = child[0]
    return child


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read()
    except OSError:
        return None, 0
    rest = s[s.rindex(b")") + 2:].split()
    return rest[0], int(rest[1])


def _others():
    # Every live process of the sandbox except the init and this zygote.
    pids = [int(n) for n in os.listdir("/proc") if n.isdigit()]
    if _INIT == 1:
        return [p for p in pids if p not in (1, _SELF, _spare) and _state(p)[0] not in (None, b"Z", b"X")]
    # No pid namespace: the descendants of the init (it is their subreaper).
    info = {p: _state(p) for p in pids}
    mine = {_INIT}
    grew = True
    while grew:
        grew = False
        for p, (st, ppid) in info.items():
            if ppid in mine and p not in mine and st is not None:
                mine.add(p)
                grew = True
    return [p for p in mine if p not in (_INIT, _SELF, _spare) and info[p][0] not in (None, b"Z", b"X")]


def _children(pid):
    try:
        fd = os.open("/proc/%d/task/%d/children" % (pid, pid), os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 4096).split()
    finally:
        os.close(fd)


def _alone():
    # Whether the init, this zygote and the spare child are the only
    # processes: the init's only child is the zygote and the zygote's only
    # child is the spare, which starts none. Every other process is a
    # descendant of one of these (orphans go to the init, a process
    # started with CLONE_PARENT is the zygote's, alive or not until the
    # zygote reaps it), so this is exact; a False sends the sweep to the
    # full scan.
    return _children(_INIT) == [b"%d" % _SELF] and _children(_SELF) == [b"%d" % _spare]


def _sweep():
    # SIGKILL every process the cell left until none is alive; processes
    # forking meanwhile are caught by the next round. False if some
    # survive for two seconds.
    if _alone():
        return True
    deadline = _time.monotonic() + 2
    while True:
        while True:  # reap children adopted through CLONE_PARENT
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        pids = _others()
        if not pids:
            return True
        if _time.monotonic() > deadline:
            return False
        for p in pids:
            try:
                os.kill(p, 9)
            except OSError:
                pass
        os.sched_yield()


def _wipe(path):
    # Removes everything under path, making directories the cell locked
    # (chmod 0) writable first.
    try:
        with os.scandir(path) as it:
            entries = list(it)
    except FileNotFoundError:
        return
    except PermissionError:
        os.chmod(path, 0o700)
        with os.scandir(path) as it:
            entries = list(it)
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            try:
                os.chmod(e.path, 0o700)
            except OSError:
                pass
            _wipe(e.path)
            os.rmdir(e.path)
        else:
            os.unlink(e.path)


def _wipe_all():
    try:
        for path, mode in _CLEAN_MODES:
            _wipe(path)
            st = os.stat(path)
            if st.st_mode & 0o7777 != mode:
                os.chmod(path, mode)
            for name in os.listxattr(path):
                os.removexattr(path, name)
    except OSError as exc:
        os.write(_ERR, ("sandbox: cannot clean %s\n" % exc).encode())
        os._exit(3)


def _not_dumpable():
    # prctl(PR_SET_DUMPABLE, 0) through _ctypes (the ctypes package costs
    # ~4 ms to import): a process that is not dumpable keeps its memory,
    # environment and descriptors from other processes of its uid through
    # /proc, and the cells' children inherit it until they exec.
    import _ctypes

    class c_int(_ctypes._SimpleCData):
        _type_ = "i"

    class c_ulong(_ctypes._SimpleCData):
        _type_ = "L"

    class fn(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = c_int
        _argtypes_ = (c_int, c_ulong, c_ulong, c_ulong, c_ulong)

    prctl = fn(_ctypes.dlsym(_ctypes.dlopen(None), "prctl"))
    if prctl(4, 0, 0, 0, 0) != 0 or prctl(3, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE, PR_GET_DUMPABLE
        raise OSError(_ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")


def _serve_stateless():
    global _CLEAN_MODES, _time, _spare, gc, _RELAY, _ZEROS
    _RELAY, _ZEROS = bytearray(1 << 16), memoryview(bytes(1 << 16))
    try:
        _not_dumpable()
    except Exception as exc:
        os.write(_ERR, ("sandbox: a stateless sandbox needs the interpreter's _ctypes module to protect its zygote: %r\n" % (exc,)).encode())
        os._exit(3)
    import time as _time, traceback, linecache, json, base64, gc  # noqa: F401 (shared with every cell)
    _CLEAN_MODES = [(d, os.stat(d).st_mode & 0o7777) for d in _CLEAN]
    signal.signal(signal.SIGINT, _forward_interrupt)
    gc.collect()
    gc.freeze()  # keep the zygote's objects out of the children's collections
    gc.disable()  # and its own pages untouched between forks (each child enables it)
    _send({"t": "ready"})
    child, nxt = _spawn(), _spawn()
    while True:
        child, nxt = _cell(child, nxt)


if _CLEAN:
    _serve_stateless()
else:
    _serve()

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
# Stateless mode (settings "clean=DIR:DIR..."): fd 3 is a unix socket
# over which the host sends each call's slot of descriptors ahead of the
# call; the worker is a zygote that never runs user code itself. It forks
# each cell's child from its pre-imported, pristine state once the
# previous cell's processes are all gone, with the slot as the child's
# command, stdout, stderr and event descriptors; the host writes the
# command straight to the child. After the cell the zygote kills every
# process left, empties the writable directories, closes its copies of
# the slot and reports the end on its own event pipe. See "stateless
# mode" below.
import sys, os

_settings = sys.argv[1].split()  # max_text, then NAME=value settings
_CLEAN = []  # stateless mode: directories emptied after each cell
_CALLNS_NR = 0  # stateless mode: unshare's number, when each cell gets a network namespace


def _limits():
    global _CALLNS_NR
    import resource
    for item in _settings[1:]:
        name, value = item.split("=", 1)
        if name == "clean":
            _CLEAN.extend(d for d in value.split(":") if d)
            continue
        if name == "callns":
            _CALLNS_NR = int(value)
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
_CMD = None  # session mode: the host's commands (fd 3), opened by _serve
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


# ---- figures ---------------------------------------------------------------
#
# matplotlib draws with the backend "module://sandbox_display" (MPLBACKEND
# in the sandbox's environment): Agg's canvas, and a show() that sends each
# open figure as a PNG result and closes it. Figures still open when a cell
# ends are sent then, as a notebook shows them. matplotlib is only
# imported by the code that uses it.


def _show_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    try:
        nums = plt.get_fignums()
    except Exception:
        return
    if not nums:
        return
    import io, base64
    for num in nums:
        try:
            fig = plt.figure(num)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", bbox_inches="tight")
            _send({"t": "result", "is_main_result": False, "text": _clip(repr(fig)),
                   "png": base64.b64encode(buf.getvalue()).decode()})
        except Exception:
            pass
    try:
        plt.close("all")
    except Exception:
        pass


def _display_backend():
    mod = type(sys)("sandbox_display")
    mod.__doc__ = "matplotlib backend of the sandbox: figures shown become PNG results."

    def lazy(name):
        if name in ("FigureCanvas", "FigureManager"):
            from matplotlib.backends import backend_agg
            mod.FigureCanvas = backend_agg.FigureCanvas
            mod.FigureManager = backend_agg.FigureManager
            return getattr(mod, name)
        raise AttributeError("module 'sandbox_display' has no attribute %r" % name)

    mod.__getattr__ = lazy
    mod.show = lambda *args, **kwargs: _show_figures()
    sys.modules["sandbox_display"] = mod


_display_backend()


# ---- calls from the code to the host ---------------------------------------
#
# sandbox_host.call(name, args) writes a "call" event (a number, the name
# and the arguments as JSON) on the event pipe and blocks until the host's
# reply arrives on the pipe the cell's command came from, framed as a
# command is: "reply <number> <bytes> 0" and the JSON result, or "raise
# <number> <bytes> 0" and the error's text. (A reply the cell did not wait
# for is read by the session's loop as a command it ignores.) A lock keeps
# one call in flight per process, so the replies of two threads cannot
# interleave.


class HostCallError(Exception):
    """A call to the host failed; the message says why."""


_REPLY = None  # the pipe the current cell's command came from
_host_seq = 0
_host_lock = __import__("_thread").allocate_lock()


def _host_call(name, args=None, /, **kwargs):
    global _host_seq
    import json
    if not isinstance(name, str):
        raise TypeError("sandbox_host.call: the name must be a str, not %s" % type(name).__name__)
    if args is None:
        args = kwargs
    elif kwargs:
        raise TypeError("sandbox_host.call: give the arguments as one dict or as keywords, not both")
    payload = json.dumps(args, ensure_ascii=False, allow_nan=False)
    with _host_lock:
        f = _REPLY
        if f is None:
            raise HostCallError("no host to call outside a run")
        _host_seq += 1
        n = _host_seq
        _write_all(_EVT, ('{"t":"call","id":%d,"name":%s,"args":%s}\n' % (n, _str(name), payload)).encode())
        head = f.readline().split()
        if len(head) != 4 or head[0] not in (b"reply", b"raise") or head[1] != str(n).encode():
            raise HostCallError("the host's reply to call %d was not understood" % n)
        body = f.read(int(head[2]))
        if head[0] == b"raise":
            raise HostCallError(body.decode("utf-8", "replace"))
        return json.loads(body)


def _host_module():
    mod = type(sys)("sandbox_host")
    mod.__doc__ = "Calls from the code of a run to the host that runs it (RunOptions.OnHostCall)."
    mod.call = _host_call
    mod.HostCallError = HostCallError
    HostCallError.__module__ = "sandbox_host"
    sys.modules["sandbox_host"] = mod


_host_module()


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


def _finish(nonce, count=None):
    _flush()
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
        try:
            _show_figures()
        except BaseException:
            pass
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
    global _ns, _count, _CMD, _REPLY
    _CMD = _REPLY = os.fdopen(3, "rb", buffering=1 << 16)
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
#
# The zygote owns nothing a call can reach. Each call comes with a slot of
# four descriptors the host made for it alone and passed over the command
# socket (fd 3) ahead of time: the read end of a pipe carrying the call's
# command, and the write ends of the call's stdout, stderr and event pipes.
# The zygote forks the call's child with the slot as its fds 3, 1, 2 and 4;
# the host writes the command straight into the slot's pipe, so the zygote
# never holds a caller's code or environment, and a call's output reaches
# the host only through pipes no other call ever holds (a flag, a pipe
# size, an owner for I/O signals set on them dies with the call). The end
# of a call is the zygote's own "end" event on its private fd 4, which no
# child keeps: there is no secret to steal and nothing to forge.

_SELF = os.getpid()
_INIT = os.getppid()  # the sandbox init: 1 inside a pid namespace
_child = 0  # pid of the cell being run
_spare = 0  # pid of the child for the next cell, spared by the sweep
_SOCK = None  # the host's socket: slots of descriptors, one per call
_SLOT_FDS = 4


def _forward_interrupt(signum, frame):
    if _child:
        try:
            os.kill(_child, signal.SIGINT)
        except OSError:
            pass


def _recv_slot():
    # The next call's slot from the host: one byte "s" and four
    # descriptors. Ends the zygote when the host has closed the socket.
    data, anc, flags, _ = _SOCK.recvmsg(1, _socket.CMSG_SPACE(4 * _SLOT_FDS), _socket.MSG_CMSG_CLOEXEC)
    fds = []
    for level, kind, raw in anc:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(raw[i:i + 4], sys.byteorder, signed=True) for i in range(0, len(raw) - 3, 4)]
    if not data:
        os._exit(0)
    if data != b"s" or len(fds) != _SLOT_FDS or flags & _socket.MSG_CTRUNC:
        os.write(2, b"sandbox: malformed slot from the host\n")
        os._exit(3)
    return tuple(fds)


_NS = None  # what _ns_enter needs, made once by the zygote (_ns_prepare)


def _ns_prepare():
    # Made once in the zygote, so a cell's child only makes system calls:
    # the C functions, the capability header and empty sets, the ifreq
    # that brings lo up, and the child's own seccomp filter, which refuses
    # unshare (the sandbox's filter lets exactly the one unshare through).
    global _NS
    import _ctypes, struct, time

    class c_char(_ctypes._SimpleCData):
        _type_ = "c"

    def buf(data):
        class arr(_ctypes.Array):
            _type_ = c_char
            _length_ = len(data)
        a = arr.from_buffer_copy(data)
        return a, _ctypes.addressof(a)

    def ins(code, jt, jf, k):  # struct sock_filter
        return struct.pack("HBBI", code, jt, jf, k)

    # ld [nr]; jeq unshare ? EPERM : ALLOW
    filt = buf(ins(0x20, 0, 0, 0) + ins(0x15, 0, 1, _CALLNS_NR) + ins(0x06, 0, 0, 0x50000 | 1) + ins(0x06, 0, 0, 0x7fff0000))
    prog = buf(struct.pack("HxxxxxxQ", 4, filt[1]))  # struct sock_fprog
    lo = struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40)  # IFF_UP | IFF_LOOPBACK | IFF_RUNNING
    _NS = (_libc("unshare"), _libc("prctl"), _libc("capset"),
           buf(struct.pack("Ii", 0x20080522, 0)), buf(bytes(24)), filt, prog, _ctypes.get_errno, lo, time.sleep)


def _ns_enter():
    # In a cell's child, before its command: a user namespace (which needs
    # no privilege) and in it a network namespace of its own with lo up,
    # then every capability gone and unshare refused to the cell. The
    # kernel frees a namespace some time after its last process is gone,
    # so one the sandbox's budget (max_net_namespaces) still counts may
    # make unshare fail with ENOSPC for a moment: the child waits, and a
    # cell never runs in a namespace of another.
    unshare, prctl, capset, hdr, data, filt, prog, errno_, lo, sleep = _NS
    delay = 0.0005
    while unshare(0x10000000 | 0x40000000, 0, 0, 0, 0) != 0:  # CLONE_NEWUSER | CLONE_NEWNET
        e = errno_()
        if e != 28 or delay > 2:
            raise OSError(e, "unshare")
        sleep(delay)
        delay *= 2
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        _fcntl.ioctl(s.fileno(), 0x8914, lo)  # SIOCSIFFLAGS
    finally:
        s.close()
    if prctl(28, 0xef, 0, 0, 0) != 0:  # PR_SET_SECUREBITS: no capability comes back
        raise OSError(errno_(), "securebits")
    c = 0
    while prctl(24, c, 0, 0, 0) == 0:  # PR_CAPBSET_DROP, every capability
        c += 1
    if capset(hdr[1], data[1], 0, 0, 0) != 0:
        raise OSError(errno_(), "capset")
    if prctl(22, 2, prog[1], 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(errno_(), "seccomp")


def _spawn(slot):
    # Forks the child for a later cell with its slot, two cells ahead: it
    # exists while the cell before runs, whose processes can signal it (and
    # nothing else: it is not dumpable, /proc is read-only, ptrace and the
    # calls that change another process's limits or scheduling are
    # refused). It starts with every signal blocked, takes the slot as fds
    # 3 (command), 1, 2 (output), 4 (events), 5 (its report to the zygote)
    # and 6 (the zygote's ping, see _ready), a /dev/null of its own as fd
    # 0, closes every other descriptor (the zygote's socket, event pipe and
    # the other slots), makes its network namespace, warms up and waits for
    # the ping. Returns (pid, the report pipe's read end, the slot, the
    # ping pipe's write end).
    done_r, done_w = os.pipe()
    ping_r, ping_w = os.pipe()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    pid = os.fork()
    if pid == 0:
        try:
            _SOCK.detach()  # fd 3 is about to be the command pipe
            # Above every target first, so no dup2 overwrites a source.
            high = [_fcntl.fcntl(fd, _fcntl.F_DUPFD, 7) for fd in slot + (done_w, ping_r)]
            os.dup2(os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC), 0)
            for fd, target in zip(high, (3, 1, 2, 4, 5, 6)):
                os.dup2(fd, target)
            os.closerange(7, 1 << 20)
            if _NS is not None:
                try:
                    _ns_enter()
                except BaseException as exc:
                    os.write(2, ("sandbox: the call's network namespace: %r\n" % (exc,)).encode())
                    os._exit(3)
            _cell_child(3, 5, 6)
        finally:
            os._exit(0)
    signal.pthread_sigmask(signal.SIG_SETMASK, old)
    os.close(done_w)
    os.close(ping_r)
    return pid, done_r, slot, ping_w


def _cell_child(cmd_r, done_w, ping_r):
    global _REPLY
    # The child: warm up, answer the zygote's ping ("p"), read the command
    # from the slot, tell the zygote ("n"), run it, and tell the zygote it
    # finished ("k"). At the end of the command pipe (the host closed the
    # sandbox) it reports "e".
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _warm_up()
    except BaseException:
        pass
    if os.read(ping_r, 1) != b"p":
        return  # the zygote is gone
    os.write(done_w, b"p")
    os.close(ping_r)
    _REPLY = os.fdopen(cmd_r, "rb", buffering=1 << 16)  # host calls' replies come here too
    cmd = _read_command(_REPLY)
    if cmd is None:
        os.write(done_w, b"e")
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


def _ready(child):
    # Makes sure the child for the next cell is alive and running before
    # the host may send its command; called when no process of an earlier
    # cell is left, so nothing can signal it afterwards. SIGCONT undoes a
    # stop (and discards pending stop signals, whatever the child's mask);
    # the ping must be answered from user space, which a child with a
    # SIGKILL pending never reaches: it dies, its report ends empty, and a
    # new child, forked now, takes its slot. Returns the child to use.
    global _spare
    for _ in range(3):
        try:
            os.kill(child[0], signal.SIGCONT)
        except OSError:
            pass  # dead, and already reaped by the sweep
        try:
            os.write(child[3], b"p")
            if os.read(child[1], 1) == b"p":
                os.close(child[3])
                _spare = child[0]
                return child[:3] + (-1,)
        except OSError:
            pass
        try:
            os.kill(child[0], 9)
            os.waitpid(child[0], 0)
        except OSError:
            pass  # already reaped by the sweep
        os.close(child[1])
        os.close(child[3])
        child = _spawn(child[2])
        _spare = child[0]
    os.write(2, b"sandbox: the next call's process does not answer\n")
    os._exit(3)


def _warm_up():
    # Runs a throw-away cell through the same paths as a real one, so the
    # pages a cell touches are copied from the zygote before the command
    # arrives rather than while the caller waits. Nothing of it stays.
    tree = compile("_w = [i * 2 for i in range(3)]\n_w", "<warm-up>", "exec", _ast.PyCF_ONLY_AST)
    last = _ast.Expression(tree.body.pop().value)
    ns = {"__builtins__": builtins}
    exec(compile(tree, "<warm-up>", "exec"), ns)
    _str(repr(eval(compile(last, "<warm-up>", "eval"), ns)))


def _cell(current, nxt):
    # Runs one cell: waits for the current child (which reads its command
    # from its slot and runs it; nxt, the child for the next cell, is warm
    # by then), removes every process the cell left, empties the writable
    # directories, closes the zygote's copies of the slot (the host then
    # reads the end of the call's pipes), makes sure nxt was left alone,
    # reports the end and forks the child for the cell after the next with
    # the slot the host sent meanwhile, which warms up while the host reads
    # the end and the next cell runs. When the child did not finish the
    # cell (os._exit, a fatal signal), the zygote exits the same way, so the
    # host reports a crash as in session mode. Returns the next child and
    # the one after.
    global _child, _spare
    _child, done_r, slot, _ = current
    _spare = nxt[0]
    _, status = os.waitpid(_child, 0)
    _child = 0
    if not _sweep():
        os._exit(3)
    report = b""
    while True:  # every writer is gone: this ends
        part = os.read(done_r, 4096)
        if not part or len(report) > 4096:
            break
        report += part
    os.close(done_r)
    if report.startswith(b"e"):
        os._exit(0)  # the host closed the sandbox
    if not report.startswith(b"n"):
        os._exit(3)  # died before it read its command
    if b"k" not in report[1:]:
        if os.WIFSIGNALED(status):
            os._exit(128 + os.WTERMSIG(status))
        os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 3)
    _wipe_all()  # before the end: the next caller finds the directories empty
    for fd in slot:
        os.close(fd)
    nxt = _ready(nxt)
    _send({"t": "end", "nonce": "-", "count": 1})
    return nxt, _spawn(_recv_slot())


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


_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _wipe(path):
    # Removes everything under path without recursion: it walks down one
    # directory at a time through descriptors (no path grows with the
    # depth, so neither Python's stack nor PATH_MAX bounds it) and back up
    # through "..", making each directory the cell locked (chmod 0)
    # searchable first; each directory is read once, and once more only
    # if entries were missed. Every process of the cell is gone, so
    # nothing moves under it.
    os.chmod(path, 0o700)
    fd = os.open(path, _DIR)
    above = []  # for each level above fd: (fd's name there, its siblings still to empty)
    todo = None  # fd's subdirectories still to empty; None: read fd
    retries = 0
    try:
        while True:
            if todo is None:
                todo = []
                with os.scandir(fd) as it:
                    for e in it:
                        if e.is_dir(follow_symlinks=False):
                            todo.append(e.name)
                        else:
                            os.unlink(e.name, dir_fd=fd)
            if todo:
                sub = todo.pop()
                os.chmod(sub, 0o700, dir_fd=fd)
                inner = os.open(sub, _DIR, dir_fd=fd)
                os.close(fd)
                fd = inner
                above.append((sub, todo))
                todo = None
                continue
            if not above:
                return
            name, todo = above.pop()
            outer = os.open("..", _DIR, dir_fd=fd)
            os.close(fd)
            fd = outer
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError as exc:
                retries += 1
                if exc.errno != errno.ENOTEMPTY or retries > 64:
                    raise
                todo.append(name)  # read it again
    finally:
        os.close(fd)


def _wipe_all():
    # Empties the writable directories and restores their modes and
    # extended attributes. It cannot raise: a directory it cannot empty
    # ends the sandbox before the end of the call is reported, so no
    # caller ever starts in a directory an earlier one left dirty.
    try:
        for path, mode in _CLEAN_MODES:
            _wipe(path)
            st = os.stat(path)
            if st.st_mode & 0o7777 != mode:
                os.chmod(path, mode)
            for name in os.listxattr(path):
                os.removexattr(path, name)
    except BaseException as exc:
        try:
            os.write(2, ("sandbox: cannot clean: %r\n" % (exc,)).encode())
        finally:
            os._exit(3)


def _libc(name):
    # A C function of the process (five unsigned long arguments, an int
    # result, errno kept) through _ctypes: the ctypes package costs ~4 ms
    # to import.
    import _ctypes

    class c_int(_ctypes._SimpleCData):
        _type_ = "i"

    class c_ulong(_ctypes._SimpleCData):
        _type_ = "L"

    class fn(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = c_int
        _argtypes_ = (c_ulong,) * 5

    return fn(_ctypes.dlsym(_ctypes.dlopen(None), name))


def _not_dumpable():
    # prctl(PR_SET_DUMPABLE, 0): a process that is not dumpable keeps its
    # memory, environment and descriptors from other processes of its uid
    # through /proc, and the cells' children inherit it until they exec.
    import _ctypes
    prctl = _libc("prctl")
    if prctl(4, 0, 0, 0, 0) != 0 or prctl(3, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE, PR_GET_DUMPABLE
        raise OSError(_ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")


def _serve_stateless():
    global _CLEAN_MODES, _time, gc, errno, _SOCK, _socket, _fcntl
    try:
        _not_dumpable()
    except Exception as exc:
        os.write(2, ("sandbox: a stateless sandbox needs the interpreter's _ctypes module to protect its zygote: %r\n" % (exc,)).encode())
        os._exit(3)
    import time as _time, traceback, linecache, json, base64, gc, errno, _socket, fcntl as _fcntl  # noqa: F401 (shared with every cell)
    _SOCK = _socket.socket(fileno=3)
    for fd in (_OUT, _ERR):  # the zygote writes its own diagnostics to fd 2
        os.close(fd)
    _CLEAN_MODES = [(d, os.stat(d).st_mode & 0o7777) for d in _CLEAN]
    signal.signal(signal.SIGINT, _forward_interrupt)
    if _CALLNS_NR:
        _ns_prepare()
    gc.collect()
    gc.freeze()  # keep the zygote's objects out of the children's collections
    gc.disable()  # and its own pages untouched between forks (each child enables it)
    _send({"t": "ready"})
    child = _ready(_spawn(_recv_slot()))
    nxt = _spawn(_recv_slot())
    while True:
        child, nxt = _cell(child, nxt)


if _CLEAN:
    _serve_stateless()
else:
    _serve()

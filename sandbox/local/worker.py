# The Python side of a local sandbox: a persistent worker that runs cells
# sent by the Go host, like a Jupyter kernel.
#
# File descriptors (set up by the sandbox init before exec):
#   0 /dev/null, 1 stdout pipe, 2 stderr pipe (read directly by the host),
#   3 commands from the host, 4 events to the host (JSON lines).
# A command is a header line "<op> <nonce> <code bytes> <env bytes>\n"
# followed by the code (UTF-8) and the environment ("key\0value\0"...).
# Start-up time matters (it is most of a new sandbox's latency), so the
# worker avoids the json, ast and traceback modules until it needs them.
# After each cell the worker writes an end marker carrying the run's nonce to
# fds 1 and 2 before the "end" event, so the host knows it has read every byte
# the cell wrote, including output of os.system and subprocesses.
import sys, os

_settings = sys.argv[1].split()  # max_text, then NAME=value rlimits


def _limits():
    import resource
    for item in _settings[1:]:
        name, value = item.split("=")
        resource.setrlimit(getattr(resource, name), (int(value), int(value)))


_limits()  # before any user code can run; hard limits cannot be raised again

import _ast, _json, _signal as signal, builtins

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
    if len(s) > _MAX:
        return s[:_MAX] + "\n[truncated]"
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


def _finish(nonce):
    _flush()
    _repair_fds()
    mark = ("\x00\x01sandbox-end:" + nonce + "\x00").encode()
    _write_all(_OUT, mark)
    _write_all(_ERR, mark)
    _send({"t": "end", "nonce": nonce, "count": _count})


def _serve():
    global _ns, _count
    _send({"t": "ready"})
    while True:
        try:
            line = _CMD.readline()
            if not line:
                os._exit(0)
            op, nonce, ncode, nenv = line.decode().split()
            code = _CMD.read(int(ncode)).decode("utf-8", "replace")
            env = _CMD.read(int(nenv)).decode("utf-8", "replace").split("\0")
        except KeyboardInterrupt:
            continue
        if op == "run":
            saved = {}
            try:
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
            _finish(nonce)
        elif op == "reset":
            _ns = _new_namespace()
            _count = 0
            _finish(nonce)


_serve()

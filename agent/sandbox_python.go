package agent

import (
	"encoding/base64"
	"fmt"
)

// The sandbox contract has no file API yet, so read_file and write_file
// run Python cells in the session. The
// functions they call live in a module of their own, installed in
// sys.modules when the session starts, so that nothing is added to the
// namespace the model's code sees. Every value a cell passes is base64 in
// a string literal (no quote, backslash or newline can occur in it), so no
// path or content can change the program. A function returns a reply
// whose JSON representation (the _repr_json_ of IPython's display
// protocol, which both the local sandbox and E2B report) carries the
// answer.

// helperModule is the name of the module in the session's sys.modules.
const helperModule = "_primitives_agent"

const helperSource = `import base64 as _b64
import os as _os
import sys as _sys


class _Reply:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def _repr_json_(self):
        return self.value

    def __repr__(self):
        return "<reply>"


def read_file(path, limit):
    path = _b64.b64decode(path).decode("utf-8")
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError("%s holds more than %d bytes, the most read_file returns; read it in parts with run_code" % (path, limit))
    return _Reply({"path": _os.path.abspath(path), "size": len(data), "data": _b64.b64encode(data).decode("ascii")})


def write_file(path, data):
    path = _b64.b64decode(path).decode("utf-8")
    data = _b64.b64decode(data)
    parent = _os.path.dirname(path)
    if parent:
        _os.makedirs(parent, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return _Reply({"path": _os.path.abspath(path), "size": len(data)})
`

// installCell installs the helper module. (matplotlib's figures need
// nothing from it: both backends send the figures a cell shows or leaves
// open as PNG results, as a notebook does.)
var installCell = fmt.Sprintf(`def __primitives_agent_install():
    import base64, os, sys, types
    m = types.ModuleType(%q)
    exec(compile(base64.b64decode("%s").decode("utf-8"), "<%s>", "exec"), m.__dict__)
    sys.modules[%q] = m
try:
    __primitives_agent_install()
finally:
    del __primitives_agent_install
`, helperModule, base64.StdEncoding.EncodeToString([]byte(helperSource)), helperModule, helperModule)

// helperCall returns the cell calling the helper function fn with args
// (each already a Python literal).
func helperCall(fn string, args ...string) string {
	s := "__import__(" + fmt.Sprintf("%q", helperModule) + ")." + fn + "("
	for i, a := range args {
		if i > 0 {
			s += ", "
		}
		s += a
	}
	return s + ")"
}

// b64Literal returns b as a Python string literal of its base64.
func b64Literal(b []byte) string {
	return `"` + base64.StdEncoding.EncodeToString(b) + `"`
}

package local

// PipDisabledMessage is what pip prints, and exits 1 with, in a sandbox
// without the network (sandbox.WithPipInstall off): whichever way a cell
// runs it (subprocess, os.system, python -m pip, the pip script), instead
// of the host Python's PEP 668 refusal or a network timeout.
const PipDisabledMessage = "pip: package installs are off in this sandbox (it has no network). " +
	"Turn them on with sandbox.WithPipInstall(true) (enable_pip_install), which gives the sandbox the network, " +
	"or use an interpreter that has the package (local.WithInterpreter)."

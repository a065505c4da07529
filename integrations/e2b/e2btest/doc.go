// Package e2btest is a fake E2B server for tests: one httptest server that
// answers E2B's control plane (create, get, list, kill, set timeout,
// connect, pause) and the code interpreter of every sandbox (execute,
// contexts, health), routed by the E2b-Sandbox-Id and E2b-Sandbox-Port
// headers as E2B's proxy does when E2B_SANDBOX_URL is set. Point a client
// at it with [Server.ClientOptions] (or [Server.PrimitiveOptions]), or set E2B_API_URL and
// E2B_SANDBOX_URL to [Server.URL].
//
// It really runs the code: each code interpreter context is a sandbox of
// a sandbox.Provider, by default an isolated local Python sandbox
// (sandbox/local), so outputs, results, errors and state are real.
//
// It answers as E2B's own code-interpreter server does: str results
// without their quotes, json results that may be arrays, timestamps such
// as 2026-11-30T23:57:37.110371+00:00, a stream without Content-Type,
// keepalives only while a cell runs (not while it waits for the
// context's lock), default python and javascript contexts from start-up
// (javascript contexts run no code here), 500 text/plain "Failed to
// create context: ..." for a language without a kernel, a restart that
// resets the execution count and the working directory, synthetic error
// lines (ContextRestarting; WebSocketError then UnexpectedEndOfExecution)
// followed by end_of_execution when a kernel is lost, a SyntaxError for a
// per-run variable holding a quote, and an execution sent after a client
// went away mid-run that hangs with keepalives until the context is
// restarted. The control plane checks the API key; the
// code interpreter checks no access token but, as E2B's server does,
// loads the sandbox's environment variables only when it was given the
// right one (otherwise envd's 401 body becomes the environment).
//
// It validates requests like the service (API key, body fields, 422 for a
// missing code or a Content-Type that is not JSON, 400 for both
// context_id and language, 404 for an unknown context) and can inject the faults
// E2B users meet ([Server.Inject]): 429 with Retry-After, 401, 502 "port
// is not open", 5xx, HTML answers, a 201 without sandboxID, streams cut in
// the middle, streams of keepalives only, slow starts and malformed
// lines. [Server.Stats] counts creations, kills, executions and live
// sandboxes, so tests can check that nothing leaks.
package e2btest

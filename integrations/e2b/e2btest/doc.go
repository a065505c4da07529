// Package e2btest is a fake E2B server for tests: one httptest server that
// answers E2B's control plane (create, get, list, kill, set timeout,
// connect, pause) and the code interpreter of every sandbox (execute,
// contexts, health), routed by the E2b-Sandbox-Id and E2b-Sandbox-Port
// headers as E2B's proxy does when E2B_SANDBOX_URL is set. Point a client
// at it with [Server.ClientOptions], or set E2B_API_URL and
// E2B_SANDBOX_URL to [Server.URL].
//
// It really runs the code: each code interpreter context is a sandbox of
// a sandbox.Provider, by default an isolated local Python sandbox
// (sandbox/local), so outputs, results, errors and state are real.
//
// It validates requests like the service (API key, body fields, 422 for a
// missing code, 400 for both context_id and language, 404 for an unknown
// context, access tokens of secure sandboxes) and can inject the faults
// E2B users meet ([Server.Inject]): 429 with Retry-After, 401, 502 "port
// is not open", 5xx, HTML answers, a 201 without sandboxID, streams cut in
// the middle, streams of keepalives only, slow starts and malformed
// lines. [Server.Stats] counts creations, kills, executions and live
// sandboxes, so tests can check that nothing leaks.
package e2btest

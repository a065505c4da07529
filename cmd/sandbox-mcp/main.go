// Command sandbox-mcp is a Model Context Protocol server that runs Python
// for any MCP client (Claude Desktop, Claude Code, Cursor, ...) in an
// isolated sandbox: the local sandbox (Linux namespaces, seccomp, Landlock;
// no account, no network) or E2B's cloud microVMs when E2B_API_KEY is set.
//
// Install and register it:
//
//	go install github.com/ttadev/primitives/cmd/sandbox-mcp@latest
//	claude mcp add sandbox -- sandbox-mcp
//
// It speaks MCP over stdio by default (what desktop clients start); -http
// serves streamable HTTP instead, on loopback unless a bearer token is set
// in SANDBOX_MCP_TOKEN. Logs go to stderr, never stdout. Each MCP session
// gets its own sandbox whose state persists between calls. See
// docs/mcp.md for the tools, the flags and what is isolated.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/ttadev/primitives/internal/mcpserver"
	"github.com/ttadev/primitives/observability"
)

// version is reported to clients; set with -ldflags "-X main.version=...".
var version = "dev"

// envToken holds the bearer token of the HTTP transport. It is read from
// the environment only, so it never shows in a process listing.
const envToken = "SANDBOX_MCP_TOKEN"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("sandbox-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		backend     = fs.String("backend", "auto", "sandbox backend: auto (E2B when E2B_API_KEY is set, else local), local or e2b")
		httpAddr    = fs.String("http", "", "serve streamable HTTP on this address (e.g. 127.0.0.1:8931) instead of stdio")
		maxSessions = fs.Int("max-sessions", mcpserver.DefaultMaxSessions, "most MCP sessions holding a sandbox at once")
		idle        = fs.Duration("idle-timeout", mcpserver.DefaultIdleTimeout, "close a session's sandbox after this long without calls")
		timeout     = fs.Duration("timeout", mcpserver.DefaultCellTimeout, "time limit of a cell that sets none")
		maxTimeout  = fs.Duration("max-timeout", mcpserver.DefaultMaxCellTimeout, "largest time limit a cell may ask for")
		maxCode     = fs.Int("max-code-bytes", mcpserver.DefaultMaxCodeBytes, "largest cell source accepted, in bytes")
		maxFile     = fs.Int("max-file-bytes", mcpserver.DefaultMaxFileBytes, fmt.Sprintf("largest file written or read, in bytes (at most %d)", mcpserver.MaxFileBytesLimit))
		maxOutput   = fs.Int("max-output", mcpserver.DefaultMaxOutputChars, "characters of stdout, stderr, result and traceback returned per cell, each")
		metricsAddr = fs.String("metrics", "", "serve Prometheus metrics at /metrics on this loopback address (e.g. 127.0.0.1:9464)")
		logLevel    = fs.String("log-level", "info", "log level on stderr: debug, info, warn or error")
		showVersion = fs.Bool("version", false, "print the version and exit")
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sandbox-mcp [flags]\n\nAn MCP server running Python in an isolated sandbox, one per MCP session.\nStdio by default; -http ADDR for streamable HTTP (bearer token from %s).\n\nFlags:\n", envToken)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stderr, "sandbox-mcp", buildVersion())
		return 0
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "sandbox-mcp: -log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := checkLimits(*maxSessions, *idle, *timeout, *maxTimeout, *maxCode, *maxFile, *maxOutput); err != nil {
		fmt.Fprintf(stderr, "sandbox-mcp: %v\n", err)
		return 2
	}
	token := strings.TrimSpace(os.Getenv(envToken))
	if *httpAddr != "" {
		if err := mcpserver.CheckListenAddr(*httpAddr, token); err != nil {
			fmt.Fprintf(stderr, "sandbox-mcp: %v\n", err)
			return 2
		}
	}

	tel := []observability.Option{observability.WithLogger(logger)}
	if *metricsAddr != "" {
		mp, stopMetrics, err := serveMetrics(*metricsAddr, logger)
		if err != nil {
			fmt.Fprintf(stderr, "sandbox-mcp: -metrics: %v\n", err)
			return 2
		}
		defer stopMetrics()
		tel = append(tel, observability.WithMeterProvider(mp))
	}
	be, err := mcpserver.OpenBackend(*backend, tel...)
	if err != nil {
		logger.Error("no sandbox backend", "error", err)
		return 1
	}
	defer be.Close()
	logger.Info("sandbox backend", "backend", be.Name, "reason", be.Reason, "isolation", be.Isolation)

	opts := []mcpserver.Option{
		mcpserver.WithBackendInfo(be.Name, be.Isolation),
		mcpserver.WithMaxSessions(*maxSessions),
		mcpserver.WithIdleTimeout(*idle),
		mcpserver.WithCellTimeout(*timeout),
		mcpserver.WithMaxCellTimeout(*maxTimeout),
		mcpserver.WithMaxCodeBytes(*maxCode),
		mcpserver.WithMaxFileBytes(*maxFile),
		mcpserver.WithMaxOutputChars(*maxOutput),
	}
	for _, t := range tel {
		opts = append(opts, t)
	}
	srv := mcpserver.New(be.Provider, buildVersion(), opts...)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Close(cctx); err != nil {
			logger.Warn("closing sandboxes", "error", err)
		}
	}()

	if *httpAddr == "" {
		logger.Info("serving MCP on stdio")
		if err := srv.MCP().Run(ctx, &mcp.StdioTransport{}); err != nil && ctx.Err() == nil {
			logger.Error("stdio transport", "error", err)
			return 1
		}
		return 0
	}
	return serveHTTP(ctx, srv, *httpAddr, token, logger)
}

func serveHTTP(ctx context.Context, srv *mcpserver.Server, addr, token string, logger *slog.Logger) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Error("listen", "error", err)
		return 1
	}
	hs := &http.Server{Handler: srv.HTTPHandler(token), ReadHeaderTimeout: 10 * time.Second}
	logger.Info("serving MCP over streamable HTTP", "url", "http://"+ln.Addr().String()+"/", "bearer_token", token != "")
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		logger.Error("http server", "error", err)
		return 1
	case <-ctx.Done():
	}
	// Close the sandboxes and end the MCP sessions first: a client's open
	// event stream would otherwise hold Shutdown until its deadline.
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Close(cctx); err != nil {
		logger.Warn("closing sandboxes", "error", err)
	}
	// The sessions are over: what is left are event streams a client may
	// still hold open, which Shutdown would wait for. Give requests in
	// flight a moment, then close whatever remains.
	sctx, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
	}
	return 0
}

// serveMetrics exposes the server's metrics (tool calls, code executions,
// sessions) in Prometheus format on a loopback address.
func serveMetrics(addr string, logger *slog.Logger) (*sdkmetric.MeterProvider, func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	if !mcpserver.IsLoopback(host) {
		return nil, nil, fmt.Errorf("%q is not a loopback address", addr)
	}
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	logger.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return mp, func() {
		_ = hs.Close()
		_ = mp.Shutdown(context.Background())
	}, nil
}

// buildVersion is version, or the module version go install recorded.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}

// checkLimits turns the option constructors' panics into flag errors.
func checkLimits(sessions int, idle, timeout, maxTimeout time.Duration, code, file, output int) error {
	switch {
	case sessions < 1:
		return errors.New("-max-sessions must be >= 1")
	case idle <= 0:
		return errors.New("-idle-timeout must be > 0")
	case timeout <= 0:
		return errors.New("-timeout must be > 0")
	case maxTimeout < timeout:
		return errors.New("-max-timeout must be >= -timeout")
	case code < 1:
		return errors.New("-max-code-bytes must be >= 1")
	case file < 1 || file > mcpserver.MaxFileBytesLimit:
		return fmt.Errorf("-max-file-bytes must be between 1 and %d", mcpserver.MaxFileBytesLimit)
	case output < 1:
		return errors.New("-max-output must be >= 1")
	}
	return nil
}

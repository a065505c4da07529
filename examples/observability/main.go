// Command observability shows what the module reports: spans printed to
// stdout (OpenTelemetry's stdout exporter) and metrics on a Prometheus
// scrape endpoint on loopback, with TTA.dev's metric names
// (code_execution_requests_total, code_execution_success_total,
// code_execution_error_total, code_execution_duration_seconds) and the
// refinement loop's (refinement_runs_total, refinement_attempts).
//
//	go run ./examples/observability              # run, print the spans and one scrape, exit
//	go run ./examples/observability -serve       # then keep serving http://127.0.0.1:9464/metrics until Ctrl-C
//
// The workload runs offline on the local sandbox: three code executions
// (a success, a Python exception, a timeout) and a refinement loop whose
// generator is a STAND-IN (fixed code: first wrong, then right), so its
// spans show the loop, one span per attempt, and the executions under
// them.
//
// With a chat model configured (ANTHROPIC_API_KEY, OPENAI_API_KEY, or
// OPENAI_BASE_URL with REFINE_MODEL, as for examples/refine) it also runs
// the loop on that model, and the scrape shows the GenAI metrics
// (gen_ai_client_token_usage, gen_ai_client_operation_duration_seconds)
// and the spans a "chat {model}" span per call.
package main

import (
	"bufio"
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
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/refine/llmgen"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9464", "loopback address of the Prometheus scrape endpoint")
	serve := flag.Bool("serve", false, "keep serving the scrape endpoint until interrupted")
	pretty := flag.Bool("pretty", false, "indent the spans printed to stdout")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *addr, *pretty, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "observability:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, addr string, pretty, serve bool) error {
	t, err := start(w, addr, pretty)
	if err != nil {
		return err
	}
	defer t.Close()
	model, desc, err := modelFromEnv(t.Option())
	if err != nil {
		return err
	}
	if model == nil {
		desc = "none configured (set ANTHROPIC_API_KEY, OPENAI_API_KEY, or OPENAI_BASE_URL and REFINE_MODEL to add a model's gen_ai_* metrics and chat spans)"
	}
	fmt.Fprintf(w, "scrape endpoint: %s\nchat model: %s\n\nspans:\n", t.URL, desc)
	if err := workload(ctx, t.Option(), model); err != nil {
		return err
	}
	text, err := scrape(ctx, t.URL)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nscrape of %s (code_execution_*, refinement_*, gen_ai_*; histogram buckets left out):\n%s", t.URL, text)
	if serve {
		fmt.Fprintf(w, "\nserving %s until interrupted\n", t.URL)
		<-ctx.Done()
	}
	return nil
}

// telemetry is the SDK side: a tracer provider printing spans, a meter
// provider read by the Prometheus exporter, and the scrape server.
type telemetry struct {
	URL string
	tp  *sdktrace.TracerProvider
	mp  *sdkmetric.MeterProvider
	srv *http.Server
}

// start installs nothing globally: the providers are handed to the
// primitives with observability.WithProviders.
func start(w io.Writer, addr string, pretty bool) (*telemetry, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("address %s is not on loopback", addr)
	}
	opts := []stdouttrace.Option{stdouttrace.WithWriter(w)}
	if pretty {
		opts = append(opts, stdouttrace.WithPrettyPrint())
	}
	spans, err := stdouttrace.New(opts...)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t := &telemetry{
		URL: "http://" + ln.Addr().String() + "/metrics",
		// Synchronous, so each span is printed when it ends.
		tp:  sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans)),
		mp:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
	}
	go t.srv.Serve(ln)
	return t, nil
}

// Option hands the providers to a primitive.
func (t *telemetry) Option() observability.Option {
	return observability.WithProviders(observability.Providers{
		TracerProvider: t.tp, MeterProvider: t.mp, Logger: slog.New(slog.DiscardHandler),
	})
}

// Close stops the server and flushes the providers.
func (t *telemetry) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(t.srv.Shutdown(ctx), t.tp.Shutdown(ctx), t.mp.Shutdown(ctx))
}

// modelFromEnv returns the chat model the environment selects, as
// examples/refine does, or nil when none is configured.
func modelFromEnv(tel observability.Option) (llm.Provider, string, error) {
	model := os.Getenv("REFINE_MODEL")
	switch {
	case os.Getenv(llm.EnvAnthropicAPIKey) != "":
		if model == "" {
			model = "claude-sonnet-4-5"
		}
		p, err := llm.NewAnthropic(llm.WithModel(model), tel)
		return p, "Anthropic, model " + model, err
	case os.Getenv(llm.EnvOpenAIBaseURL) != "":
		if model == "" {
			return nil, "", fmt.Errorf("%s is set but REFINE_MODEL is not: set it to a model that server serves", llm.EnvOpenAIBaseURL)
		}
		p, err := llm.NewOpenAI(llm.WithModel(model), tel)
		return p, "OpenAI-compatible server at " + os.Getenv(llm.EnvOpenAIBaseURL) + ", model " + model, err
	case os.Getenv(llm.EnvOpenAIAPIKey) != "":
		if model == "" {
			model = "gpt-4.1-mini"
		}
		p, err := llm.NewOpenAI(llm.WithModel(model), tel)
		return p, "OpenAI, model " + model, err
	}
	return nil, "", nil
}

// workload runs code executions and refinement loops with telemetry: one
// on the stand-in generator, and one on model when it is not nil.
func workload(ctx context.Context, tel observability.Option, model llm.Provider) error {
	provider, err := local.New(tel)
	if err != nil {
		return err
	}
	defer provider.Close()
	exec := sandbox.NewCodeExecution(provider, sandbox.WithTimeout(10*time.Second), tel)
	defer exec.Close(context.Background())

	ctx = p.WithWorkflow(ctx, p.NewWorkflowContext(p.CorrelationID("observability-demo")))
	for _, in := range []sandbox.CodeInput{
		{Code: "print(sum(range(10)))"},
		{Code: "raise ValueError('bad input')"},
		{Code: "while True:\n    pass", Timeout: 200 * time.Millisecond},
	} {
		// A Python exception is a result; a timeout is an error: both are
		// counted in code_execution_error_total with their error.type.
		if _, err := exec.Execute(ctx, in); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}

	// STAND-IN generator: fixed code, wrong first, then right.
	gen := p.Func[refine.Request, refine.Generation](func(_ context.Context, req refine.Request) (refine.Generation, error) {
		if req.Attempt == 1 {
			return refine.Generation{Code: "print(undefined_total)"}, nil
		}
		return refine.Generation{Code: "total = 6 * 7\nprint(total)"}, nil
	})
	if _, err := refine.New(gen, exec, tel).Execute(ctx, "print 42"); err != nil {
		return err
	}
	if model == nil {
		return nil
	}
	_, err = refine.New(llmgen.New(model), exec, tel).Execute(ctx,
		"Print the first ten square numbers, one per line.")
	return err
}

// scrape fetches the endpoint and keeps the code_execution_*,
// refinement_* and gen_ai_* lines, less the histograms' buckets.
func scrape(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("scrape: %s", resp.Status)
	}
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		name := strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE ")
		if (strings.HasPrefix(name, "code_execution_") || strings.HasPrefix(name, "refinement_") || strings.HasPrefix(name, "gen_ai_")) &&
			!strings.Contains(name, "_bucket{") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String(), sc.Err()
}

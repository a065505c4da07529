package primitives_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewWorkflowContextDefaults(t *testing.T) {
	a, b := p.NewWorkflowContext(), p.NewWorkflowContext()
	if !uuidV4.MatchString(a.CorrelationID()) || a.CorrelationID() == b.CorrelationID() {
		t.Fatalf("correlation ids %q %q: want distinct random UUIDs", a.CorrelationID(), b.CorrelationID())
	}
	c := p.NewWorkflowContext(p.CorrelationID("exec-123"), p.WorkflowID("w"), p.SessionID("s"),
		p.CausationID("cause"), p.Metadata(map[string]string{"team": "x"}), p.InitialState(map[string]any{"n": 1}))
	if c.CorrelationID() != "exec-123" || c.WorkflowID() != "w" || c.SessionID() != "s" || c.CausationID() != "cause" {
		t.Fatal("ids not kept")
	}
	if v, ok := c.Metadata("team"); !ok || v != "x" {
		t.Fatal("metadata lost")
	}
	if v, _ := c.Get("n"); v != 1 {
		t.Fatal("initial state lost")
	}
}

func TestWorkflowContextRoundTripsThroughContext(t *testing.T) {
	if p.WorkflowFrom(context.Background()) != nil {
		t.Fatal("empty context returned a workflow")
	}
	wf := p.NewWorkflowContext()
	ctx := p.WithWorkflow(context.Background(), wf)
	if p.WorkflowFrom(ctx) != wf || observability.CorrelationID(ctx) != wf.CorrelationID() {
		t.Fatal("workflow not carried")
	}
	ctx2, got := p.EnsureWorkflow(ctx)
	if got != wf || ctx2 != ctx {
		t.Fatal("EnsureWorkflow replaced an existing workflow")
	}
	_, fresh := p.EnsureWorkflow(context.Background())
	if fresh == nil {
		t.Fatal("EnsureWorkflow did not install one")
	}
}

func TestWorkflowStateIsConcurrencySafe(t *testing.T) {
	wf := p.NewWorkflowContext()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				wf.Update("count", func(old any, _ bool) any { n, _ := old.(int); return n + 1 })
				wf.State()
				wf.Checkpoint("tick")
			}
		}()
	}
	wg.Wait()
	if v, _ := wf.Get("count"); v != 5000 {
		t.Fatalf("count = %v, want 5000", v)
	}
	cps := wf.Checkpoints()
	if len(cps) != 5000 || cps[0].Name != "tick" || cps[len(cps)-1].Elapsed < cps[0].Elapsed {
		t.Fatalf("checkpoints wrong: %d", len(cps))
	}
	wf.Delete("count")
	if _, ok := wf.Get("count"); ok {
		t.Fatal("Delete did not delete")
	}
}

func TestChildContext(t *testing.T) {
	parent := p.NewWorkflowContext(p.CorrelationID("root"), p.Metadata(map[string]string{"k": "v"}),
		p.Baggage(map[string]string{"tenant": "acme"}))
	parent.Set("a", 1)
	child := parent.Child()
	if child.CorrelationID() != "root" || child.CausationID() != "" {
		t.Fatalf("child ids %q %q", child.CorrelationID(), child.CausationID())
	}
	if v, _ := child.Metadata("k"); v != "v" || child.Baggage()["tenant"] != "acme" {
		t.Fatal("child lost metadata or baggage")
	}
	child.Set("a", 2)
	if v, _ := parent.Get("a"); v != 1 {
		t.Fatal("child state leaked into parent")
	}
}

func TestBaggagePropagatesAsOTelBaggage(t *testing.T) {
	wf := p.NewWorkflowContext(p.Baggage(map[string]string{"tenant": "acme", "bad key": "x"}))
	ctx := p.WithWorkflow(context.Background(), wf)
	bag := baggage.FromContext(ctx)
	if bag.Member("tenant").Value() != "acme" {
		t.Fatalf("OTel baggage = %v", bag)
	}
	carrier := propagation.MapCarrier{}
	propagation.Baggage{}.Inject(ctx, carrier)
	if got := carrier.Get("baggage"); got != "tenant=acme" {
		t.Fatalf("baggage header %q, want only the valid entry", got)
	}
}

func TestLogHandlerAddsCorrelationID(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(observability.NewLogHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := p.WithWorkflow(context.Background(), p.NewWorkflowContext(p.CorrelationID("exec-123"), p.WorkflowID("wf-1")))
	logger.InfoContext(ctx, "hello")
	logger.InfoContext(ctx, "explicit", "correlation_id", "mine")
	logger.Info("no context")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	var rec map[string]any
	_ = json.Unmarshal(lines[0], &rec)
	if rec["correlation_id"] != "exec-123" || rec["workflow_id"] != "wf-1" {
		t.Fatalf("record %v", rec)
	}
	if bytes.Count(lines[1], []byte("correlation_id")) != 1 {
		t.Fatalf("duplicate correlation id: %s", lines[1])
	}
	if bytes.Contains(lines[2], []byte("correlation_id")) {
		t.Fatalf("record without workflow got an id: %s", lines[2])
	}

	buf.Reset()
	observability.Log(ctx, slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelInfo, "direct", slog.Int("n", 1))
	_ = json.Unmarshal(buf.Bytes(), &rec)
	if rec["correlation_id"] != "exec-123" || rec["n"] != float64(1) {
		t.Fatalf("observability.Log record %v", rec)
	}
}

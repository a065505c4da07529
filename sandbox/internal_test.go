package sandbox

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// deafProvider's sandboxes ignore RunOptions.Timeout and block until their
// context ends: a backend that fails to enforce the timeout.
type deafProvider struct{}

func (deafProvider) Name() string { return "deaf" }
func (deafProvider) Create(context.Context, CreateOptions) (Sandbox, error) {
	return deafSandbox{}, nil
}

type deafSandbox struct{}

func (deafSandbox) ID() string { return "deaf-1" }
func (deafSandbox) Run(ctx context.Context, _ string, _ RunOptions) (*Execution, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (deafSandbox) Reset(context.Context) error { return nil }
func (deafSandbox) Close(context.Context) error { return nil }

func TestBackstopTurnsAHangIntoATimeout(t *testing.T) {
	old := backstopGrace
	backstopGrace = 10 * time.Millisecond
	defer func() { backstopGrace = old }()

	ce := NewCodeExecution(deafProvider{}, WithTimeout(10*time.Millisecond), observability.WithLogger(discard))
	defer ce.Close(context.Background())
	_, err := ce.Execute(context.Background(), CodeInput{Code: "x"})
	var te *recovery.TimeoutError
	if !errors.As(err, &te) || te.After != 10*time.Millisecond || !errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("err = %v, want a *recovery.TimeoutError after 10ms", err)
	}

	// The caller's own cancellation is not reported as a timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	ce2 := NewCodeExecution(deafProvider{}, WithTimeout(time.Hour), observability.WithLogger(discard))
	defer ce2.Close(context.Background())
	_, err = ce2.Execute(ctx, CodeInput{Code: "x"})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("caller deadline: %v", err)
	}
	if got := classify(ctx, err); got != "canceled" {
		t.Fatalf("classified as %s", got)
	}
}

func TestBoundedText(t *testing.T) {
	cases := []struct {
		max     int
		parts   []string
		want    string
		omitted int
	}{
		{5, nil, "", 0},
		{5, []string{"abc"}, "abc", 0},
		{5, []string{"abc", "de"}, "abcde", 0},
		{5, []string{"abc", "def"}, "abcde", 1},
		{5, []string{"abcde", "", "xyz"}, "abcde", 3},
		{3, []string{"\xff\xfeab"}, "\xff\xfea", 1}, // invalid bytes count as one character each
		{2, []string{"日本語"}, "日本", 1},
	}
	for _, c := range cases {
		b := newBoundedText(c.max)
		for _, p := range c.parts {
			b.add(p)
		}
		want := c.want
		if c.omitted > 0 {
			want += truncationMarker + string(rune('0'+c.omitted)) + " characters omitted by the primitive (limit " +
				string(rune('0'+c.max)) + " characters)]"
		}
		if got := b.String(); got != want || b.truncated() != (c.omitted > 0) {
			t.Errorf("max %d parts %q: %q, want %q", c.max, c.parts, got, want)
		}
	}
	// A single part that fits is returned without copying.
	s := strings.Repeat("x", 100)
	b := newBoundedText(1000)
	b.add(s)
	if got := b.String(); got != s || b.parts != 1 {
		t.Fatalf("single part: %d parts", b.parts)
	}
}

func TestInstrumentsCreatedOncePerMeter(t *testing.T) {
	m := sdkmetric.NewMeterProvider().Meter("x")
	if codeInstrumentCache.For(m) != codeInstrumentCache.For(m) {
		t.Fatal("instruments were created again for the same meter")
	}
	other := sdkmetric.NewMeterProvider().Meter("x")
	if codeInstrumentCache.For(m) == codeInstrumentCache.For(other) {
		t.Fatal("two meter providers share instruments")
	}
}

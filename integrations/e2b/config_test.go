package e2b_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

// fakeKey is a well-formed key that only the test servers accept.
const fakeKey = "e2b_5ec2e7c0ffee5ec2e7c0ffee5ec2e7c0ffee1234"

func TestMissingKeyIsAnErrorAtConstruction(t *testing.T) {
	t.Setenv(e2b.EnvAPIKey, "")
	_, err := e2b.NewClient()
	var ae *e2b.AuthenticationError
	if !errors.As(err, &ae) || ae.Status != 0 || !strings.Contains(err.Error(), "E2B_API_KEY") {
		t.Fatalf("err = %v", err)
	}
	if recovery.IsRetryable(err) {
		t.Fatal("a missing key must not be retryable")
	}
}

func TestMalformedKeyIsRefusedBeforeAnythingIsSent(t *testing.T) {
	srv := newFake(t)
	for _, key := range []string{"sk-123", "e2b_XYZ", "e2b_", "E2B_abc", "e2b_abc\n"} {
		_, err := e2b.NewClient(append(srv.ClientOptions(), e2b.WithAPIKey(key))...)
		if !errors.Is(err, e2b.ErrAuthentication) {
			t.Errorf("key %q: err = %v", key, err)
		}
		if key != "e2b_" && strings.Contains(err.Error(), key) {
			t.Errorf("the error shows the key: %v", err)
		}
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	// Validation can be turned off for self-hosted keys.
	if _, err := e2b.NewClient(e2b.WithAPIKey("custom-key"), e2b.WithoutAPIKeyValidation()); err != nil {
		t.Fatal(err)
	}
}

func TestEnvironmentConfiguresTheClient(t *testing.T) {
	srv := newFake(t)
	t.Setenv(e2b.EnvAPIKey, srv.APIKey())
	t.Setenv(e2b.EnvAPIURL, srv.URL())
	t.Setenv(e2b.EnvSandboxURL, srv.URL())
	t.Setenv(e2b.EnvDomain, "example.test")
	c, err := e2b.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	if c.Domain() != "example.test" || c.APIURL() != srv.URL() {
		t.Fatalf("domain %s api %s", c.Domain(), c.APIURL())
	}
	sb := createSandbox(t, c)
	ex, err := sb.Execute(ctxTimeout(t, 20*time.Second), "print('from env')", e2b.ExecuteOptions{})
	if err != nil || ex.StdoutText() != "from env\n" {
		t.Fatalf("%v %+v", err, ex)
	}
	// Options win over the environment.
	c2, err := e2b.NewClient(e2b.WithDomain("other.test"))
	if err != nil || c2.Domain() != "other.test" || c2.APIURL() != srv.URL() {
		t.Fatalf("%v %s %s", err, c2.Domain(), c2.APIURL())
	}
}

func TestDefaultsFollowTheSDK(t *testing.T) {
	t.Setenv(e2b.EnvAPIKey, fakeKey)
	t.Setenv(e2b.EnvAPIURL, "")
	t.Setenv(e2b.EnvDomain, "")
	c, err := e2b.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	if c.Domain() != "e2b.app" || c.APIURL() != "https://api.e2b.app" {
		t.Fatalf("%s %s", c.Domain(), c.APIURL())
	}
}

func TestDebugModeNeedsNoKeyAndSendsNoControlPlaneCall(t *testing.T) {
	t.Setenv(e2b.EnvAPIKey, "")
	t.Setenv(e2b.EnvDebug, "true")
	c, err := e2b.NewClient(e2b.WithAPIURL("http://127.0.0.1:1")) // nothing listens there
	if err != nil || !c.Debug() {
		t.Fatal(err)
	}
	sb, err := c.CreateSandbox(context.Background(), e2b.CreateParams{})
	if err != nil || sb.ID == "" {
		t.Fatal(err)
	}
	if ok, err := sb.Kill(context.Background()); !ok || err != nil {
		t.Fatal(ok, err)
	}
}

// TestKeyNeverShows runs a client with a known key through success and
// failure paths (a refused key, a 5xx, an HTML page, an interrupted
// stream) and checks that the key appears in no error, no log record, no
// span attribute or event, and no formatting of the client.
func TestKeyNeverShows(t *testing.T) {
	srv := newFake(t, e2btest.WithAPIKey(fakeKey))
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rec, tp := newRecorder()
	c := newClient(t, srv, e2b.WithAPIKey(fakeKey), observability.WithLogger(logger),
		observability.WithProviders(telemetryWith(tp, logger)))
	ctx := ctxTimeout(t, 30*time.Second)

	var texts []string
	texts = append(texts, c.String(), fmt.Sprintf("%v %+v %#v %s %v %+v", c, c, c, c, *c, *c))
	logger.Info("client", "client", c)

	sb := createSandbox(t, c)
	texts = append(texts, fmt.Sprintf("%v %+v %#v %+v", sb, sb, *sb, *sb))
	for _, s := range texts[len(texts)-1:] {
		if strings.Contains(s, "0x") && strings.Contains(s, "envdAccessToken") {
			t.Fatalf("the sandbox prints its fields: %s", s)
		}
	}
	for _, f := range []e2btest.Fault{
		{Kind: e2btest.Status, Op: e2btest.OpExecute, Status: 503},
		{Kind: e2btest.HTML, Op: e2btest.OpExecute},
		{Kind: e2btest.CutStream, Op: e2btest.OpExecute, AfterLines: 1},
		{Kind: e2btest.Unauthorized, Op: e2btest.OpCreate},
	} {
		srv.Inject(f)
		var err error
		if f.Op == e2btest.OpCreate {
			_, err = c.CreateSandbox(ctx, e2b.CreateParams{})
		} else {
			_, err = sb.Execute(ctx, "print(1)", e2b.ExecuteOptions{})
		}
		if err == nil {
			t.Fatalf("fault %v: no error", f.Kind)
		}
		texts = append(texts, err.Error(), fmt.Sprintf("%+v %#v", err, err))
	}
	// A client whose key the service refuses.
	bad := newClient(t, srv, e2b.WithAPIKey("e2b_00000000000000000000000000000000000000ba"))
	_, err := bad.CreateSandbox(ctx, e2b.CreateParams{})
	if !errors.Is(err, e2b.ErrAuthentication) {
		t.Fatalf("err = %v", err)
	}
	texts = append(texts, err.Error())

	texts = append(texts, logs.String())
	for _, s := range rec.Ended() {
		texts = append(texts, s.Name(), s.Status().Description)
		for _, a := range s.Attributes() {
			texts = append(texts, a.Value.Emit())
		}
		for _, e := range s.Events() {
			for _, a := range e.Attributes {
				texts = append(texts, a.Value.Emit())
			}
		}
	}
	if len(rec.Ended()) == 0 || !strings.Contains(logs.String(), "redacted") {
		t.Fatalf("nothing was recorded: %d spans, logs %q", len(rec.Ended()), logs.String())
	}
	for _, s := range texts {
		if strings.Contains(s, fakeKey) || strings.Contains(s, fakeKey[4:]) {
			t.Fatalf("the API key leaked into %q", s)
		}
	}
}

func TestInvalidOptionValuesPanic(t *testing.T) {
	mustPanic(t, "e2b: WithTimeout", func() { e2b.WithTimeout(-time.Second) })
	mustPanic(t, "e2b: WithTimeout", func() { e2b.WithTimeout(0) })
	mustPanic(t, "e2b: WithSandboxLifetime", func() { e2b.WithSandboxLifetime(-1) })
	mustPanic(t, "e2b: WithRequestTimeout", func() { e2b.WithRequestTimeout(-1) })
	mustPanic(t, "e2b: WithStartupWindow", func() { e2b.WithStartupWindow(-1) })
	mustPanic(t, "e2b: WithHTTPClient", func() { e2b.WithHTTPClient(nil) })
	mustPanic(t, "e2b: WithMaxLineSize", func() { e2b.WithMaxLineSize(10) })
	mustPanic(t, "e2b: WithMaxOutputSize", func() { e2b.WithMaxOutputSize(0) })
	mustPanic(t, "e2b: WithTemplate", func() { e2b.WithTemplate("") })
	mustPanic(t, "e2b: NewClient: option 0 is nil", func() { _, _ = e2b.NewClient(nil) })
}

// A redirect from the API URL must not carry the key (or a sandbox's
// access token) to another host: the service sends none, and Go's client
// forwards custom headers such as X-API-Key on redirect. A 3xx is an
// error, as any status >= 300 is for E2B's SDKs.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var leaked atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "" || r.Header.Get("X-Access-Token") != "" {
			leaked.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer elsewhere.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	for _, opts := range [][]e2b.ClientOption{
		{e2b.WithAPIKey(fakeKey), e2b.WithAPIURL(api.URL)},
		{e2b.WithAPIKey(fakeKey), e2b.WithAPIURL(api.URL), e2b.WithHTTPClient(&http.Client{})},
	} {
		c, err := e2b.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		killed, err := c.Kill(ctxTimeout(t, 10*time.Second), "sandboxid")
		if err == nil || killed {
			t.Fatalf("a redirect was taken for success: killed=%v err=%v", killed, err)
		}
		if strings.Contains(err.Error(), fakeKey) {
			t.Fatalf("key in %q", err)
		}
	}
	if n := leaked.Load(); n != 0 {
		t.Fatalf("the key was sent to another host %d times", n)
	}
}

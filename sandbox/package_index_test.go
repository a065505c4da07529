package sandbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

// WithPackageIndex reaches every sandbox's environment, whatever the
// order of the options, keeps the other variables, and marks an http
// index as trusted (not an https one).
func TestWithPackageIndexSetsPipEnvironment(t *testing.T) {
	for name, tc := range map[string]struct {
		opts    []sandbox.CodeOption
		trusted string
	}{
		"http before WithCreateOptions": {[]sandbox.CodeOption{
			sandbox.WithPackageIndex("http://127.0.0.1:8123/simple/"),
			sandbox.WithCreateOptions(sandbox.CreateOptions{Env: map[string]string{"A": "1"}}),
		}, "127.0.0.1:8123"},
		"https after WithCreateOptions": {[]sandbox.CodeOption{
			sandbox.WithCreateOptions(sandbox.CreateOptions{Env: map[string]string{"A": "1"}}),
			sandbox.WithPackageIndex("https://pypi.example.com/simple/"),
		}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			prov := sandboxtest.New(script(nil))
			ce := newExec(t, prov, tc.opts...)
			if _, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "print:x"}); err != nil {
				t.Fatal(err)
			}
			env := prov.Sandboxes()[0].Options().Env
			if env["A"] != "1" || !strings.HasSuffix(env["PIP_INDEX_URL"], "/simple/") || env["PIP_TRUSTED_HOST"] != tc.trusted {
				t.Fatalf("sandbox environment %v; want A=1, PIP_INDEX_URL set, PIP_TRUSTED_HOST=%q", env, tc.trusted)
			}
			if _, set := env["PIP_TRUSTED_HOST"]; tc.trusted == "" && set {
				t.Fatalf("an https index is marked trusted: %v", env)
			}
		})
	}
	for _, bad := range []string{"", "pypi.org/simple", "ftp://x/simple", "http:///simple"} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "sandbox: WithPackageIndex") {
					t.Errorf("WithPackageIndex(%q): recovered %v, want a panic", bad, r)
				}
			}()
			sandbox.WithPackageIndex(bad)
		}()
	}
}

package llm

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// keyPolicyCase is one provider under the key policy test: how to build
// it from options, its variables and a reply its server sends.
type keyPolicyCase struct {
	name           string
	envKey, envURL string
	body           string
	build          func(opts ...Option) (Provider, error)
}

var keyPolicyProviders = []keyPolicyCase{
	{"anthropic", EnvAnthropicAPIKey, EnvAnthropicBaseURL, anthropicMessageBody, func(opts ...Option) (Provider, error) {
		o := make([]AnthropicOption, len(opts))
		for i := range opts {
			o[i] = opts[i]
		}
		return NewAnthropic(o...)
	}},
	{"openai", EnvOpenAIAPIKey, EnvOpenAIBaseURL, openAICompletionBody, func(opts ...Option) (Provider, error) {
		o := make([]OpenAIOption, len(opts))
		for i := range opts {
			o[i] = opts[i]
		}
		return NewOpenAI(o...)
	}},
}

// TestEnvironmentKeyPolicy checks that both providers follow one policy:
// a key from the environment goes to the default URL or to the URL from
// the same environment, never to a URL given in code; an explicit key
// goes wherever the code says; without a key the default URL is a
// configuration error and another server gets no key.
func TestEnvironmentKeyPolicy(t *testing.T) {
	const envSecret = "sk-from-the-environment-0123456789"
	for _, pc := range keyPolicyProviders {
		t.Run(pc.name, func(t *testing.T) {
			srv := newFakeServer(t, reply{body: pc.body})
			call := func(t *testing.T, opts ...Option) recorded {
				t.Helper()
				p, err := pc.build(append([]Option{WithModel("m")}, opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.Execute(context.Background(), userRequest("x")); err != nil {
					t.Fatal(err)
				}
				return srv.last(t)
			}
			noKey := func(t *testing.T, r recorded) {
				t.Helper()
				for name, vs := range r.header {
					for _, v := range vs {
						if strings.Contains(v, envSecret) {
							t.Fatalf("the environment's key was sent in %s", name)
						}
					}
				}
				if a, k := r.header.Get("Authorization"), r.header.Get("X-Api-Key"); a != "" || k != "" {
					t.Fatalf("Authorization = %q, X-Api-Key = %q; want neither", a, k)
				}
			}

			t.Run("environment key and URL", func(t *testing.T) {
				blankEnv(t)
				t.Setenv(pc.envKey, envSecret)
				t.Setenv(pc.envURL, srv.URL)
				if got := call(t).header.Get("Authorization"); got != "Bearer "+envSecret {
					t.Fatalf("Authorization = %q, want the environment's key", got)
				}
			})
			t.Run("environment key, URL in code", func(t *testing.T) {
				blankEnv(t)
				t.Setenv(pc.envKey, envSecret)
				noKey(t, call(t, WithBaseURL(srv.URL)))
			})
			t.Run("environment key and URL, another URL in code", func(t *testing.T) {
				blankEnv(t)
				t.Setenv(pc.envKey, envSecret)
				t.Setenv(pc.envURL, "http://127.0.0.1:1/")
				noKey(t, call(t, WithBaseURL(srv.URL)))
			})
			t.Run("key and URL in code", func(t *testing.T) {
				blankEnv(t)
				t.Setenv(pc.envKey, envSecret)
				if got := call(t, WithBaseURL(srv.URL), WithAPIKey("sk-given-in-code")).header.Get("Authorization"); got != "Bearer sk-given-in-code" {
					t.Fatalf("Authorization = %q, want the key given in code", got)
				}
			})
			t.Run("no key, URL from the environment", func(t *testing.T) {
				blankEnv(t)
				t.Setenv(pc.envURL, srv.URL)
				noKey(t, call(t))
			})
			t.Run("no key, default URL", func(t *testing.T) {
				blankEnv(t)
				_, err := pc.build(WithModel("m"))
				var ce *ConfigError
				if !errors.As(err, &ce) || !errors.Is(err, ErrNoAPIKey) {
					t.Fatalf("err = %v, want a *ConfigError matching ErrNoAPIKey", err)
				}
				if !strings.Contains(err.Error(), pc.envKey) || !strings.Contains(err.Error(), pc.envURL) {
					t.Fatalf("the error does not name %s and %s: %v", pc.envKey, pc.envURL, err)
				}
			})
			t.Run("environment key, default URL", func(t *testing.T) {
				blankEnv(t)
				t.Setenv(pc.envKey, envSecret)
				p, err := pc.build(WithModel("m"))
				if err != nil {
					t.Fatal(err)
				}
				if s := p.(interface{ String() string }).String(); !strings.Contains(s, "api_key: set") {
					t.Fatalf("provider = %s, want the environment's key set", s)
				}
			})
		})
	}
}

package httpretry

import (
	"net/http"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	now := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		h    map[string]string
		want time.Duration
	}{
		{"none", nil, 0},
		{"seconds", map[string]string{"Retry-After": "30"}, 30 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{"spaces", map[string]string{"Retry-After": "  7 "}, 7 * time.Second},
		{"zero", map[string]string{"Retry-After": "0"}, 0},
		{"negative", map[string]string{"Retry-After": "-4"}, 0},
		{"plus sign", map[string]string{"Retry-After": "+4"}, 0},
		{"exponent", map[string]string{"Retry-After": "1e3"}, 0},
		{"hex float", map[string]string{"Retry-After": "0x1p4"}, 0},
		{"NaN", map[string]string{"Retry-After": "NaN"}, 0},
		{"Inf", map[string]string{"Retry-After": "Inf"}, 0},
		{"trailing dot", map[string]string{"Retry-After": "5."}, 0},
		{"leading dot", map[string]string{"Retry-After": ".5"}, 0},
		{"two dots", map[string]string{"Retry-After": "1.2.3"}, 0},
		{"word", map[string]string{"Retry-After": "soon"}, 0},
		{"empty", map[string]string{"Retry-After": ""}, 0},
		{"date ahead", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"date now", map[string]string{"Retry-After": now.Format(http.TimeFormat)}, 0},
		{"date past", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"RFC 850 date", map[string]string{"Retry-After": now.Add(time.Hour).Format("Monday, 02-Jan-06 15:04:05 GMT")}, time.Hour},
		{"asctime date", map[string]string{"Retry-After": now.Add(2 * time.Minute).Format(time.ANSIC)}, 2 * time.Minute},
		{"date far ahead", map[string]string{"Retry-After": now.Add(30 * 24 * time.Hour).Format(http.TimeFormat)}, MaxDelay},
		{"seconds at the cap", map[string]string{"Retry-After": "86400"}, MaxDelay},
		{"seconds over the cap", map[string]string{"Retry-After": "86401"}, MaxDelay},
		{"seconds far over the cap", map[string]string{"Retry-After": "99999999999999999999999999"}, MaxDelay},
		{"ms", map[string]string{"Retry-After-Ms": "120"}, 120 * time.Millisecond},
		{"fractional ms", map[string]string{"Retry-After-Ms": "1.5"}, 1500 * time.Microsecond},
		{"ms wins", map[string]string{"Retry-After-Ms": "120", "Retry-After": "9"}, 120 * time.Millisecond},
		{"bad ms, seconds", map[string]string{"Retry-After-Ms": "junk", "Retry-After": "9"}, 9 * time.Second},
		{"zero ms, seconds", map[string]string{"Retry-After-Ms": "0", "Retry-After": "9"}, 9 * time.Second},
		{"negative ms, seconds", map[string]string{"Retry-After-Ms": "-5", "Retry-After": "9"}, 9 * time.Second},
		{"ms over the cap", map[string]string{"Retry-After-Ms": "1000000000000"}, MaxDelay},
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.h {
			h.Set(k, v)
		}
		if got := Delay(h, now); got != c.want {
			t.Errorf("%s: %v: %v, want %v", c.name, c.h, got, c.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	for status, want := range map[int]bool{
		200: false, 301: false, 400: false, 401: false, 403: false, 404: false, 413: false, 422: false,
		408: true, 409: true, 429: true,
		500: true, 502: true, 503: true, 504: true, 529: true, 599: true,
		600: false, 0: false,
	} {
		if got := Retryable(status); got != want {
			t.Errorf("Retryable(%d) = %v, want %v", status, got, want)
		}
	}
}

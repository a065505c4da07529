// Package httpretry reads what an HTTP answer says about sending the
// request again: the delay the server asked for ([Delay]) and whether its
// status is worth a new attempt ([Retryable]). integrations/llm and
// integrations/e2b both use it, so the same answer means the same to both.
package httpretry

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxDelay caps the delay a server can ask for: a longer one, however it
// is written, is cut to MaxDelay (the server wants a long wait; the
// caller's retry policy, such as recovery.Retry's MaxDelay, decides how
// long it is willing to wait).
const MaxDelay = 24 * time.Hour

// Delay returns the delay h asks for before the request is sent again:
//
//   - Retry-After-Ms, in milliseconds (OpenAI and Anthropic send it), when
//     it is a positive number;
//   - else Retry-After, in seconds or as an HTTP date (RFC 9110, section
//     10.2.3), measured from now.
//
// A number is digits with an optional fraction ("120", "0.5"); anything
// else (a sign, an exponent, "NaN") is ignored, as is a date in the past.
// It returns 0 when neither header gives a positive delay, and at most
// MaxDelay.
func Delay(h http.Header, now time.Time) time.Duration {
	if ms, ok := number(h.Get("Retry-After-Ms")); ok && ms > 0 {
		return capped(ms, time.Millisecond)
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, ok := number(v); ok {
		if s > 0 {
			return capped(s, time.Second)
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, MaxDelay)
		}
	}
	return 0
}

// Retryable reports whether a request answered with status may succeed
// when sent again: 408 Request Timeout, 409 Conflict (a concurrent change
// or lock that passes), 429 Too Many Requests and every 5xx (Anthropic's
// 529 "overloaded" included). Every other status, 4xx or not, is not.
func Retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusConflict ||
		status == http.StatusTooManyRequests || (status >= 500 && status <= 599)
}

// number parses digits with an optional fraction, after trimming spaces.
func number(v string) (float64, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	dot := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(v)-1:
			dot = true
		default:
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// capped returns n units, at most MaxDelay, without overflowing.
func capped(n float64, unit time.Duration) time.Duration {
	if n >= float64(MaxDelay/unit) {
		return MaxDelay
	}
	return time.Duration(n * float64(unit))
}

//go:build linux

package local

import (
	"encoding/base64"
	"testing"

	"github.com/ttadev/primitives/sandbox"
)

// The data stack E2B's template ships (numpy, pandas, matplotlib, which
// scripts/provision.sh installs from Debian) works in the sandbox: a
// DataFrame is summed and a plot comes back as a PNG result, in a session
// and in a stateless call.
func TestDataStackPlots(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Stateless: stateless})
		ex := mustSucceed(t, s, `
import numpy as np, pandas as pd
import matplotlib.pyplot as plt
df = pd.DataFrame({"x": np.arange(5), "y": np.arange(5) ** 2})
df.plot(x="x", y="y")
plt.show()
plt.figure()
plt.bar(["a", "b"], [1, 2])
int(df["y"].sum())`)
		// One PNG for the shown figure, one for the figure still open at
		// the end of the cell, and nothing on stderr (no backend warning).
		var png string
		var text string
		pngs := 0
		for _, r := range ex.Results {
			if r.PNG != "" {
				png = r.PNG
				pngs++
			}
			if r.IsMainResult {
				text = r.Text
			}
		}
		if pngs != 2 {
			t.Fatalf("stateless=%v: %d PNG results, want 2", stateless, pngs)
		}
		if e := ex.StderrText(); e != "" {
			t.Fatalf("stateless=%v: stderr %q", stateless, e)
		}
		if text != "30" {
			t.Fatalf("stateless=%v: sum %q, want 30", stateless, text)
		}
		data, err := base64.StdEncoding.DecodeString(png)
		if err != nil || len(data) < 1000 || string(data[1:4]) != "PNG" {
			t.Fatalf("stateless=%v: no PNG plot among the results (%d bytes, %v)", stateless, len(data), err)
		}
	}
}

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// runInstallPackages runs the page's cell on the shared executor, whose
// installs are off, then installs a package for real on an executor with
// installs on, from a package index on loopback that is a STAND-IN for
// PyPI (the sections run offline): pip installs into the sandbox's own
// site, and the next cell of the session imports the package.
func runInstallPackages(ctx context.Context, w io.Writer, executor *sandbox.CodeExecution) error {
	if err := installPackages(ctx, w, executor); err != nil {
		return err
	}
	index := serveIndex("seed-greeting", "def hello():\n    return 'hello from an installed package'\n")
	defer index.Close()
	withInstalls, err := local.NewCodeExecutionPrimitive(local.WithCodeOptions(
		sandbox.SessionMode(), sandbox.MaxSandboxes(1), // installs last as long as the session
		sandbox.WithPipInstall(true), sandbox.WithPackageIndex(index.URL+"/simple/")))
	if err != nil {
		return err
	}
	defer withInstalls.Close(ctx)
	for _, code := range []string{"import os\nprint(os.system('pip install -q seed-greeting'))",
		"import seed_greeting\nprint(seed_greeting.hello())"} {
		out, err := withInstalls.Execute(ctx, sandbox.CodeInput{Code: code, Timeout: 60 * time.Second})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "installs on: %v %s\n", out.Success, strings.TrimSpace(out.Logs))
	}
	return nil
}

// serveIndex serves on loopback a PEP 503 simple index holding one
// pure-Python wheel (version 1.0) of project, whose module has source as
// its __init__.py. It is the STAND-IN for PyPI.
func serveIndex(project, source string) *httptest.Server {
	module := strings.ReplaceAll(project, "-", "_")
	file := module + "-1.0-py3-none-any.whl"
	info := module + "-1.0.dist-info/"
	var wheel bytes.Buffer
	zw := zip.NewWriter(&wheel)
	var record strings.Builder
	for _, f := range [][2]string{
		{module + "/__init__.py", source},
		{info + "METADATA", "Metadata-Version: 2.1\nName: " + project + "\nVersion: 1.0\n"},
		{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: seed\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{info + "RECORD", ""},
	} {
		body := f[1]
		if f[0] == info+"RECORD" {
			body = record.String() + info + "RECORD,,\n"
		} else {
			sum := sha256.Sum256([]byte(body))
			fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f[0], base64.RawURLEncoding.EncodeToString(sum[:]), len(body))
		}
		zf, _ := zw.Create(f[0]) // writes to memory: cannot fail
		io.WriteString(zf, body)
	}
	zw.Close()
	sum := sha256.Sum256(wheel.Bytes())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /simple/"+project+"/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "<html><body><a href=\"/files/%s#sha256=%s\">%s</a></body></html>\n", file, hex.EncodeToString(sum[:]), file)
	})
	mux.HandleFunc("GET /files/"+file, func(w http.ResponseWriter, _ *http.Request) { w.Write(wheel.Bytes()) })
	return httptest.NewServer(mux)
}

//go:build linux

package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/softips/softips/internal/testenv"
)

// suite is what TestMain sets up once for every test of the package.
var suite struct {
	lab    Lab
	server *Server
	bin    string // softips binary; "" while cmd/softips is not on the branch
	binErr error
}

// Addresses the shared server listens on.
var serverListen = []string{"203.0.113.10:80", "203.0.113.10:8080", "[2001:db8:2::10]:80"}

func TestMain(m *testing.M) { os.Exit(runSuite(m)) }

// runSuite brings the lab up, starts the shared server and builds softips
// when it can; not as root it only runs the tests, which then skip.
func runSuite(m *testing.M) int {
	flag.Parse()
	if os.Geteuid() != 0 || testing.Short() || runsNoTest() {
		return m.Run()
	}
	unlock, err := lockLab(2 * time.Minute)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer unlock()

	if err := setUp(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		tearDown()
		return 1
	}
	defer tearDown()
	return m.Run()
}

// runsNoTest reports a benchmark-only run (-run '^$'): no lab needed.
func runsNoTest() bool {
	f := flag.Lookup("test.run")
	return f != nil && f.Value.String() == "^$"
}

func setUp() error {
	root, err := FindRoot(".")
	if err != nil {
		return err
	}
	suite.lab = Lab{Root: root}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := suite.lab.Up(ctx); err != nil {
		return err
	}
	if suite.server, err = StartServer(NSServer, serverListen...); err != nil {
		return err
	}
	suite.bin, suite.binErr = buildSoftips(root)
	return nil
}

func tearDown() {
	if suite.server != nil {
		suite.server.Close()
	}
	if suite.bin != "" {
		_ = os.RemoveAll(filepath.Dir(suite.bin))
	}
	if os.Getenv("SOFTIPS_E2E_KEEP_LAB") == "1" || suite.lab.Root == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := suite.lab.Down(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	}
}

// lockLab serialises runs of the suite on one machine: the lab's
// namespaces are shared by name.
func lockLab(wait time.Duration) (func(), error) {
	path := filepath.Join(os.TempDir(), "softips-lab.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lab lock: %w", err)
	}
	for deadline := time.Now().Add(wait); ; time.Sleep(200 * time.Millisecond) {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lab lock %q: held by another run for %v: %w",
				path, wait, err)
		}
	}
}

// buildSoftips builds cmd/softips into a temporary directory; it returns
// "" and no error when the command is not on this branch yet.
func buildSoftips(root string) (string, error) {
	if _, err := os.Stat(filepath.Join(root, "cmd", "softips")); err != nil {
		return "", nil
	}
	dir, err := os.MkdirTemp("", "softips-e2e-")
	if err != nil {
		return "", fmt.Errorf("build softips: %w", err)
	}
	bin := filepath.Join(dir, "softips")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/softips")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return bin, fmt.Errorf("build softips: %w\n%s", err, out)
	}
	return bin, nil
}

// requireLab gates a test on root and on the lab TestMain brought up.
func requireLab(t *testing.T) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("lab scenario: skipped in -short mode (needs root and the lab)")
	}
	testenv.RequireRoot(t)
	if suite.server == nil {
		t.Fatal("lab is not up (TestMain set-up failed)")
	}
	return suite.server
}

// requireSoftips gates a test on the softips binary as well.
func requireSoftips(t *testing.T) string {
	t.Helper()
	requireLab(t)
	if suite.binErr != nil {
		t.Fatal(suite.binErr)
	}
	if suite.bin == "" {
		t.Skip("cmd/softips is not on this branch yet (git merge main)")
	}
	return suite.bin
}

// startDaemon runs a daemon for one test on stateDir ("" for a fresh one)
// and stops it when the test ends, checking it stopped cleanly.
func startDaemon(t *testing.T, stateDir string) *Daemon {
	t.Helper()
	bin := requireSoftips(t)
	tmp := t.TempDir()
	if stateDir == "" {
		stateDir = filepath.Join(tmp, "state")
	}
	cfg := DaemonConfig{
		Bin:      bin,
		StateDir: stateDir,
		Socket:   filepath.Join(tmp, "softips.sock"),
		LogPath:  filepath.Join(tmp, "softips.log"),
	}
	d, err := StartDaemon(t.Context(), cfg, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(5 * time.Second); err != nil {
			t.Errorf("%v\ndaemon log:\n%s", err, d.Log())
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.Log())
		}
	})
	return d
}

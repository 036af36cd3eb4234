// Package testenv holds the two gates every softips test that needs more
// than plain Go goes through: root privileges (netns, XDP, BPF_PROG_TEST_RUN)
// and the shared corpus of real captures and rules.
//
// It must never let such a test pass silently: in CI (CI=true) a missing
// privilege or corpus is a failure, not a skip.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// RequireRoot skips t with a reason when the process is not root, and fails
// it instead when running under CI, where the privileged tests must run.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("privileged test: CI must run as root (euid is not 0)")
	}
	t.Skip("privileged test: needs root (netns, XDP, BPF_PROG_TEST_RUN); run with sudo")
}

// RepoRoot returns the directory holding go.mod, found by walking up from
// the working directory of the test.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// Corpus returns the path of ../shared/corpus beside the repository. Where
// it is absent (a user's clone) the test is skipped and says so; under CI,
// where shared/ is always laid beside the clone, it fails instead.
func Corpus(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(RepoRoot(t)), "shared", "corpus")
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("corpus %q missing: CI must have ../shared beside the clone", dir)
	}
	t.Skipf("corpus %q absent (a user's clone has no ../shared); skipping", dir)
	return ""
}

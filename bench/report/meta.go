package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Meta says where and when a run was made.
type Meta struct {
	Date      string `json:"date"`
	Commit    string `json:"commit"`
	Kernel    string `json:"kernel"`
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	GoVersion string `json:"go"`
	LoadAvg   string `json:"loadavg"` // at report time: the machine may be shared
	Elapsed   string `json:"elapsed,omitempty"`
}

func collectMeta(root string, now time.Time) Meta {
	return Meta{
		Date:      now.UTC().Format(time.RFC3339),
		Commit:    gitCommit(root),
		Kernel:    strings.TrimSpace(output("uname", "-r")),
		CPU:       cpuModel(),
		Cores:     runtime.NumCPU(),
		GoVersion: runtime.Version(),
		LoadAvg:   loadAvg(),
	}
}

func output(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return string(b)
}

// gitCommit is the short commit, marked "+dirty" when the tree has changes.
func gitCommit(root string) string {
	c := exec.Command("git", "rev-parse", "--short", "HEAD")
	c.Dir = root
	b, err := c.Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(b))
	st := exec.Command("git", "status", "--porcelain", "--untracked-files=no")
	st.Dir = root
	if out, err := st.Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		commit += "+dirty"
	}
	return commit
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

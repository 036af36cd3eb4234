package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestExpandHost(t *testing.T) {
	cases := map[string]string{
		"198.51.100.7":                   "198.51.100.7 0 0.0.0.0/0 0",
		"2001:db8::7":                    "2001:db8::7 0 ::/0 0",
		"198.51.100.0/24":                "198.51.100.0/24 0 0.0.0.0/0 0",
		"198.51.100.7 0 203.0.113.10 80": "198.51.100.7 0 203.0.113.10 80",
		"":                               "",
	}
	for in, want := range cases {
		if got := expandHost(in); got != want {
			t.Errorf("expandHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnixPath(t *testing.T) {
	good := map[string]string{"unix:///run/softips/x.sock": "/run/softips/x.sock",
		"unix://" + t.TempDir() + "/s.sock": ""}
	for in, want := range good {
		got, err := unixPath(in)
		if err != nil || (want != "" && got != want) {
			t.Errorf("unixPath(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"/run/x.sock", "unix://rel.sock", "tcp://127.0.0.1:1",
		"unix:///nonexistent-dir-softips/s.sock"} {
		if _, err := unixPath(bad); err == nil {
			t.Errorf("unixPath(%q) accepted", bad)
		}
	}
}

// TestCLIArguments runs the command tree without a daemon: argument errors
// must be caught before any connection, and exit non-zero.
func TestCLIArguments(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"block", "add", "198.51.100.7", "0", "203.0.113.10"}, "got 3 arguments"},
		{[]string{"block", "frob"}, `unknown command "frob"`},
		{[]string{"block", "del", " "}, "empty argument"},
		{[]string{"block", "explain", "x"}, `entry id "x" is not a number`},
		{[]string{"run", "--monitor", "a"}, `required flag(s) "inject" not set`},
		{[]string{"run", "--monitor", "a", "--inject", "b", "--log-level", "loud"},
			`--log-level "loud"`},
		{[]string{"block", "list", "--socket", "/nonexistent/softips.sock"},
			"daemon not reachable"},
	}
	for _, c := range cases {
		root := rootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(c.args)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("softips %s: error %v, want one containing %q", strings.Join(c.args, " "),
				err, c.want)
		}
	}
}

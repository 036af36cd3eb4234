package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/softips/softips/pkg/daemon"
)

func runCmd() *cobra.Command {
	var o daemon.Options
	var listen, level string
	c := &cobra.Command{
		Use:   "run --monitor IF --inject IF",
		Short: "Run the daemon: XDP on the monitor port, RSTs out of the inject port",
		Example: `  softips run --monitor mon0 --inject mgmt0 --state-dir /var/lib/softips \
      --listen unix:///run/softips/softips.sock`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sock, err := unixPath(listen)
			if err != nil {
				return err
			}
			o.Socket = sock
			if o.Log, err = newLogger(level); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt,
				syscall.SIGTERM)
			defer stop()
			return daemon.Run(ctx, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Monitor, "monitor", "", "mirror (SPAN/TAP) interface to attach XDP to")
	f.StringVar(&o.Inject, "inject", "", "management interface the RSTs leave through")
	f.StringVar(&o.ConfigPath, "config", "", "YAML configuration file (defaults if empty)")
	f.StringSliceVar(&o.Rules, "rules", nil, "Suricata-syntax rule files (repeatable)")
	f.StringSliceVar(&o.AV, "av", nil, "ClamAV-format signature files or directories "+
		"(repeatable; unpack .cvd with sigtool --unpack first)")
	f.StringVar(&o.StateDir, "state-dir", "", "where admin and derived blocks persist "+
		"(default: table.state_dir of the config, /var/lib/softips)")
	f.StringVar(&o.EVE, "eve", "", "EVE JSON alert output file (- for stdout)")
	f.StringVar(&o.PinPath, "pin-path", "/sys/fs/bpf/softips", "bpffs directory for the maps")
	f.StringVar(&listen, "listen", "unix://"+defaultSocket, "API address (unix://PATH)")
	f.StringVar(&o.Metrics, "metrics", "", "also serve Prometheus /metrics (only) on this "+
		"TCP address, e.g. 127.0.0.1:9470")
	f.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	_ = c.MarkFlagRequired("monitor")
	_ = c.MarkFlagRequired("inject")
	return c
}

// unixPath checks --listen. Only the default directory is created; any
// other must exist, so a typo does not make directories on the host.
func unixPath(listen string) (string, error) {
	p, ok := strings.CutPrefix(listen, "unix://")
	if !ok || p == "" || !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("--listen %q: want unix:///absolute/path", listen)
	}
	if dir := filepath.Dir(p); dir != filepath.Dir(defaultSocket) {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return "", fmt.Errorf("--listen %q: directory %q does not exist", listen, dir)
		}
	}
	return p, nil
}

// newLogger logs JSON to stderr, or readable text when stderr is a terminal.
func newLogger(level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("--log-level %q: want debug, info, warn or error",
			level)
	}
	var l zerolog.Logger
	if isatty.IsTerminal(os.Stderr.Fd()) {
		l = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly})
	} else {
		l = zerolog.New(os.Stderr)
	}
	return l.Level(lvl).With().Timestamp().Logger(), nil
}

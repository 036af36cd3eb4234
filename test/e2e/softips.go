//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

// OriginAdmin is the origin `block list` gives entries added by the CLI.
const OriginAdmin = "admin"

// BlocksPin is where the daemon pins its block map (DESIGN.md §6).
const BlocksPin = "/sys/fs/bpf/softips/blocks"

// withBPFFS mounts a bpffs at /sys/fs/bpf, as a booted host has one, then
// execs the daemon in place. `ip netns exec` gives each command its own
// mount namespace with a fresh /sys and no bpffs; the mount stays inside
// that namespace and goes away with it.
const withBPFFS = `mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; exec "$0" "$@"`

// DaemonConfig says how to run one softips daemon in sips-sensor.
type DaemonConfig struct {
	Bin      string   // softips binary
	StateDir string   // --state-dir
	Socket   string   // unix socket path for --listen and --socket
	LogPath  string   // stdout and stderr of the daemon
	Extra    []string // further flags for `softips run`
}

// Daemon is a running `softips run` inside sips-sensor.
type Daemon struct {
	cfg     DaemonConfig
	cmd     *exec.Cmd
	logf    *os.File
	exited  chan struct{}
	waitErr error
}

// ErrDaemonExited reports that the daemon ended while it was expected to run.
var ErrDaemonExited = errors.New("softips daemon exited")

// StartDaemon starts the daemon and waits at most ready for its control
// socket to answer `block list`.
func StartDaemon(ctx context.Context, cfg DaemonConfig, ready time.Duration) (*Daemon, error) {
	logf, err := os.OpenFile(cfg.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	args := append([]string{"run", "--monitor", MonitorIface, "--inject", InjectIface,
		"--state-dir", cfg.StateDir, "--listen", "unix://" + cfg.Socket}, cfg.Extra...)
	cmd := Command(context.Background(), NSSensor, "sh",
		append([]string{"-c", withBPFFS, cfg.Bin}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start daemon %q: %w", cfg.Bin, err)
	}
	d := &Daemon{cfg: cfg, cmd: cmd, logf: logf, exited: make(chan struct{})}
	go func() { d.waitErr = cmd.Wait(); close(d.exited) }()

	if err := d.waitReady(ctx, ready); err != nil {
		_ = d.Stop(2 * time.Second)
		return nil, fmt.Errorf("start daemon: %w\n%s", err, d.Log())
	}
	return d, nil
}

func (d *Daemon) waitReady(ctx context.Context, ready time.Duration) error {
	deadline := time.Now().Add(ready)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-d.exited:
			return fmt.Errorf("%w before ready: %v", ErrDaemonExited, d.waitErr)
		default:
		}
		_, err := d.CLI().BlockList(ctx)
		if err == nil {
			return nil
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("control socket %q silent after %v: %w", d.cfg.Socket, ready, last)
}

// PID is the daemon's process id (`ip netns exec` and the shell exec in
// place).
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// Exited is closed once the daemon process has ended.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// CLI returns a client bound to this daemon's socket.
func (d *Daemon) CLI() CLI { return CLI{Bin: d.cfg.Bin, Socket: d.cfg.Socket} }

// Log returns what the daemon has written so far.
func (d *Daemon) Log() string {
	b, err := os.ReadFile(d.cfg.LogPath)
	if err != nil {
		return fmt.Sprintf("(log %q unreadable: %v)", d.cfg.LogPath, err)
	}
	return string(b)
}

// Stop sends SIGTERM and waits at most wait for a clean exit; past that it
// sends SIGKILL and says so. A non-zero exit status is an error too.
func (d *Daemon) Stop(wait time.Duration) error {
	defer d.logf.Close()
	select {
	case <-d.exited:
		return d.exitErr()
	default:
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop daemon pid %d: %w", d.PID(), err)
	}
	select {
	case <-d.exited:
		return d.exitErr()
	case <-time.After(wait):
		_ = d.cmd.Process.Kill()
		<-d.exited
		return fmt.Errorf("stop daemon pid %d: alive %v after SIGTERM; killed",
			d.PID(), wait)
	}
}

func (d *Daemon) exitErr() error {
	if d.waitErr != nil {
		return fmt.Errorf("%w: %v", ErrDaemonExited, d.waitErr)
	}
	return nil
}

// BPFTool runs bpftool in the daemon's own mount and network namespaces:
// `ip netns exec` gives every command a fresh /sys, so a bpffs the daemon
// mounted there is visible only from inside its mount namespace.
func (d *Daemon) BPFTool(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{"-t", strconv.Itoa(d.PID()), "-m", "-n", "bpftool"}, args...)
	out, err := exec.CommandContext(ctx, "nsenter", full...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("bpftool %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// CLI runs softips control commands against one daemon's socket.
type CLI struct {
	Bin    string
	Socket string
}

// Run runs `softips ARGS --socket SOCK` and returns its standard output.
func (c CLI) Run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.Bin, append(args, "--socket", c.Socket)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("softips %s: %w: %s", strings.Join(args, " "), err,
			stderr.String())
	}
	return out, nil
}

// BlockAdd adds an admin block for spec, with comment when not empty.
func (c CLI) BlockAdd(ctx context.Context, spec, comment string) error {
	args := []string{"block", "add", spec}
	if comment != "" {
		args = append(args, "--comment", comment)
	}
	_, err := c.Run(ctx, args...)
	return err
}

// BlockDel removes the block given by spec or id.
func (c CLI) BlockDel(ctx context.Context, specOrID string) error {
	_, err := c.Run(ctx, "block", "del", specOrID)
	return err
}

// BlockEntry is one entry of `softips block list --json`.
type BlockEntry struct {
	ID      json.RawMessage `json:"id"`
	Spec    string          `json:"spec"`
	Origin  string          `json:"origin"`
	Hits    uint64          `json:"hits"`
	Comment string          `json:"comment,omitempty"`
}

// IDString returns the id as text, whether the daemon sent a string or a
// number.
func (e BlockEntry) IDString() string {
	var s string
	if json.Unmarshal(e.ID, &s) == nil {
		return s
	}
	return string(e.ID)
}

// BlockList returns the daemon's block table.
func (c CLI) BlockList(ctx context.Context) ([]BlockEntry, error) {
	out, err := c.Run(ctx, "block", "list", "--json")
	if err != nil {
		return nil, err
	}
	var entries []BlockEntry
	if err := json.Unmarshal(out, &entries); err != nil {
		return nil, fmt.Errorf("block list: decode %q: %w", out, err)
	}
	return entries, nil
}

// FindBlock returns the entry whose spec means the same as spec: the
// daemon prints specs in canonical form (a host without its /32).
func FindBlock(entries []BlockEntry, spec string) (BlockEntry, bool) {
	want, err := flowspec.Parse(spec)
	if err != nil {
		return BlockEntry{}, false
	}
	for _, e := range entries {
		if got, err := flowspec.Parse(e.Spec); err == nil && got == want {
			return e, true
		}
	}
	return BlockEntry{}, false
}

//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
)

// Lab namespaces, as scripts/lab.sh names them.
const (
	NSClient = "sips-client"
	NSServer = "sips-server"
	NSRouter = "sips-router"
	NSSensor = "sips-sensor"
)

// Sensor interfaces: MonitorIface is the mirror (no address), InjectIface
// the management link the RSTs leave through.
const (
	MonitorIface = "mon0"
	InjectIface  = "mgmt0"
)

// Lab addresses (documentation prefixes only).
var (
	ClientAddr    = netip.MustParseAddr("198.51.100.7")
	ClientAltAddr = netip.MustParseAddr("198.51.100.8") // the "unblocked host"
	ServerAddr    = netip.MustParseAddr("203.0.113.10")
	ServerAltAddr = netip.MustParseAddr("203.0.113.11")
	ClientAddr6   = netip.MustParseAddr("2001:db8:1::7")
	ServerAddr6   = netip.MustParseAddr("2001:db8:2::10")
	RouterMgmt    = netip.MustParseAddr("203.0.113.225")
	SensorMgmt    = netip.MustParseAddr("203.0.113.226")
)

// Lab MACs fixed by scripts/lab.sh.
const (
	MACClient     = "02:5e:00:01:00:07"
	MACServer     = "02:5e:00:02:00:10"
	MACRouterSrv  = "02:5e:00:02:00:01" // router's leg on the server net
	MACRouterMgmt = "02:5e:00:ff:00:01" // next hop of every injected frame
	MACSensorMgmt = "02:5e:00:ff:00:02"
)

// Lab runs scripts/lab.sh of the repository at root.
type Lab struct {
	Root string
}

// FindRoot returns the directory holding go.mod, walking up from dir.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find repository root: no go.mod above %q", dir)
		}
		dir = parent
	}
}

// Script returns the path of lab.sh.
func (l Lab) Script() string { return filepath.Join(l.Root, "scripts", "lab.sh") }

// Up builds the lab, or repairs it when it is already there.
func (l Lab) Up(ctx context.Context) error { return l.run(ctx, "up") }

// Down removes the lab's namespaces.
func (l Lab) Down(ctx context.Context) error { return l.run(ctx, "down") }

// Status lists the lab and pings across it; it fails when anything is
// missing or silent.
func (l Lab) Status(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, l.Script(), "status").CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("lab status: %w\n%s", err, out)
	}
	return string(out), nil
}

func (l Lab) run(ctx context.Context, verb string) error {
	out, err := exec.CommandContext(ctx, l.Script(), verb).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab %s: %w\n%s", verb, err, out)
	}
	return nil
}

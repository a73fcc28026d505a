package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultPostgresBin is where Debian's PostgreSQL 15 keeps initdb and
// postgres; CARDFILE_TEST_PG_BIN names another folder.
const DefaultPostgresBin = "/usr/lib/postgresql/15/bin"

// Cluster is a PostgreSQL server of one test's own: a fresh data folder
// and a free port, gone when the test ends. Fault tests stop, kill and
// freeze it; they must never do that to the shared server, which every
// other test (and engineer) is using.
//
// The test process is the postmaster's parent, so it reaps it: a stopped
// or killed server leaves no process holding the data folder, and Start
// can bring it back on the same port and data. Call the methods from the
// test's goroutine (they fail the test with t.Fatal).
type Cluster struct {
	t    testing.TB
	bin  string
	dir  string // owned by the postgres OS user when the test runs as root
	port int
	cred *syscall.Credential // nil: run the binaries as ourselves

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has been reaped
	waitErr error
	paused  bool
}

// PrivatePostgres initialises and starts a cluster for t, stopped and
// deleted when t ends. It skips t when the PostgreSQL binaries are missing.
// PostgreSQL refuses to run as root, so under root the binaries run as the
// postgres OS user.
func PrivatePostgres(t testing.TB) *Cluster {
	t.Helper()
	bin := os.Getenv("CARDFILE_TEST_PG_BIN")
	if bin == "" {
		bin = DefaultPostgresBin
	}
	for _, name := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			t.Skipf("a private PostgreSQL needs %s (set CARDFILE_TEST_PG_BIN to the folder holding initdb and postgres): %v", filepath.Join(bin, name), err)
		}
	}
	c := &Cluster{t: t, bin: bin}
	// Not t.TempDir: its parents are private to root, and postgres must reach the folder.
	dir, err := os.MkdirTemp("", "cardfile-pg-")
	if err != nil {
		t.Fatalf("creating the cluster folder: %v", err)
	}
	c.dir = dir
	t.Cleanup(c.destroy)
	if os.Geteuid() == 0 {
		c.cred = postgresUser(t)
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Fatalf("handing %s to the postgres user: %v", dir, err)
		}
	}
	if out, err := c.command("initdb", "-D", c.dataDir(), "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.port = freePort(t)
	c.Start()
	return c
}

// URL is the cluster's postgres database, as superuser postgres.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Use points URL and Open (and so apptest.Options) at this cluster for the
// rest of t: a schema of the test's own on it, as on the shared server.
func (c *Cluster) Use(t testing.TB) {
	t.Helper()
	t.Setenv("CARDFILE_TEST_DB", "postgres")
	t.Setenv("CARDFILE_TEST_DATABASE_URL", c.URL())
}

// Start starts the server and returns once it accepts connections. After
// Kill it runs crash recovery first, as a real restart would.
func (c *Cluster) Start() {
	c.t.Helper()
	c.mu.Lock()
	if c.cmd != nil {
		c.mu.Unlock()
		c.t.Fatal("dbtest: Start on a cluster that is running")
	}
	logFile, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.mu.Unlock()
		c.t.Fatalf("opening the server log: %v", err)
	}
	cmd := c.command("postgres", "-D", c.dataDir(), "-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		// No fsync: a killed process loses nothing the OS already holds, so
		// commits survive Kill; only a machine crash, never simulated here,
		// would need it. Commits stay synchronous for the same reason.
		"-c", "fsync=off", "-c", "full_page_writes=off")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A test binary that dies takes its server with it.
	dieWithParent(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		c.mu.Unlock()
		c.t.Fatalf("starting postgres: %v", err)
	}
	exited := make(chan struct{})
	c.cmd, c.exited, c.paused = cmd, exited, false
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logFile.Close()
		c.mu.Lock()
		c.waitErr = err
		c.mu.Unlock()
		close(exited)
	}()
	if err := c.waitReady(exited); err != nil {
		c.t.Fatalf("postgres did not start: %v\n%s", err, c.Log())
	}
}

// Stop shuts the server down the way an operator's restart does (fast
// shutdown: open sessions end with 57P01 admin_shutdown) and returns once
// the postmaster has exited.
func (c *Cluster) Stop() {
	c.t.Helper()
	c.signal(syscall.SIGINT, false)
}

// Kill ends the postmaster and every backend with SIGKILL, as a crash or the
// OOM killer would; the next Start recovers from the WAL. Backends killed
// with their postmaster are orphans: on a machine whose init does not reap,
// they linger as zombies, harmless.
func (c *Cluster) Kill() {
	c.t.Helper()
	c.signal(syscall.SIGKILL, true)
}

// Pause freezes the server and its backends (SIGSTOP): connections stay
// open and new ones are accepted by the kernel, but nothing answers, like a
// database behind a dead network path.
func (c *Cluster) Pause() {
	c.t.Helper()
	c.freeze(syscall.SIGSTOP, true)
}

// Resume thaws a paused server.
func (c *Cluster) Resume() {
	c.t.Helper()
	c.freeze(syscall.SIGCONT, false)
}

// Log is the server's log so far, for a failing test to show.
func (c *Cluster) Log() string {
	b, err := os.ReadFile(c.logPath())
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	return string(b)
}

func (c *Cluster) freeze(sig syscall.Signal, paused bool) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		c.t.Fatal("dbtest: the cluster is not running")
	}
	if err := signalAll(c.cmd.Process.Pid, sig); err != nil {
		c.t.Fatalf("signalling postgres: %v", err)
	}
	c.paused = paused
}

// signal sends sig to the postmaster (with all, to every backend too) and
// waits until the postmaster has exited and been reaped.
func (c *Cluster) signal(sig syscall.Signal, all bool) {
	c.t.Helper()
	if err := c.end(sig, all, 30*time.Second); err != nil {
		c.t.Fatalf("stopping postgres: %v\n%s", err, c.Log())
	}
}

func (c *Cluster) end(sig syscall.Signal, all bool, wait time.Duration) error {
	c.mu.Lock()
	cmd, exited, paused := c.cmd, c.exited, c.paused
	c.mu.Unlock()
	if cmd == nil {
		return errors.New("the cluster is not running")
	}
	pid := cmd.Process.Pid
	var err error
	if all {
		err = signalAll(pid, sig)
	} else {
		err = syscall.Kill(pid, sig)
	}
	if err != nil {
		return fmt.Errorf("signalling postgres: %w", err)
	}
	if paused && sig != syscall.SIGKILL {
		// A stopped process acts on no signal but SIGKILL until it runs again.
		_ = signalAll(pid, syscall.SIGCONT)
	}
	select {
	case <-exited:
	case <-time.After(wait):
		return fmt.Errorf("postgres still running %s after %v", wait, sig)
	}
	c.mu.Lock()
	c.cmd, c.paused = nil, false
	c.mu.Unlock()
	return nil
}

// signalAll sends sig to the postmaster and each of its children. Every
// backend is a session of its own (PostgreSQL calls setsid in each child),
// so a process-group signal would reach the postmaster alone. The
// postmaster is stopped while its children are listed, so it forks none
// unseen; with SIGKILL, the children are waited for, since a new postmaster
// refuses to start while any still holds the old shared memory.
func signalAll(postmaster int, sig syscall.Signal) error {
	if sig != syscall.SIGCONT {
		if err := syscall.Kill(postmaster, syscall.SIGSTOP); err != nil {
			return err
		}
	}
	children, err := childrenOf(postmaster)
	if err != nil {
		return err
	}
	for _, pid := range children {
		_ = syscall.Kill(pid, sig) // one may have exited meanwhile
	}
	if err := syscall.Kill(postmaster, sig); err != nil {
		return err
	}
	if sig == syscall.SIGKILL {
		deadline := time.Now().Add(10 * time.Second)
		for _, pid := range children {
			for alive(pid) {
				if time.Now().After(deadline) {
					return fmt.Errorf("backend %d survived SIGKILL", pid)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	return nil
}

// waitReady polls until the server accepts a session (what clients wait
// for), the postmaster exits, or 30 s pass.
func (c *Cluster) waitReady(exited <-chan struct{}) error {
	conn, err := sql.Open("pgx", c.URL()+"&connect_timeout=2")
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = conn.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			c.mu.Lock()
			defer c.mu.Unlock()
			c.cmd = nil
			return fmt.Errorf("postgres exited: %v", c.waitErr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after 30 s: %w", err)
		}
	}
}

// destroy stops a running server at once and deletes its folder.
func (c *Cluster) destroy() {
	c.mu.Lock()
	running := c.cmd != nil
	c.mu.Unlock()
	if running {
		// Immediate shutdown: nothing here is worth a checkpoint.
		if err := c.end(syscall.SIGQUIT, false, 10*time.Second); err != nil {
			_ = c.end(syscall.SIGKILL, true, 10*time.Second)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		c.t.Errorf("removing %s: %v", c.dir, err)
	}
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

// postgresUser is the OS user the binaries run as under root.
func postgresUser(t testing.TB) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("a private PostgreSQL under root needs a postgres OS user: %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("postgres user ids %q/%q: %v", u.Uid, u.Gid, err)
	}
	// No supplementary groups: root's must not follow the server.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// freePort is a TCP port nobody listened on a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

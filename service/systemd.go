package service

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"neurons-connector/clock"
)

// unitState is what systemd says of the service's unit (systemctl show).
type unitState struct {
	Load, Active, Sub, Result string
	Type                      string // notify for units this version installs; simple before
	StatusText                string // serve's STATUS=
	Invocation                string // a new one for every start
	Job                       string // the pending job's number, while there is one
	MainPID                   int
	ExecPID                   int // the last main process's, kept after it ended (ExecMainPID)
	Code, ExitStatus          int // how the main process ended: CLD_EXITED (1) and its status, CLD_KILLED (2) or CLD_DUMPED (3) and the signal
	Restarts                  int
}

// showProperties are what systemctl show is asked for, each with where
// parseShow puts it: the one list of both.
var showProperties = []struct {
	name string
	set  func(u *unitState, v string)
}{
	{"LoadState", func(u *unitState, v string) { u.Load = v }},
	{"ActiveState", func(u *unitState, v string) { u.Active = v }},
	{"SubState", func(u *unitState, v string) { u.Sub = v }},
	{"Result", func(u *unitState, v string) { u.Result = v }},
	{"Type", func(u *unitState, v string) { u.Type = v }},
	{"StatusText", func(u *unitState, v string) { u.StatusText = v }},
	{"InvocationID", func(u *unitState, v string) { u.Invocation = v }},
	{"Job", func(u *unitState, v string) { u.Job = v }},
	{"MainPID", func(u *unitState, v string) { u.MainPID, _ = strconv.Atoi(v) }},
	{"ExecMainPID", func(u *unitState, v string) { u.ExecPID, _ = strconv.Atoi(v) }},
	{"ExecMainCode", func(u *unitState, v string) { u.Code, _ = strconv.Atoi(v) }},
	{"ExecMainStatus", func(u *unitState, v string) { u.ExitStatus, _ = strconv.Atoi(v) }},
	{"NRestarts", func(u *unitState, v string) { u.Restarts, _ = strconv.Atoi(v) }},
}

// parseShow reads systemctl show's NAME=value lines.
func parseShow(out string) unitState {
	var u unitState
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), "=")
		if !ok {
			continue
		}
		for _, p := range showProperties {
			if p.name == k {
				p.set(&u, v)
			}
		}
	}
	return u
}

// restarting: the process ended and systemd starts it again after
// RestartSec (auto-restart-queued is systemd 254's name for the moment
// the restart job is queued).
func (u unitState) restarting() bool {
	return u.Active == "activating" && strings.HasPrefix(u.Sub, "auto-restart")
}

// ended says how the main process ended, and what systemd's own exit
// statuses (200 and up: it never ran the program) mean.
func (u unitState) ended(exe string) string {
	switch u.Result { // systemd's verdict first: after a timeout the process was stopped by a signal
	case "timeout":
		return "serve did not report ready within TimeoutStartSec (5 min)"
	case "start-limit-hit":
		return "systemd will not start it again so soon: it failed 5 times within 10 minutes"
	}
	switch u.Code {
	case 1:
		switch u.ExitStatus {
		case 203:
			return "systemd could not run " + exe + " (status 203/EXEC)"
		case 217:
			return "systemd could not switch to the service's account (status 217/USER; reinstall: neurons-connector service install)"
		case 226:
			return "systemd could not set up the unit's sandbox (status 226/NAMESPACE): a folder in ReadWritePaths= is missing"
		}
		if u.ExitStatus >= 200 && u.ExitStatus < 256 {
			return fmt.Sprintf("systemd could not start it (status %d, explained in man systemd.exec, PROCESS EXIT CODES)", u.ExitStatus)
		}
		if u.ExitStatus == 2 {
			return "serve stopped at start with exit status 2 (bad settings)"
		}
		return fmt.Sprintf("serve stopped with exit status %d", u.ExitStatus)
	case 2, 3:
		return fmt.Sprintf("serve was killed by signal %d", u.ExitStatus)
	}
	if u.Result == "" || u.Result == "success" {
		return "serve stopped before it was ready"
	}
	return "the start failed (" + u.Result + ")"
}

// systemd drives the service through systemctl and reads its log through
// journalctl; tests give it scripted answers and a clock of their own.
type systemd struct {
	run  func(ctx context.Context, name string, args ...string) (string, error)
	clk  clock.Clock
	exe  string        // the binary, for messages
	poll time.Duration // between two looks at the unit
	wait time.Duration // how long a start may take: TimeoutStartSec and a margin
	// settle is how long a unit of an earlier version (Type=simple, active
	// as soon as the process exists) must stay up to count as started.
	settle time.Duration
}

func newSystemd(exe string) *systemd {
	return &systemd{run: runCommand, clk: clock.Real{}, exe: exe,
		poll: 250 * time.Millisecond, wait: 5*time.Minute + 15*time.Second, settle: 3 * time.Second}
}

func runCommand(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // G204: systemctl and journalctl, with the unit's name
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
		}
		return string(out), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}

const unitName = Name + ".service"

func (s *systemd) show(ctx context.Context) (unitState, error) {
	args := []string{"show", unitName}
	for _, p := range showProperties {
		args = append(args, "-p", p.name)
	}
	out, err := s.run(ctx, "systemctl", args...)
	if err != nil {
		return unitState{}, err
	}
	return parseShow(out), nil
}

// start starts (or restarts) the unit and waits for systemd's verdict:
// active once serve said READY=1, or the start failed, with the reason
// its log gives. The start is queued (--no-block) and watched until its
// job is done, as systemd's own tests do, rather than waited on by
// systemctl, whose wait through automatic restarts differs from one
// systemd version to another.
func (s *systemd) start(ctx context.Context, action string) (string, error) {
	before, err := s.show(ctx)
	if err != nil {
		return "", err
	}
	if before.Load == "not-found" {
		return "", fmt.Errorf("%w: install it first (neurons-connector service install)", ErrNotInstalled)
	}
	began := s.clk.Now()
	// A start by hand is meant: a unit that failed too often is let start,
	// and one waiting to restart after a failure restarts now (a start
	// would wait for its RestartSec).
	_, _ = s.run(ctx, "systemctl", "reset-failed", unitName)
	verb := action
	if before.restarting() {
		verb = "restart"
	}
	if _, err := s.run(ctx, "systemctl", "--no-block", verb, unitName); err != nil {
		return "", err
	}
	for {
		if err := s.clk.Sleep(ctx, s.poll); err != nil {
			return "", err
		}
		u, err := s.show(ctx)
		if err != nil {
			return "", err
		}
		elapsed := s.clk.Now().Sub(began)
		switch {
		case u.restarting() && (u.Invocation != before.Invocation || before.Invocation == "" && !before.restarting()):
			// Failed once; systemd tries again after RestartSec (and, by
			// version, keeps the start job pending meanwhile).
			return "", s.failed(ctx, u, began)
		case u.Job != "" && elapsed < s.wait:
			continue // queued behind what it waits for, or starting
		case u.Job != "":
			return "", fmt.Errorf("the service has not said it is ready after %s (systemctl show: %s/%s); see: neurons-connector service status",
				s.wait.Round(time.Second), u.Active, u.Sub)
		case u.Active == "active" && u.Type != "notify":
			return s.settled(ctx, u, began)
		case u.Active == "active":
			return startedLine(action, u), nil
		}
		return "", s.failed(ctx, u, began)
	}
}

// settled waits out a unit installed by an earlier version, which systemd
// calls active as soon as the process exists: it must stay up.
func (s *systemd) settled(ctx context.Context, u unitState, began time.Time) (string, error) {
	if err := s.clk.Sleep(ctx, s.settle); err != nil {
		return "", err
	}
	now, err := s.show(ctx)
	if err != nil {
		return "", err
	}
	if now.Active != "active" || now.Invocation != u.Invocation || now.MainPID != u.MainPID {
		return "", s.failed(ctx, now, began)
	}
	return fmt.Sprintf("Service %s: running (pid %d). Its unit was installed by an earlier version, which systemd "+
		"counts as started before the daemon is ready; to have start wait for it: neurons-connector service uninstall, "+
		"then service install (the settings file and data stay).", Name, now.MainPID), nil
}

func startedLine(action string, u unitState) string {
	done := map[string]string{"start": "started", "restart": "restarted"}[action]
	line := fmt.Sprintf("Service %s: %s; the daemon is ready (pid %d)", Name, done, u.MainPID)
	if u.StatusText != "" {
		line += ": " + u.StatusText
	}
	return line + "."
}

// ErrStartFailed marks a start the service manager reports as failed.
var ErrStartFailed = errors.New("the service did not start")

// failed is the error of a start that failed: how the process ended, the
// line of its log that says why, and where the rest is.
func (s *systemd) failed(ctx context.Context, u unitState, since time.Time) error {
	why := u.ended(s.exe)
	if line := s.reason(ctx, u, since, reasonTries); line != "" {
		why += ": " + line
	}
	again := ""
	if u.restarting() {
		again = "; systemd tries again every 10 s"
	}
	return fmt.Errorf("%w: %s%s; fix that, then: neurons-connector service start (its log: journalctl -u %s)",
		ErrStartFailed, why, again, Name)
}

// reason is the line of the log of u's invocation that best says why it
// failed (pickReason), or "", reading the log up to tries times: the
// service's own output and systemd's lines about it carry that
// invocation's ID, so an earlier failure's line is never taken for this
// one's. A process that exits at once may leave its last line without
// one: journald reads a line's invocation from the sender's cgroup, gone
// by then (seen in make systemd-test: the line had the unit and the PID
// only, and status said no reason). So the unit's lines from that main
// process count too. systemd before 232 names no invocation: then the
// unit's lines since the start.
func (s *systemd) reason(ctx context.Context, u unitState, since time.Time, tries int) string {
	args := []string{"-o", "cat", "--no-pager", "-q", "-n", "50"}
	switch {
	case u.Invocation != "":
		args = append(args, "_SYSTEMD_INVOCATION_ID="+u.Invocation, "+", "INVOCATION_ID="+u.Invocation)
		if u.ExecPID > 0 {
			args = append(args, "+", "_SYSTEMD_UNIT="+unitName, "_PID="+strconv.Itoa(u.ExecPID))
		}
	case !since.IsZero():
		args = append(args, "-u", unitName, "--since", "@"+strconv.FormatInt(since.Add(-time.Second).Unix(), 10))
	default:
		args = append(args, "-u", unitName)
	}
	// journald files a process's last lines a moment after systemd has
	// seen it exit: a start that failed at once could ask before they
	// were there, and said no reason (one run in six of make
	// systemd-test). It asks again for a while.
	for try := 1; ; try++ {
		out, err := s.run(ctx, "journalctl", args...)
		if err == nil {
			if line := pickReason(strings.Split(out, "\n")); line != "" {
				return line
			}
		}
		if try >= tries || s.clk.Sleep(ctx, reasonPause) != nil {
			return ""
		}
	}
}

// reasonTries and reasonPause bound the wait of a start that failed for
// the journal: two seconds in all.
const (
	reasonTries = 10
	reasonPause = 200 * time.Millisecond
)

// pickReason finds, in a unit's log (oldest first), the line that says why
// it stopped: the last one the program printed as it gave up
// ("neurons-connector: …", as every command's error), else its last error
// log line, else the last of systemd's own failures to run it ("Failed to
// execute …: Permission denied"), leaving out systemd's lines that only
// say that it failed.
func pickReason(lines []string) string {
	var logged, systemdSaid string
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(line, Name+": "):
			// Several problems follow on lines of their own, indented.
			for _, more := range lines[i+1:] {
				if more == "" || (more[0] != ' ' && more[0] != '\t') {
					break
				}
				line += " " + strings.TrimSpace(more) + ";"
			}
			return strings.TrimSuffix(line, ";")
		case logged == "" && (strings.Contains(line, "level=ERROR") || strings.Contains(line, `"level":"ERROR"`)):
			logged = line
		case systemdSaid == "":
			rest := strings.TrimPrefix(line, unitName+": ")
			if strings.HasPrefix(rest, "Failed ") && !strings.HasPrefix(rest, "Failed with result") &&
				!strings.HasPrefix(rest, "Failed to start ") {
				systemdSaid = rest
			}
		}
	}
	if logged != "" {
		return logged
	}
	return systemdSaid
}

// describe is `service status` on systemd: running only when serve said it
// is ready; a service that restarts after each failure, or gave up, says
// so and why.
func (s *systemd) describe(ctx context.Context) (string, error) {
	u, err := s.show(ctx)
	if err != nil {
		return "", err
	}
	switch {
	case u.Load == "not-found" && u.Active == "active":
		return fmt.Sprintf("not installed, but its process still runs (pid %d), as an uninstall of an earlier version left it: "+
			"stop it with systemctl stop %s", u.MainPID, unitName), nil
	case u.Load == "not-found":
		return "", ErrNotInstalled
	case u.Active == "active":
		line := fmt.Sprintf("running (pid %d)", u.MainPID)
		if u.StatusText != "" {
			line += ": " + u.StatusText
		}
		return line, nil
	case u.restarting(), u.Active == "failed":
		state := "failed"
		if u.restarting() {
			state = fmt.Sprintf("restarting after a failure (%d restarts so far)", u.Restarts)
		}
		why := u.ended(s.exe)
		if line := s.reason(ctx, u, time.Time{}, 1); line != "" { // a failure past: its lines are there
			why += ": " + line
		}
		return fmt.Sprintf("%s: %s; its log: journalctl -u %s", state, why, Name), nil
	case u.Active == "activating":
		return fmt.Sprintf("starting (pid %d)", u.MainPID), nil
	case u.Active == "deactivating":
		return "stopping", nil
	}
	return "stopped", nil
}

// up says whether the unit's process runs, starts, or waits to restart:
// what a stop is needed for before the unit is removed.
func (s *systemd) up(ctx context.Context) bool {
	u, err := s.show(ctx)
	return err == nil && u.Active != "" && u.Active != "inactive" && u.Active != "failed"
}

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ).
const clockTick = time.Second / 100

// cpuTime returns the user plus system CPU time that process pid (0 for this
// process) has used so far, all threads included.
func cpuTime(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields count from
	// the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// memory is a process's resident set, in KiB.
type memory struct {
	RSS  int64 // VmRSS: resident now
	Peak int64 // VmHWM: highest resident so far
}

func memoryOf(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		default:
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("pid %d: %s: %v", pid, key, err)
		}
		*dst = n
	}
	return m, sc.Err()
}

// machineBusy returns the CPU time all CPUs have spent on anything but
// idling and waiting for I/O, from the first line of /proc/stat.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected format")
	}
	var busy int64
	for i, s := range f[1:] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %v", err)
		}
		// Columns: user nice system idle iowait irq softirq steal guest
		// guest_nice; guest time is already part of user and nice.
		switch i {
		case 3, 4, 8, 9:
		default:
			busy += n
		}
	}
	return time.Duration(busy) * clockTick, nil
}

// allowedCPUs returns the Cpus_allowed_list of process pid (0 for this
// process), such as "0-1" or "1".
func allowedCPUs(pid int) (string, error) {
	path := "/proc/self/status"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && k == "Cpus_allowed_list" {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s: no Cpus_allowed_list", path)
}

// ioCounts are a process's I/O system call counters from /proc/PID/io.
type ioCounts struct {
	Reads, Writes int64 // syscr, syscw: read and write system calls, all threads
	WriteBytes    int64 // wchar: bytes handed to write system calls
}

// ioOf returns the I/O counters of process pid (0 for this process).
func ioOf(pid int) (ioCounts, error) {
	path := "/proc/self/io"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/io", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ioCounts{}, err
	}
	var c ioCounts
	var seen int
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "syscr":
			dst = &c.Reads
		case "syscw":
			dst = &c.Writes
		case "wchar":
			dst = &c.WriteBytes
		default:
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return ioCounts{}, fmt.Errorf("%s: %s: %v", path, k, err)
		}
		*dst = n
		seen++
	}
	if seen != 3 {
		return ioCounts{}, fmt.Errorf("%s: unexpected format", path)
	}
	return c, nil
}

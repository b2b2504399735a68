/**
The one help text: `klptop --help` prints it and the README carries it verbatim (a test checks).
*/
export const helpText = `
  Usage
    $ klptop [options]                      live dashboard (non-TTY stdout: one --once snapshot)
    $ klptop --once [--json]                print one snapshot and exit
    $ klptop -b [-n N] [-d SECONDS] [--json]  frames like top -b (NDJSON with --json)
    $ klptop wait [PATCH] [--timeout SECONDS] [--reverse-on-timeout]
                                            block until no transition runs (exit 0 done, 1 timed out, 2 error)
    $ klptop export --textfile PATH [-d SECONDS] | --listen [ADDR:]PORT
                                            Prometheus metrics: textfile collector, or /metrics (127.0.0.1)
    $ klptop capture [-o FILE.tar.gz]       save a bug-report archive; replay it with --root FILE.tar.gz
    $ klptop record -o FILE [-d SECONDS] [--max-size MB]
                                            record transitions in the background (no terminal needed)
    $ klptop --replay FILE [--at TIME]      the dashboard on a recording (also --once, --json, -b)
    $ klptop report FILE [--json] [--svg OUT.svg]
                                            post-mortem of every transition in a recording
    $ klptop emulate --list                 list the emulator's scenarios
    $ klptop emulate <scenario> --root DIR  keep a live emulated tree in DIR for any reader
    $ klptop nudge TID...                   SIGSTOP, then SIGCONT, a stuck thread's process (guarded)
    $ klptop reverse [PATCH]                reverse the running transition (write the opposite to enabled)
    $ klptop force PATCH --confirm PATCH    force the transition: breaks the consistency guarantee
    $ klptop disable PATCH                  start unpatching an applied patch
    $ klptop enable PATCH                   re-enable a disabled patch (kernels before 5.1 only)
    $ klptop fleet HOST... | --hosts FILE   one live view of many hosts, over your own ssh
    $ klptop fleet --once [--json] ...      one picture of the fleet, then exit
    $ klptop fleet wait [PATCH] --hosts FILE [--timeout SECONDS]
                                            block until no host is in transition (exit 0 done,
                                            1 timed out, 2 some hosts unreachable or failed)

  Sources (default: this host, /sys/kernel/livepatch and /proc)
    --root DIR|FILE       read DIR/sys/kernel/livepatch and DIR/proc (an emulated tree, a capture
                          directory or a capture archive .tar.gz)
    --emulate SCENARIO    the built-in emulated kernel, e.g. stuck-interruptible (see emulate --list)
    --kernel GEN          emulated kernel generation: 4.12 4.16 5.1 6.1 6.11 6.14 6.16 (default 6.1)
    --threads N           threads of the 'many' scenario (default 10000, at most 100000)
    --seed N              emulator seed (default 1)
    --at SECONDS          with --once --emulate: state after this much virtual time (default 5)
    --replay FILE         a recording (klptop record) instead of a live source
    --at TIME             with --replay: where to start: +90s from the start, an ISO time or 03:00
                          (default: the first transition)

  Options
    --once                print one snapshot (patches, transition, blockers and why) and exit
    --json                with --once: one JSON document (schema_version 1)
    -d, --delay SECONDS   refresh interval (default 1); with -b --replay: recorded seconds per frame
    --pid PID[,PID...]    only these processes
    --tid TID[,TID...]    only these threads
    --readonly            never act (no signal, no sysfs write)
    --confirm PATCH       with force: the patch name, typed again
    -b, --batch           frames to stdout like top -b; with --emulate the delay is virtual time
    -n, --iterations N    with -b: N frames, then exit (default: until interrupted); with record: N polls
    --timeout SECONDS     with wait: give up after SECONDS (exit 1); 0 checks once
    --reverse-on-timeout  with wait: on timeout reverse the transition and wait for the reversal
    --textfile PATH       with export: write PATH atomically (node_exporter textfile collector); -d repeats
    --listen [ADDR:]PORT  with export: serve /metrics; default address 127.0.0.1, others as explicit IPs
    -o, --output FILE     with capture: archive name (default klptop-capture-<UTC time>.tar.gz);
                          with record: the recording (rotated to FILE.1 ... FILE.3)
    --max-size MB         with record: rotate FILE at this size (default 64)
    --svg FILE            with report: also write the timeline chart as a self-contained SVG

  Fleet (the system's ssh: your ssh_config, keys and agent; nothing installed or left behind)
    --hosts FILE          one host or ssh alias per line (# comments), or an Ansible INI
                          inventory (groups, ansible_host/port/user); - reads stdin
    -j, --jobs N          connections set up at once (default 32)
    --ssh-option OPT      given to ssh as -o OPT, e.g. --ssh-option ProxyJump=bastion (repeatable)
    --ssh-config FILE     ssh -F FILE instead of ~/.ssh/config
    --remote-cmd CMD      how the hosts run klptop (default klptop)
    --sudo                run it with sudo -n (never a password prompt)
    --push                where klptop is missing, copy it for this run (bundle where the host
                          has node >= 20, else the executable) and remove it afterwards
    --allow-actions       let the fleet view nudge, reverse or force, one host at a time
    --no-color            no colours (NO_COLOR is honoured too)
    --ascii               no Unicode line drawing
    -h, --help            this text
    -v, --version         version

  Examples
    $ klptop --emulate stuck-interruptible
    $ sudo klptop
    $ klptop --once --json --emulate stuck-killable --at 20
    $ sudo klptop record -o /var/log/klptop/transitions.rec
    $ klptop --replay /var/log/klptop/transitions.rec --at 03:00
    $ klptop fleet --hosts inventory.ini --sudo
`;

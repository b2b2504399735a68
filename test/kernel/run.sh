#!/usr/bin/env bash
# Real-kernel tier: boots two generations of Debian's cloud kernel for bookworm under QEMU (6.1, the
# release's own, and the newest 6.12), loads our livepatch modules built against each kernel's headers,
# and checks klptop's own output against real transitions (issues 5 and 14). Root on Debian/Ubuntu.
#
#   test/kernel/run.sh                     everything (apt, modules, initramfs, boots, checks)
#   test/kernel/run.sh --update-fixtures   also rewrite test/fixtures/kernel/<series>/*.json from this run
#   test/kernel/run.sh --verdict-only [--update-fixtures]   only re-read the last run's results
#   KLP_KERNELS="6.1 6.12"                 which kernel series (default both); a failed run writes the
#                                          series that failed to build/failed-kernels (CI retries those)
#   KLP_PARALLEL=0|1                       boot the kernels one after the other (default) or together
#   KLP_BACKPORTS=1                        take 6.12 from bookworm-backports even when bookworm has it
#   KLP_ACCEL=tcg|kvm                      tcg (default, what CI uses); kvm where nested KVM works
#   KLP_QEMU=backports|system              bookworm-backports' QEMU, extracted under build/qemu (default), or the
#                                          installed one (bookworm's 7.2 oopses 6.12 under multi-threaded TCG)
#   KLP_SMP=2                              guest vCPUs
#   KLP_GUEST_NICE=-19                     the guest's own session (autogroup) niceness
#   KLP_SCENARIOS=quick,force              only these scenarios (default: all the kernel supports)
#   KLP_NO_APT=1                           skip apt (iterations; the ABIs of the last run are reused)
#   KLP_TIMEOUT=900                        QEMU wall-clock limit per kernel, seconds
#   KLP_ALLOW_NO_KLPTOP=1                  run the rig even when klptop does not build (its own reader only)
#
# Output: greppable lines `KLPT [<series>] <phase> ...` on stdout; artefacts under test/kernel/build/.
# Exit 0 only when every kernel's guest ran every scenario and every check passed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build="$here/build"
update_fixtures=0
verdict_only=0
for arg in "$@"; do
	case "$arg" in
	--update-fixtures) update_fixtures=1 ;;
	--verdict-only) verdict_only=1 ;;
	-h | --help)
		sed -n '2,24p' "$0"
		exit 0
		;;
	*)
		echo "unknown argument: $arg" >&2
		exit 2
		;;
	esac
done

accel=${KLP_ACCEL:-tcg}
flavour=${KLP_FLAVOUR:-cloud-amd64}
timeout_s=${KLP_TIMEOUT:-900}
read -r -a kernels <<<"${KLP_KERNELS:-6.1 6.12}"
parallel=${KLP_PARALLEL:-0}
mkdir -p "$build"
rm -f "$build/failed-kernels" # written once the verdicts are in: a run that dies earlier names none

now() { date +%s.%N; }
t_start=$(now)
declare -A took
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
phase() { # phase NAME START
	took[$1]=$(since "$2")
	echo "KLPT phase $1 ${took[$1]}s"
}
die() {
	echo "KLPT FAIL $*" >&2
	exit 1
}
for series in "${kernels[@]}"; do
	[[ $series =~ ^[0-9]+\.[0-9]+$ ]] || die "KLP_KERNELS: '$series' is not a kernel series like 6.1"
done

verdict() { # verdict SERIES ABI: the host-side checks of one kernel's run
	local args=(--results "$build/out/$1/results.jsonl" --out "$build/out/$1" --abi "$2" --accel "$accel"
		--series "$1")
	((update_fixtures)) && args+=(--update-fixtures "$repo/test/fixtures/kernel/$1")
	node "$here/verdict.mjs" "${args[@]}" | sed -u "s/^KLPT /KLPT [$1] /"
	return "${PIPESTATUS[0]}"
}

if ((verdict_only)); then
	rc=0
	for series in "${kernels[@]}"; do
		verdict "$series" "$(cat "$build/abi-$series" 2>/dev/null)" || rc=1
	done
	exit $rc
fi
[[ $(id -u) == 0 ]] || die "needs root (apt-get, module build); run as root on Debian/Ubuntu"

# --- 1. Host packages and the kernels' ABIs ---------------------------------------------------
# Each series is resolved from a metapackage, so Debian's ABI bumps are followed without a change here:
# 6.1 from bookworm's own linux-image-<flavour>; 6.12 from bookworm's linux-image-6.12-<flavour> (Debian
# ships linux-6.12 for bookworm in bookworm-security), else from bookworm-backports' linux-image-<flavour>.
# Backports is only ever enabled for that look-up and the downloads: a sources file and a pin at priority
# 1 (never installed or upgraded from) that this script writes and removes.
bp_sources=/etc/apt/sources.list.d/klptop-kernel-tier-backports.sources
bp_pin=/etc/apt/preferences.d/klptop-kernel-tier-backports
backports=0
backports_off() {
	if ((backports)); then
		rm -f "$bp_sources" "$bp_pin"
		backports=0
		echo "KLPT apt bookworm-backports disabled again"
	fi
}
trap backports_off EXIT
backports_on() {
	((backports)) && return 0
	local codename
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[[ -n $codename ]] || die "no VERSION_CODENAME in /etc/os-release: cannot name the backports suite"
	backports=1
	printf 'Types: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\nSigned-By: %s\n' \
		"${KLP_DEBIAN_MIRROR:-http://deb.debian.org/debian}" "$codename" \
		/usr/share/keyrings/debian-archive-keyring.gpg >"$bp_sources"
	printf 'Package: *\nPin: release n=%s-backports\nPin-Priority: 1\n' "$codename" >"$bp_pin"
	echo "KLPT apt bookworm-backports enabled (pinned at 1) for the 6.12 kernel"
	apt-get update -qq
}
meta_abi() { # meta_abi PACKAGE[/SUITE]: the ABI a linux-image metapackage depends on
	apt-cache depends "$1" 2>/dev/null | sed -n 's/^ *Depends: linux-image-\(.*\)$/\1/p' |
		grep -v -- '-unsigned$' | head -1
}
resolve_abi() { # resolve_abi SERIES: sets abi_of[SERIES] (not in a subshell: it may enable backports)
	local abi=""
	if [[ $1 == 6.12 && ${KLP_BACKPORTS:-0} != 1 ]]; then
		abi=$(meta_abi "linux-image-6.12-$flavour")
	elif [[ $1 != 6.12 ]]; then
		abi=$(meta_abi "linux-image-$flavour")
		[[ $abi == "$1".* ]] || abi=$(meta_abi "linux-image-$1-$flavour")
	fi
	if [[ -z $abi && $1 == 6.12 ]]; then
		backports_on
		abi=$(meta_abi "linux-image-$flavour/$(. /etc/os-release && echo "$VERSION_CODENAME")-backports")
	fi
	[[ $abi == "$1".* ]] || die "cannot resolve a $1 kernel ABI (apt-cache depends on its metapackage gave '$abi')"
	abi_of[$1]=$abi
}

t=$(now)
export DEBIAN_FRONTEND=noninteractive
declare -A abi_of
if [[ ${KLP_NO_APT:-0} != 1 ]]; then
	apt-get update -qq
	# pahole: 6.12's headers carry a vmlinux with BTF, and kbuild then generates the modules' BTF.
	want=(qemu-system-x86 busybox-static gcc-12 make binutils libc6-dev libelf1 pahole)
	missing=()
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if ((${#missing[@]})); then
		echo "KLPT apt install ${missing[*]}"
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$build/apt.log" 2>&1 ||
			{
				tail -20 "$build/apt.log"
				die "apt-get install failed"
			}
	fi
	for series in "${kernels[@]}"; do
		resolve_abi "$series"
		echo "${abi_of[$series]}" >"$build/abi-$series"
	done
else
	for series in "${kernels[@]}"; do
		abi_of[$series]=$(cat "$build/abi-$series" 2>/dev/null) ||
			die "KLP_NO_APT=1 but no cached ABI in $build/abi-$series"
	done
fi
for series in "${kernels[@]}"; do echo "KLPT [$series] abi ${abi_of[$series]}"; done
phase apt "$t"

# --- 2. Kernel image and headers: downloaded and extracted, never installed -------------------------
# Installing them would pull initramfs-tools and udev onto the host (the image), and 6.12's headers
# depend on the image. Extracted under build/kernel/<abi>/root instead: the image's /boot, the headers,
# their -common part and linux-kbuild (prebuilt objtool, modpost); the headers' Makefile is pointed at
# the extracted -common tree.
fetch_kernel() { # fetch_kernel ABI
	local abi=$1 kroot="$build/kernel/$1/root" hdr debs pkgs
	hdr="$kroot/usr/src/linux-headers-$abi"
	if [[ -f $kroot/boot/vmlinuz-$abi && -f $hdr/Makefile.klpt ]]; then return 0; fi
	rm -rf "$build/kernel/$abi" && mkdir -p "$kroot"
	debs="$build/debs/$abi" && rm -rf "$debs" && mkdir -p "$debs"
	mapfile -t pkgs < <(apt-cache depends "linux-headers-$abi" |
		sed -n 's/^ *Depends: \(linux-headers-.*-common\|linux-kbuild-.*\)$/\1/p' | sort -u)
	(cd "$debs" && apt-get download -o APT::Sandbox::User=root "linux-image-$abi" "linux-headers-$abi" \
		"${pkgs[@]}" >/dev/null) || die "apt-get download of the $abi image and headers failed"
	for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$kroot"; done
	sed -i "s|^include /usr/src/|include $kroot/usr/src/|" "$hdr/Makefile"
	grep -q "^include $kroot/" "$hdr/Makefile" || die "unexpected headers Makefile in $hdr"
	cp "$hdr/Makefile" "$hdr/Makefile.klpt"
	rm -rf "$debs"
}
t=$(now)
for series in "${kernels[@]}"; do
	abi=${abi_of[$series]}
	fetch_kernel "$abi"
	grep -q '^CONFIG_LIVEPATCH=y' "$build/kernel/$abi/root/boot/config-$abi" || die "kernel $abi has no CONFIG_LIVEPATCH"
	# Older ABIs of the same series are of no further use.
	find "$build/kernel" -mindepth 1 -maxdepth 1 -name "$series.*" ! -name "$abi" -exec rm -rf {} +
done
rm -rf "$build/debs"
phase kernel "$t"

# --- 2b. QEMU: bookworm-backports' 10.0, downloaded and extracted, never installed ---------------------
# bookworm's QEMU 7.2 oopsed Debian's 6.12 guest under multi-threaded TCG (an int3 left behind while the
# kernel rewrote its preemption static calls with text_poke_bp). The newer QEMU runs from
# build/qemu/<version>/root with its firmware (-L) and bookworm's libraries (those of bookworm's own
# qemu-system-x86, installed above, are the same set); the host's QEMU is left as it is.
# KLP_QEMU=system uses the installed one instead.
qemu=qemu-system-x86_64
qemu_fw=()
if [[ ${KLP_QEMU:-backports} == backports ]]; then
	t=$(now)
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	if [[ ${KLP_NO_APT:-0} != 1 ]]; then
		backports_on
		qemu_ver=$(apt-cache madison qemu-system-x86 | awk -F' *[|] *' -v s=" $codename-backports/" 'index($3, s) {print $2; exit}')
		[[ -n $qemu_ver ]] || die "no qemu-system-x86 in $codename-backports"
		echo "$qemu_ver" >"$build/qemu-version"
	fi
	qemu_ver=$(cat "$build/qemu-version" 2>/dev/null) || die "KLP_NO_APT=1 but no cached QEMU version in $build/qemu-version"
	qroot="$build/qemu/${qemu_ver//[:~+]/_}/root"
	if [[ ! -x $qroot/usr/bin/qemu-system-x86_64 ]]; then
		[[ ${KLP_NO_APT:-0} != 1 ]] || die "KLP_NO_APT=1 but QEMU $qemu_ver is not extracted in $qroot"
		rm -rf "$build/qemu" && mkdir -p "$qroot" "$build/debs/qemu"
		(cd "$build/debs/qemu" && apt-get download -o APT::Sandbox::User=root \
			{qemu-system-x86,qemu-system-common,qemu-system-data,seabios}/"$codename-backports" >/dev/null) ||
			die "apt-get download of QEMU $qemu_ver from $codename-backports failed"
		for deb in "$build/debs/qemu"/*.deb; do dpkg-deb -x "$deb" "$qroot"; done
		rm -rf "$build/debs"
	fi
	qemu="$qroot/usr/bin/qemu-system-x86_64"
	if ldd "$qemu" | grep 'not found'; then die "QEMU $qemu_ver lacks libraries (above)"; fi
	qemu_fw=(-L "$qroot/usr/share/qemu" -L "$qroot/usr/share/seabios")
	phase qemu "$t"
fi
backports_off
echo "KLPT qemu $("$qemu" --version | head -1)"

# --- 3. Modules, against each kernel's headers ----------------------------------------------------
t=$(now)
for series in "${kernels[@]}"; do
	abi=${abi_of[$series]}
	mdir="$build/modules/$abi"
	rm -rf "$mdir" && mkdir -p "$mdir"
	cp "$here"/modules/*.c "$here"/modules/*.h "$here"/modules/Kbuild "$mdir/"
	log="$build/modules-$series.log"
	make -s -j"$(nproc)" -C "$build/kernel/$abi/root/usr/src/linux-headers-$abi" M="$mdir" modules >"$log" 2>&1 ||
		{
			cat "$log"
			die "[$series] module build failed"
		}
	if grep -v 'Skipping BTF generation' "$log" | grep -qi 'warning'; then
		cat "$log"
		die "[$series] module build printed warnings"
	fi
	for f in klp_sleeper_wait klp_sleeper_wait_killable klp_sleeper_kthread_wait; do
		nm "$mdir/klp_sleeper.ko" | grep -q " T $f\$" || die "[$series] klp_sleeper.ko: $f is not a global text symbol"
	done
	nm "$mdir/klp_late.ko" | grep -q " T klp_late_show\$" || die "[$series] klp_late.ko: klp_late_show is not global"
	if nm "$mdir"/*.ko | grep -E '\.(isra|constprop|part)\.'; then die "[$series] compiler clones in the modules"; fi
	for ko in "$mdir"/*.ko; do strip --strip-debug "$ko"; done
	# Older ABIs' modules of the same series are of no further use.
	find "$build/modules" -mindepth 1 -maxdepth 1 -name "$series.*" ! -name "$abi" -exec rm -rf {} +
done
phase modules "$t"

# --- 4. klptop build ----------------------------------------------------------------------------
t=$(now)
klptop_state=absent
if [[ -f $repo/cli.tsx ]]; then
	if (cd "$repo" && npm run -s build >"$build/npm-build.log" 2>&1); then
		[[ -f $repo/dist/cli.js ]] && klptop_state=built
	else
		tail -20 "$build/npm-build.log"
		klptop_state=build-failed
	fi
fi
echo "KLPT klptop $klptop_state"
# Without klptop the guest still runs every scenario on its own reader (rig development only).
[[ $klptop_state == built || ${KLP_ALLOW_NO_KLPTOP:-0} == 1 ]] ||
	die "klptop is $klptop_state (npm run build; see $build/npm-build.log); KLP_ALLOW_NO_KLPTOP=1 runs the rig without it"
phase klptop "$t"

# --- 5. Initramfs: one shared archive, plus each kernel's modules appended ------------------------------
# The kernel unpacks concatenated newc archives in order, so the large part (busybox, node, klptop) is
# packed once and each kernel's rig-<series>.cpio is that archive followed by a small one with its modules.
t=$(now)
root="$build/initramfs"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib,lib64,proc,sys,dev,tmp,run,root,etc,modules,rig}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list-full); do
	[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
done
# Node: a stripped copy (cached) plus every library ldd lists, at the same paths.
node_bin=$(readlink -f "$(command -v node)")
node_cache="$build/node-stripped"
if [[ ! -f $node_cache || $node_bin -nt $node_cache ]]; then
	cp "$node_bin" "$node_cache.tmp" && strip "$node_cache.tmp" && mv "$node_cache.tmp" "$node_cache"
fi
cp "$node_cache" "$root/usr/local/bin/node"
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
# The thread helper: a static C program with a known number of threads (enumeration check).
gcc -O2 -static -pthread -o "$root/rig/threads" "$here/guest/threads.c"
cp "$here/guest/init" "$root/init"
chmod +x "$root/init"
cp "$here"/guest/*.mjs "$repo/test/emulator-calibration/normalise.mjs" "$root/rig/"
if [[ $klptop_state == built ]]; then
	mkdir -p "$root/klptop"
	cp -r "$repo/dist" "$repo/package.json" "$root/klptop/"
	# Production dependencies only (npm's own list); nested node_modules come along with their parent.
	(cd "$repo" && npm ls --omit=dev --parseable --all 2>/dev/null | tail -n +2) |
		sed "s|^$repo/||" | grep -E '^node_modules/(@[^/]+/)?[^/]+$' | while read -r dep; do
		mkdir -p "$root/klptop/$(dirname "$dep")"
		cp -r "$repo/$dep" "$root/klptop/$dep"
	done
fi
(cd "$root" && find . | "$root/bin/busybox" cpio -o -H newc 2>/dev/null) >"$build/rig-base.cpio"
for series in "${kernels[@]}"; do
	mroot="$build/initramfs-$series"
	rm -rf "$mroot" && mkdir -p "$mroot/modules"
	cp "$build/modules/${abi_of[$series]}"/*.ko "$mroot/modules/"
	{
		cat "$build/rig-base.cpio"
		(cd "$mroot" && find . | "$root/bin/busybox" cpio -o -H newc 2>/dev/null)
	} >"$build/rig-$series.cpio"
done
echo "KLPT initramfs $(du -m "$build/rig-base.cpio" | cut -f1) MB, klptop=$klptop_state"
phase initramfs "$t"

# --- 6. Boots ---------------------------------------------------------------------------------------
case "$accel" in
kvm | tcg) ;;
*) die "KLP_ACCEL must be tcg or kvm" ;;
esac
cpu=max
clock=""
accel_opts=$accel
if [[ $accel == kvm ]]; then
	cpu=host
else
	# One host thread per vCPU (KLP_TCG_THREAD=single: one for both). Under it 6.12 oopsed in 3 of 4 runs
	# here on a stale int3 while rewriting the preemption static calls (text_poke_bp); single did not oops
	# in 500 s but was too slow (force-no-transition 74 s against 23-37 s, the 15 s round 21 s late).
	tcg_thread=${KLP_TCG_THREAD:-multi}
	[[ $tcg_thread == single || $tcg_thread == multi ]] || die "KLP_TCG_THREAD must be single or multi"
	accel_opts="tcg,thread=$tcg_thread"
	# Under TCG the guest's TSC is the host's: tell the kernel its rate rather than let it calibrate against
	# the emulated PIT, which a busy host gets wrong (6.12 once took 112 MHz for 2.1 GHz and its clock ran
	# many times too fast), and trust it (it is the host's constant TSC), so that dmesg, uptime and the
	# kernel's 1 s and 15 s livepatch clocks are real seconds.
	gcc -O2 -o "$build/tsc-khz" "$here/tsc-khz.c"
	clock="tsc_early_khz=$("$build/tsc-khz") tsc=reliable"
fi
smp=${KLP_SMP:-2}
guest_nice=${KLP_GUEST_NICE:--19}
boot() { # boot SERIES: one kernel's whole guest run; writes build/out/<series>/{console.log,results.jsonl,rc}
	local series=$1 abi=${abi_of[$1]} out="$build/out/$1" t0 rc append load1
	t0=$(now)
	rm -rf "$out" && mkdir -p "$out"
	append="console=ttyS0 panic=-1 quiet $clock klpt.scenarios=${KLP_SCENARIOS:-all} klpt.klptop=$klptop_state"
	echo "KLPT [$series] boot accel=$accel_opts smp=$smp kernel=$abi qemu=$("$qemu" --version | sed -n "1s/.*version \([^ ]*\).*/\1/p")"
	read -r load1 _ </proc/loadavg
	if awk -v l="$load1" -v n="$(nproc)" 'BEGIN{exit !(l > n)}'; then
		echo "KLPT [$series] note host load average $load1 on $(nproc) cores: the guest runs slower than the kernel's 1 s/15 s clocks assume; timing checks may fail"
	fi
	set +e
	# The guest in a session of its own (setsid), whose scheduling group gets nice $guest_nice: with
	# autogroup scheduling (most desktop and many server kernels) a plain `nice` of other sessions' work does
	# not yield to it, and a busy host made a 6.12 `klptop nudge` take 12 s, past the kernel's 15 s round.
	setsid --wait sh -c 'echo "$0" >/proc/self/autogroup 2>/dev/null; exec nice -n "$0" "$@"' "$guest_nice" \
		timeout "$timeout_s" "$qemu" "${qemu_fw[@]}" -accel "$accel_opts" -cpu "$cpu" -m 1G -smp "$smp" \
		-nographic -no-reboot -nodefaults \
		-chardev stdio,id=con,signal=off -serial chardev:con \
		-serial "file:$out/results.jsonl" \
		-kernel "$build/kernel/$abi/root/boot/vmlinuz-$abi" -initrd "$build/rig-$series.cpio" \
		-append "$append" </dev/null |
		while IFS= read -r line; do
			line=${line%$'\r'}
			printf '%s %s\n' "$(date +%T.%3N)" "$line" >>"$out/console.log"
			case "$line" in *KLPT*) echo "KLPT [$series]${line#*KLPT}" ;; esac
		done
	rc=${PIPESTATUS[0]}
	set -e
	echo "$rc" >"$out/rc"
	echo "KLPT [$series] phase boot $(since "$t0")s"
	[[ $rc == 0 ]] || echo "KLPT [$series] qemu exited rc=$rc (124 = timeout after ${timeout_s}s); console: $out/console.log"
	return 0
}
t=$(now)
if [[ $parallel == 1 ]]; then
	for series in "${kernels[@]}"; do boot "$series" & done
	wait
else
	for series in "${kernels[@]}"; do boot "$series"; done
fi
phase boots "$t"

# --- 7. Verdicts, per kernel --------------------------------------------------------------------------
t=$(now)
failed=()
for series in "${kernels[@]}"; do
	qemu_rc=$(cat "$build/out/$series/rc" 2>/dev/null || echo '?')
	if verdict "$series" "${abi_of[$series]}" && [[ $qemu_rc == 0 ]]; then
		echo "KLPT [$series] RESULT PASS"
	else
		echo "KLPT [$series] RESULT FAIL (qemu rc=$qemu_rc)"
		failed+=("$series")
	fi
done
phase verdict "$t"
echo "${failed[*]}" >"$build/failed-kernels"
total=$(since "$t_start")
echo "KLPT timings apt=${took[apt]}s kernel=${took[kernel]}s qemu=${took[qemu]:-0}s modules=${took[modules]}s klptop=${took[klptop]}s initramfs=${took[initramfs]}s boots=${took[boots]}s (parallel=$parallel) total=${total}s"
if ((${#failed[@]})); then
	echo "KLPT RESULT FAIL (${failed[*]})"
	exit 1
fi
echo "KLPT RESULT PASS"

#!/usr/bin/env bash
# Real-kernel tier: boots Debian's current cloud kernel under QEMU, loads our livepatch modules and
# checks klptop's own output against real transitions (issue 5). Root on Debian/Ubuntu.
#
#   test/kernel/run.sh                     everything (apt, modules, initramfs, boot, checks)
#   test/kernel/run.sh --update-fixtures   also rewrite test/fixtures/kernel/*.json from this run
#   test/kernel/run.sh --verdict-only [--update-fixtures]   only re-read the last run's results
#   KLP_ACCEL=tcg|kvm                      tcg (default, what CI uses: the same on every runner);
#                                          kvm for local runs where KVM works (nested KVM here hangs)
#   KLP_SCENARIOS=quick,force              run only these scenarios (default: all, in order)
#   KLP_NO_APT=1                           skip apt (offline iterations; the ABI then comes from the cache)
#   KLP_TIMEOUT=400                        QEMU wall-clock limit in seconds
#   KLP_ALLOW_NO_KLPTOP=1                  run the rig even when klptop does not build (its own reader only)
#
# Output: greppable lines `KLPT <phase> ...` on stdout; artefacts under test/kernel/build/.
# Exit 0 only when the guest ran every scenario and every check passed.
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
		sed -n '2,16p' "$0"
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
timeout_s=${KLP_TIMEOUT:-400}
mkdir -p "$build"

now() { date +%s.%N; }
t_start=$(now)
declare -A took
phase() { # phase NAME START
	local d
	d=$(awk -v a="$2" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
	took[$1]=$d
	echo "KLPT phase $1 ${d}s"
}
die() {
	echo "KLPT FAIL $*" >&2
	exit 1
}

if ((verdict_only)); then
	args=(--results "$build/out/results.jsonl" --out "$build/out" --abi "$(cat "$build/abi" 2>/dev/null)" --accel "$accel")
	((update_fixtures)) && args+=(--update-fixtures "$repo/test/fixtures/kernel")
	exec node "$here/verdict.mjs" "${args[@]}"
fi
[[ $(id -u) == 0 ]] || die "needs root (apt-get, module build); run as root on Debian/Ubuntu"

# --- 1. Host packages and the kernel ABI ------------------------------------------------------
t=$(now)
export DEBIAN_FRONTEND=noninteractive
if [[ ${KLP_NO_APT:-0} != 1 ]]; then
	apt-get update -qq
	abi=$(apt-cache depends "linux-image-$flavour" | sed -n 's/^ *Depends: linux-image-\(.*\)$/\1/p' | head -1)
	[[ -n $abi ]] || die "cannot resolve the kernel ABI from linux-image-$flavour (apt-cache depends)"
	want=(qemu-system-x86 busybox-static gcc-12 make binutils libc6-dev "linux-headers-$abi")
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
	echo "$abi" >"$build/abi"
else
	abi=$(cat "$build/abi" 2>/dev/null) || die "KLP_NO_APT=1 but no cached ABI in $build/abi"
fi
echo "KLPT abi $abi"
phase apt "$t"

# --- 2. Kernel image: downloaded and extracted, never installed ------------------------------
t=$(now)
kdir="$build/kernel/$abi"
vmlinuz="$kdir/boot/vmlinuz-$abi"
if [[ ! -f $vmlinuz ]]; then
	mkdir -p "$build/debs" "$kdir"
	(cd "$build/debs" && apt-get download -o APT::Sandbox::User=root "linux-image-$abi" >/dev/null) ||
		die "apt-get download linux-image-$abi failed"
	deb=$(ls "$build/debs"/linux-image-"${abi}"_*.deb | head -1)
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir" ./boot
	# Older ABIs' packages are no longer useful: keep the cache to the current one.
	find "$build/debs" -name 'linux-image-*.deb' ! -name "linux-image-${abi}_*" -delete
	find "$build/kernel" -mindepth 1 -maxdepth 1 ! -name "$abi" -exec rm -rf {} +
fi
grep -q '^CONFIG_LIVEPATCH=y' "$kdir/boot/config-$abi" || die "kernel $abi has no CONFIG_LIVEPATCH"
phase kernel "$t"

# --- 3. Modules ---------------------------------------------------------------------------------
t=$(now)
mdir="$build/modules/$abi"
rm -rf "$mdir" && mkdir -p "$mdir"
cp "$here"/modules/*.c "$here"/modules/*.h "$here"/modules/Kbuild "$mdir/"
make -s -C "/lib/modules/$abi/build" M="$mdir" modules >"$build/modules.log" 2>&1 ||
	{
		cat "$build/modules.log"
		die "module build failed"
	}
if grep -v 'Skipping BTF generation' "$build/modules.log" | grep -qi 'warning'; then
	cat "$build/modules.log"
	die "module build printed warnings"
fi
for f in klp_sleeper_wait klp_sleeper_wait_killable klp_sleeper_kthread_wait; do
	nm "$mdir/klp_sleeper.ko" | grep -q " T $f\$" || die "klp_sleeper.ko: $f is not a global text symbol"
done
if nm "$mdir"/*.ko | grep -E '\.(isra|constprop|part)\.'; then die "compiler clones in the modules"; fi
for ko in "$mdir"/*.ko; do strip --strip-debug "$ko"; done
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

# --- 5. Initramfs -------------------------------------------------------------------------------
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
cp "$mdir"/*.ko "$root/modules/"
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
(cd "$root" && find . | "$root/bin/busybox" cpio -o -H newc 2>/dev/null) >"$build/rig.cpio"
echo "KLPT initramfs $(du -m "$build/rig.cpio" | cut -f1) MB, klptop=$klptop_state"
phase initramfs "$t"

# --- 6. Boot ------------------------------------------------------------------------------------
t=$(now)
case "$accel" in
kvm | tcg) ;;
*) die "KLP_ACCEL must be tcg or kvm" ;;
esac
cpu=max
[[ $accel == kvm ]] && cpu=host
out="$build/out"
rm -rf "$out" && mkdir -p "$out"
append="console=ttyS0 panic=-1 quiet klpt.scenarios=${KLP_SCENARIOS:-all} klpt.klptop=$klptop_state"
echo "KLPT boot accel=$accel kernel=$abi"
read -r load1 _ </proc/loadavg
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN{exit !(l > n)}'; then
	echo "KLPT note host load average $load1 on $(nproc) cores: the guest runs slower than the kernel's 1 s/15 s clocks assume; timing checks may fail"
fi
set +e
timeout "$timeout_s" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m 1G -smp 2 \
	-nographic -no-reboot -nodefaults \
	-chardev stdio,id=con,signal=off -serial chardev:con \
	-serial "file:$out/results.jsonl" \
	-kernel "$vmlinuz" -initrd "$build/rig.cpio" -append "$append" </dev/null |
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '%s %s\n' "$(date +%T.%3N)" "$line" >>"$out/console.log"
		case "$line" in *KLPT*) echo "KLPT${line#*KLPT}" ;; esac
	done
qemu_rc=${PIPESTATUS[0]}
set -e
phase boot "$t"
[[ $qemu_rc == 0 ]] || echo "KLPT qemu exited rc=$qemu_rc (124 = timeout after ${timeout_s}s); console: $out/console.log"

# --- 7. Verdict ---------------------------------------------------------------------------------
t=$(now)
args=(--results "$out/results.jsonl" --out "$out" --abi "$abi" --accel "$accel")
((update_fixtures)) && args+=(--update-fixtures "$repo/test/fixtures/kernel")
set +e
node "$here/verdict.mjs" "${args[@]}"
verdict_rc=$?
set -e
phase verdict "$t"
total=$(awk -v a="$t_start" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
echo "KLPT timings apt=${took[apt]}s kernel=${took[kernel]}s modules=${took[modules]}s klptop=${took[klptop]}s initramfs=${took[initramfs]}s boot+scenarios=${took[boot]}s total=${total}s"
if [[ $qemu_rc != 0 || $verdict_rc != 0 ]]; then
	echo "KLPT RESULT FAIL (qemu rc=$qemu_rc, verdict rc=$verdict_rc)"
	exit 1
fi
echo "KLPT RESULT PASS"

# An emulated board's pid 1, run by `crossdock board up` inside the board's own user, network,
# mount, uts and pid namespaces: its network (the veth end LINK, renamed eth0, with ADDRESS), its
# root (the cached rootfs ROOTFS under an overlay whose upper layer is the board's BOARD_DIR), the
# QEMU handler BINFMT (a binfmt_misc registration line; empty for a board of this machine's own
# architecture) in its own binfmt_misc, /proc, /sys, /dev and /run, the model's cpuinfo and device
# tree where BOARD_DIR/identity has them, the hostname BOARD_HOSTNAME, then sshd in the chroot.
set -eu
root="$BOARD_DIR/root"
ip link set lo up
ip link set "$LINK" name eth0
ip addr add "$ADDRESS" dev eth0
ip link set eth0 up
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$BOARD_DIR/upper,workdir=$BOARD_DIR/work" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
if [ -n "$BINFMT" ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  printf '%s\n' "$BINFMT" > /proc/sys/fs/binfmt_misc/register
fi
mount -t tmpfs -o mode=755 tmpfs "$root/dev"
for node in null zero full random urandom tty; do touch "$root/dev/$node"; mount --bind "/dev/$node" "$root/dev/$node"; done
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
ln -sf pts/ptmx "$root/dev/ptmx"
mount -t tmpfs tmpfs "$root/dev/shm"
mount -t tmpfs -o mode=755 tmpfs "$root/run"
mkdir -p "$root/run/sshd"
if [ -f "$BOARD_DIR/identity/cpuinfo" ]; then mount --bind "$BOARD_DIR/identity/cpuinfo" "$root/proc/cpuinfo"; fi
if [ -d "$BOARD_DIR/identity/firmware" ]; then mount --bind "$BOARD_DIR/identity/firmware" "$root/sys/firmware"; fi
hostname "$BOARD_HOSTNAME"
exec chroot "$root" /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config

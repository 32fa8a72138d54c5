# debootstrap's second stage of a foreign rootfs ROOT, inside a user namespace with its own
# binfmt_misc holding the QEMU handler BINFMT. debootstrap skips mknod (refused in a user
# namespace) when it believes it is in LXC.
mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc &&
  printf '%s\n' "$BINFMT" >/proc/sys/fs/binfmt_misc/register &&
  container=lxc exec chroot "$ROOT" /debootstrap/debootstrap --second-stage

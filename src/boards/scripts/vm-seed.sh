#!/bin/sh
# crossdock: this board's own host key, authorized key and hostname, from its seed disk.
set -eu
seed=/dev/disk/by-label/cd-seed
[ -e "$seed" ] || exit 0
mkdir -p /run/crossdock-seed
mount -o ro "$seed" /run/crossdock-seed
install -d -m 700 /root/.ssh
install -m 600 /run/crossdock-seed/authorized_keys /root/.ssh/authorized_keys
install -m 600 /run/crossdock-seed/ssh_host_ed25519_key /etc/ssh/crossdock_host_ed25519_key
install -m 644 /run/crossdock-seed/ssh_host_ed25519_key.pub /etc/ssh/crossdock_host_ed25519_key.pub
install -m 644 /run/crossdock-seed/hostname /etc/hostname
hostname -F /etc/hostname
# As Debian and Raspberry Pi OS have it: without it sudo waits ~20 s on DNS for its own name.
grep -q "[[:space:]]$(hostname)$" /etc/hosts || printf '127.0.1.1\t%s\n' "$(hostname)" >> /etc/hosts
# The board's address on the boards' LAN (its second NIC), for systemd-networkd.
if [ -d /run/crossdock-seed/network ]; then
  mkdir -p /run/systemd/network
  cp /run/crossdock-seed/network/*.network /run/systemd/network/
fi
umount /run/crossdock-seed
